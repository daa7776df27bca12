/**
 * Debian's Chromium driven by playwright-core (its own browser download is
 * not used). Besides running the page's script, each page records what
 * Chromium saw through the DevTools protocol: its console, and every request
 * and response on the wire, preflights included, for a failure's report.
 */
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from "playwright-core";
import { within, type Engine, type EngineOptions, type EnginePage } from "./engine.js";

export const CHROMIUM = "/usr/bin/chromium";
const STEP_MS = 20_000;

export function launchChromium(hosts: string[] = []): Promise<Browser> {
  // Chromium resolves *.localhost to loopback itself; the rule only makes it explicit.
  const rules = hosts.map((host) => `MAP ${host} 127.0.0.1`).join(", ");
  return chromium.launch({
    executablePath: CHROMIUM,
    chromiumSandbox: false,
    args: [
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      // Without these, Chromium keeps trying to reach Google, and is refused.
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      ...(rules ? [`--host-resolver-rules=${rules}`] : []),
    ],
  });
}

export class ChromiumEngine implements Engine {
  readonly name = "chromium";
  private browser: Browser | null = null;

  async start(options: EngineOptions): Promise<void> {
    this.browser = await within(60_000, "launching Chromium", launchChromium(options.hosts));
  }

  async open(url: string): Promise<EnginePage> {
    if (!this.browser) throw new Error("Chromium is not started");
    const context = await this.browser.newContext();
    const page = await context.newPage();
    const tab = new ChromiumPage(context, page);
    await tab.watch(await context.newCDPSession(page));
    await within(STEP_MS, `Chromium opening ${url}`, page.goto(url));
    return tab;
  }

  async stop(): Promise<void> {
    await this.browser?.close();
    this.browser = null;
  }
}

/** One request as Chromium sent it and what came back, from the DevTools protocol. */
interface WireEntry {
  method: string;
  url: string;
  requestHeaders: Record<string, string>;
  status: number | null;
  /** Response headers as received, before CORS filtering. */
  responseHeaders: Record<string, string>;
  /** Why Chromium failed the request (`net::ERR_FAILED`), and the CORS check that failed, if any. */
  failure: string | null;
  corsError: string | null;
}

type NetworkEvent = {
  requestId: string;
  request?: { method: string; url: string; headers: Record<string, string> };
  response?: { status: number; headers: Record<string, string> };
  redirectResponse?: { status: number; headers: Record<string, string> };
  headers?: Record<string, string>;
  statusCode?: number;
  errorText?: string;
  corsErrorStatus?: { corsError: string; failedParameter: string };
};

class ChromiumPage implements EnginePage {
  private readonly console: string[] = [];
  private readonly wire = new Map<string, WireEntry>();

  constructor(
    private readonly context: BrowserContext,
    private readonly page: Page,
  ) {
    page.on("console", (message) => this.console.push(`[${message.type()}] ${message.text()}`));
    page.on("pageerror", (error) => this.console.push(`[pageerror] ${error.message}`));
  }

  run<T>(expression: string): Promise<T> {
    return within(STEP_MS, "Chromium running the page's script", this.page.evaluate(expression) as Promise<T>);
  }

  async report(): Promise<string> {
    const lines = ["console:", ...this.console.map((m) => `  ${m}`), "network (DevTools protocol):"];
    for (const e of this.wire.values()) {
      lines.push(`  ${e.method} ${e.url} -> ${e.status ?? "no response"}${e.failure ? ` ${e.failure}` : ""}${e.corsError ? ` CORS: ${e.corsError}` : ""}`);
      for (const [name, value] of Object.entries(e.requestHeaders)) lines.push(`      > ${name}: ${value}`);
      for (const [name, value] of Object.entries(e.responseHeaders)) lines.push(`      < ${name}: ${value}`);
    }
    return lines.join("\n");
  }

  close(): Promise<void> {
    return this.context.close();
  }

  /** Records every request of the page (and of its in-process frames), preflights included. */
  async watch(session: CDPSession): Promise<void> {
    const entry = (id: string): WireEntry => {
      let e = this.wire.get(id);
      if (!e) {
        e = { method: "", url: "", requestHeaders: {}, status: null, responseHeaders: {}, failure: null, corsError: null };
        this.wire.set(id, e);
      }
      return e;
    };
    // ExtraInfo events carry the headers actually on the wire (Origin, Cookie, Set-Cookie); they may come first.
    session.on("Network.requestWillBeSent", (ev: NetworkEvent) => {
      // A redirect reuses the request id: keep the earlier hop under its own key.
      const earlier = this.wire.get(ev.requestId);
      if (earlier?.url && ev.redirectResponse) {
        earlier.status = ev.redirectResponse.status;
        earlier.responseHeaders = { ...ev.redirectResponse.headers, ...earlier.responseHeaders };
        this.wire.delete(ev.requestId);
        this.wire.set(`${ev.requestId}@${earlier.url}`, earlier);
      }
      const e = entry(ev.requestId);
      Object.assign(e, { method: ev.request!.method, url: ev.request!.url });
      e.requestHeaders = { ...ev.request!.headers, ...e.requestHeaders };
    });
    session.on("Network.requestWillBeSentExtraInfo", (ev: NetworkEvent) => {
      Object.assign(entry(ev.requestId).requestHeaders, ev.headers);
    });
    session.on("Network.responseReceived", (ev: NetworkEvent) => {
      const e = entry(ev.requestId);
      e.status = ev.response!.status;
      e.responseHeaders = { ...ev.response!.headers, ...e.responseHeaders };
    });
    session.on("Network.responseReceivedExtraInfo", (ev: NetworkEvent) => {
      const e = entry(ev.requestId);
      e.status ??= ev.statusCode ?? null;
      Object.assign(e.responseHeaders, ev.headers);
    });
    session.on("Network.loadingFailed", (ev: NetworkEvent) => {
      const e = entry(ev.requestId);
      e.failure = ev.errorText ?? null;
      e.corsError = ev.corsErrorStatus ? `${ev.corsErrorStatus.corsError} ${ev.corsErrorStatus.failedParameter}`.trim() : null;
    });
    await session.send("Network.enable");
  }
}
