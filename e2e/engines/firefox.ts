/**
 * Debian's Firefox ESR driven by puppeteer-core over WebDriver BiDi: no
 * geckodriver, headless. One browser per test file (a launch takes about
 * 3 s) and a fresh browser context per page (about 0.6 s).
 */
import puppeteer, { type Browser, type BrowserContext, type Page } from "puppeteer-core";
import { within, type Engine, type EngineOptions, type EnginePage } from "./engine.js";

export const FIREFOX = "/usr/bin/firefox-esr";
const STEP_MS = 20_000;

export class FirefoxEngine implements Engine {
  readonly name = "firefox";
  private browser: Browser | null = null;

  async start(options: EngineOptions): Promise<void> {
    const launching = puppeteer.launch({
      browser: "firefox",
      executablePath: FIREFOX,
      headless: true,
      extraPrefsFirefox: {
        // Firefox resolves *.localhost to loopback itself; this names the hosts explicitly.
        "network.dns.localDomains": options.hosts.join(","),
      },
    });
    this.browser = await within(60_000, "launching Firefox", launching);
  }

  async open(url: string): Promise<EnginePage> {
    if (!this.browser) throw new Error("Firefox is not started");
    const context = await this.browser.createBrowserContext();
    const page = await context.newPage();
    const tab = new FirefoxPage(context, page);
    await within(STEP_MS, `Firefox opening ${url}`, page.goto(url));
    return tab;
  }

  async stop(): Promise<void> {
    await this.browser?.close();
    this.browser = null;
  }
}

class FirefoxPage implements EnginePage {
  private readonly console: string[] = [];
  /** What BiDi lets puppeteer see: the page's own requests, not preflights. */
  private readonly network: string[] = [];

  constructor(
    private readonly context: BrowserContext,
    private readonly page: Page,
  ) {
    page.on("console", (message) => this.console.push(`[${message.type()}] ${message.text()}`));
    page.on("pageerror", (error) => this.console.push(`[pageerror] ${String(error)}`));
    page.on("response", (res) => this.network.push(`${res.request().method()} ${res.url()} -> ${res.status()}`));
    page.on("requestfailed", (req) => this.network.push(`${req.method()} ${req.url()} -> failed: ${req.failure()?.errorText ?? "?"}`));
  }

  run<T>(expression: string): Promise<T> {
    return within(STEP_MS, "Firefox running the page's script", this.page.evaluate(expression) as Promise<T>);
  }

  async report(): Promise<string> {
    return ["console:", ...this.console.map((m) => `  ${m}`), "network (WebDriver BiDi, no preflights):", ...this.network.map((n) => `  ${n}`)].join("\n");
  }

  close(): Promise<void> {
    return this.context.close();
  }
}
