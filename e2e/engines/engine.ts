/**
 * One small interface in front of three browser engines, so that each
 * scenario is written once and run in each: open a page at a URL, run an
 * async script in it, and get back what the script returned.
 *
 * How each engine is driven (see /README.md, "In a real browser"):
 * - Chromium: playwright-core over the DevTools protocol, headless.
 * - Firefox ESR: puppeteer-core over WebDriver BiDi, headless, no geckodriver.
 * - WebKitGTK: webdriverio against WebKitWebDriver (MiniBrowser), under Xvfb.
 */

export type EngineName = "chromium" | "firefox" | "webkit";

export interface EngineOptions {
  /**
   * Hostnames the pages use. They all end in `.localhost`, which every engine
   * resolves to loopback by itself; Chromium and Firefox are also told so
   * explicitly, in case a resolver is configured otherwise.
   */
  hosts: string[];
}

export interface Engine {
  readonly name: EngineName;
  /** Starts the browser: once per test file. */
  start(options: EngineOptions): Promise<void>;
  /** A page at `url` in a fresh context (own cookies, own caches). */
  open(url: string): Promise<EnginePage>;
  stop(): Promise<void>;
}

export interface EnginePage {
  /**
   * Evaluates `expression` (JavaScript, which may yield a promise) in the page
   * and returns its JSON value. The expression is expected to catch its own
   * errors; a thrown one rejects with the engine's message.
   */
  run<T>(expression: string): Promise<T>;
  /** Everything the engine lets us see of the page: console, requests on the wire. */
  report(): Promise<string>;
  close(): Promise<void>;
}

/** Every step against a browser gets a deadline: a hung driver must fail the test, not stall the run. */
export async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function engine(name: EngineName): Promise<Engine> {
  switch (name) {
    case "chromium":
      return new (await import("./chromium.js")).ChromiumEngine();
    case "firefox":
      return new (await import("./firefox.js")).FirefoxEngine();
    case "webkit":
      return new (await import("./webkit.js")).WebKitEngine();
  }
}

export const ENGINES: EngineName[] = ["chromium", "firefox", "webkit"];
