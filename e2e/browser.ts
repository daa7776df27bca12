/**
 * Debian's Chromium driven by playwright-core, and a tab that records what the
 * page saw: its console, every request and response on the wire (through the
 * DevTools protocol, preflights included), and what its script could read.
 * A failing test prints all of it.
 */
import { chromium, type Browser, type BrowserContext, type CDPSession, type Frame, type Page } from "playwright-core";
import { onTestFailed } from "vitest";
import type { ProbeInit, ProbeResult } from "./pages.js";

export const CHROMIUM = "/usr/bin/chromium";
const SETTLE_MS = 1000;
/** Hosts the suite uses; Chromium resolves them to this machine. */
export const HOST_RULES = "MAP *.edge.test 127.0.0.1, MAP *.elsewhere.test 127.0.0.1";

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    chromiumSandbox: false,
    args: [
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--host-resolver-rules=${HOST_RULES}`,
    ],
  });
}

/** One request as Chromium sent it and what came back, from the DevTools protocol. */
export interface WireEntry {
  method: string;
  url: string;
  /** The DevTools resource type: `Fetch` for the script's own requests, `Other` or `Preflight` for preflights. */
  type: string;
  requestHeaders: Record<string, string>;
  status: number | null;
  /** Response headers as received, before CORS filtering. */
  responseHeaders: Record<string, string>;
  /** Why Chromium failed the request (`net::ERR_FAILED`), and the CORS check that failed, if any. */
  failure: string | null;
  corsError: string | null;
  /** The header or value that failed it, when Chromium names one. */
  corsParameter: string | null;
  /** Loading finished or failed. */
  done: boolean;
}

type NetworkEvent = {
  requestId: string;
  type?: string;
  request?: { method: string; url: string; headers: Record<string, string> };
  response?: { status: number; headers: Record<string, string> };
  redirectResponse?: { status: number; headers: Record<string, string> };
  headers?: Record<string, string>;
  statusCode?: number;
  errorText?: string;
  corsErrorStatus?: { corsError: string; failedParameter: string };
};

export class Tab {
  readonly console: string[] = [];
  private readonly wire = new Map<string, WireEntry>();
  private readonly probes: string[] = [];

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
  ) {}

  /**
   * A fresh browser context (own cookies, own preflight cache) with one page at `url`.
   * Call it inside a test: on failure the test prints what the tab saw.
   */
  static async open(browser: Browser, url: string): Promise<Tab> {
    const context = await browser.newContext();
    const page = await context.newPage();
    const tab = new Tab(context, page);
    onTestFailed(() => console.error(tab.report()));
    page.on("console", (message) => tab.console.push(`[${message.type()}] ${message.text()}`));
    page.on("pageerror", (error) => tab.console.push(`[pageerror] ${error.message}`));
    await tab.watch(await context.newCDPSession(page));
    await page.goto(url);
    return tab;
  }

  /** The frame named `name`; its network is watched too when it runs in its own process. */
  async frame(name: string): Promise<Frame> {
    const frame = this.page.frame({ name });
    if (!frame) throw new Error(`no frame named ${name} in ${this.page.url()}`);
    await frame.waitForLoadState();
    let session: CDPSession | null = null;
    try {
      session = await this.context.newCDPSession(frame);
    } catch {
      // An in-process frame: the page's session already sees its requests.
    }
    if (session) await this.watch(session);
    return frame;
  }

  /** Runs the page's own script, `probe(url, init)`, in the page or in one of its frames. */
  async probe(url: string, init: ProbeInit = {}, frame: Frame = this.page.mainFrame()): Promise<ProbeResult> {
    const result = await frame.evaluate(([url, init]) => window.probe(url, init), [url, init] as const);
    await this.settle(url);
    this.probes.push(`${init.method ?? "GET"} ${url} ${JSON.stringify(init)}\n    -> ${JSON.stringify(result)}`);
    return result;
  }

  /** Requests Chromium sent whose URL contains `part`, in order, optionally only one method. */
  sent(part: string, method?: string): WireEntry[] {
    return [...this.wire.values()].filter((e) => e.url.includes(part) && (method === undefined || e.method === method));
  }

  /** The CORS check Chromium failed for the request whose URL contains `part` (`MissingAllowOriginHeader`, …), or null. */
  corsError(part: string, method?: string): string | null {
    return this.sent(part, method).find((e) => e.failure !== null)?.corsError ?? null;
  }

  /** Preflights Chromium sent for URLs containing `part`. */
  preflights(part: string): WireEntry[] {
    return this.sent(part, "OPTIONS");
  }

  report(): string {
    const lines = ["--- what the page saw ---", "script:"];
    for (const probe of this.probes) lines.push(`  ${probe}`);
    lines.push("console:");
    for (const message of this.console) lines.push(`  ${message}`);
    lines.push("network:");
    for (const e of this.wire.values()) {
      lines.push(`  ${e.method} ${e.url} [${e.type}] -> ${e.status ?? "no response"}${e.failure ? ` ${e.failure}` : ""}${e.corsError ? ` CORS: ${e.corsError}` : ""}${e.corsParameter ? ` (${e.corsParameter})` : ""}`);
      for (const [name, value] of Object.entries(e.requestHeaders)) lines.push(`      > ${name}: ${value}`);
      for (const [name, value] of Object.entries(e.responseHeaders)) lines.push(`      < ${name}: ${value}`);
    }
    return lines.join("\n");
  }

  /**
   * DevTools events can trail the script's result: waits (up to a second)
   * until the request to `url` has finished or failed and every request to it,
   * preflights included, has an answer or a failure.
   */
  private async settle(url: string): Promise<void> {
    const deadline = Date.now() + SETTLE_MS;
    while (Date.now() < deadline) {
      const entries = [...this.wire.values()].filter((e) => e.url === url);
      const main = entries.some((e) => e.method !== "OPTIONS" && e.done);
      if (main && entries.every((e) => e.status !== null || e.failure !== null)) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    this.probes.push(`(DevTools events for ${url} still incomplete after ${SETTLE_MS} ms)`);
  }

  close(): Promise<void> {
    return this.context.close();
  }

  private async watch(session: CDPSession): Promise<void> {
    const entry = (id: string): WireEntry => {
      let e = this.wire.get(id);
      if (!e) {
        e = { method: "", url: "", type: "", requestHeaders: {}, status: null, responseHeaders: {}, failure: null, corsError: null, corsParameter: null, done: false };
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
      Object.assign(e, { method: ev.request!.method, url: ev.request!.url, type: ev.type ?? "" });
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
    session.on("Network.loadingFinished", (ev: NetworkEvent) => {
      entry(ev.requestId).done = true;
    });
    session.on("Network.loadingFailed", (ev: NetworkEvent) => {
      const e = entry(ev.requestId);
      e.done = true;
      e.failure = ev.errorText ?? null;
      e.corsError = ev.corsErrorStatus?.corsError ?? null;
      e.corsParameter = ev.corsErrorStatus?.failedParameter || null;
    });
    await session.send("Network.enable");
  }
}

/** A header from a wire entry, whatever its case. */
export function header(entry: WireEntry | undefined, name: string): string | undefined {
  if (!entry) return undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(entry.responseHeaders)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}
