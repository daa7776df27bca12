/**
 * WebKitGTK's MiniBrowser driven by webdriverio through WebKitWebDriver
 * (Debian's webkit2gtk-driver), in WebDriver classic.
 *
 * MiniBrowser has no headless mode: it needs an X display, so one Xvfb runs
 * per test file. Without a display the new-session request hangs without an
 * error, hence a deadline on every step. One WebKitWebDriver holds one
 * session, so each page gets its own driver, and so its own fresh browser.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import type { Readable } from "node:stream";
import { remote } from "webdriverio";
import { freePort, sleep } from "../edge.js";
import { within, type Engine, type EnginePage } from "./engine.js";

const DRIVER = "/usr/bin/WebKitWebDriver";
const MINIBROWSER = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser";
const STEP_MS = 20_000;

const CAPABILITIES = {
  "wdio:enforceWebDriverClassic": true,
  // webdriverio's types do not know WebKitGTK's own capability.
  "webkitgtk:browserOptions": {
    binary: MINIBROWSER,
    // MiniBrowser's default, no-third-party, would block cross-site cookies.
    args: ["--automation", "--cookies-policy=always"],
  },
};

/** Collects the page's console and errors in the page itself: WebDriver classic has no console events. */
const RECORD_CONSOLE = `(() => {
if (!window.__seen) {
  window.__seen = [];
  for (const level of ["log", "info", "warn", "error"]) {
    const original = console[level];
    console[level] = (...args) => { window.__seen.push("[" + level + "] " + args.join(" ")); original.apply(console, args); };
  }
  addEventListener("error", (e) => window.__seen.push("[pageerror] " + e.message));
  addEventListener("unhandledrejection", (e) => window.__seen.push("[unhandledrejection] " + e.reason));
}
})()`;

export class WebKitEngine implements Engine {
  readonly name = "webkit";
  private xvfb: ChildProcess | null = null;
  private display = "";

  async start(): Promise<void> {
    // -displayfd 3: Xvfb picks a free display and writes its number to fd 3.
    const xvfb = spawn("Xvfb", ["-displayfd", "3", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"], {
      stdio: ["ignore", "ignore", "pipe", "pipe"],
    });
    this.xvfb = xvfb;
    const number = new Promise<string>((resolve, reject) => {
      (xvfb.stdio[3] as Readable).once("data", (chunk: Buffer) => resolve(chunk.toString().trim()));
      xvfb.once("exit", (code) => reject(new Error(`Xvfb exited with ${code}`)));
    });
    this.display = `:${await within(10_000, "starting Xvfb", number)}`;
  }

  async open(url: string): Promise<EnginePage> {
    if (!this.xvfb) throw new Error("WebKit's display is not started");
    const port = await freePort();
    const driver = spawn(DRIVER, [`--port=${port}`, "--host=local"], {
      env: { ...process.env, DISPLAY: this.display },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const page = new WebKitPage(driver);
    try {
      await within(10_000, "WebKitWebDriver's /status", driverReady(port, driver));
      const session = remote({
        hostname: "127.0.0.1",
        port,
        path: "/",
        logLevel: "warn",
        connectionRetryCount: 0,
        capabilities: CAPABILITIES as Parameters<typeof remote>[0]["capabilities"],
      });
      page.browser = await within(STEP_MS, "WebKitWebDriver's new session", session);
      await within(STEP_MS, `WebKit opening ${url}`, page.browser.url(url));
      await page.run(RECORD_CONSOLE);
    } catch (err) {
      await page.close();
      throw err;
    }
    return page;
  }

  async stop(): Promise<void> {
    this.xvfb?.kill();
    this.xvfb = null;
  }
}

/** The processes in the driver's session (it starts detached): WebKitWebDriver, MiniBrowser, WebKit's web and network processes, with their state and CPU time. */
function processes(group: number): Promise<string> {
  return new Promise((resolve) => {
    execFile("ps", ["-o", "pid=,stat=,time=,args=", "-s", String(group)], (err, stdout) =>
      resolve(err ? `(ps failed: ${err.message})` : `\n${stdout.trimEnd()}`),
    );
  });
}

async function driverReady(port: number, driver: ChildProcess): Promise<void> {
  for (;;) {
    if (driver.exitCode !== null) throw new Error(`WebKitWebDriver exited with ${driver.exitCode}`);
    const ready = await fetch(`http://127.0.0.1:${port}/status`).then((res) => res.ok, () => false);
    if (ready) return;
    await sleep(50);
  }
}

type Session = Awaited<ReturnType<typeof remote>>;

class WebKitPage implements EnginePage {
  browser: Session | null = null;
  private readonly driverLog: string[] = [];
  private console: string[] = [];

  constructor(private readonly driver: ChildProcess) {
    // Both pipes are read: an unread one that fills up would block the driver, or the MiniBrowser that inherits it.
    driver.stdout!.on("data", (chunk: Buffer) => this.driverLog.push(chunk.toString().trim()));
    driver.stderr!.on("data", (chunk: Buffer) => this.driverLog.push(chunk.toString().trim()));
  }

  async run<T>(expression: string): Promise<T> {
    if (!this.browser) throw new Error("no WebKit session");
    // The last argument of an async script is its callback.
    // It also brings back the page's console: the session may be gone by the time a failure is reported.
    const script = `const done = arguments[arguments.length - 1];
      const seen = () => window.__seen ?? [];
      Promise.resolve().then(() => (${expression})).then(
        (value) => done({ value, seen: seen() }),
        (err) => done({ thrown: String(err), seen: seen() }));`;
    let outcome: { value?: T; thrown?: string; seen?: string[] };
    try {
      outcome = await within(STEP_MS, "WebKit running the page's script", this.browser.executeAsync(script) as Promise<typeof outcome>);
    } catch (err) {
      // No answer at all: say what WebKit's processes were doing, for the failure's report.
      if (err instanceof Error && err.message.includes("no answer within")) this.driverLog.push(`after the step's deadline: ${await processes(this.driver.pid!)}`);
      // WebKitWebDriver can report a fetch that rejected in the script as the
      // script's own error: that TypeError is what the page saw.
      const message = err instanceof Error ? err.message : String(err);
      const typeError = /TypeError: .*/.exec(message);
      if (typeError) return { ok: false, error: typeError[0] } as T;
      throw err;
    }
    this.console = outcome.seen ?? this.console;
    if (outcome.thrown !== undefined) throw new Error(`the page's script threw: ${outcome.thrown}`);
    return outcome.value as T;
  }

  async report(): Promise<string> {
    return [
      "console (recorded in the page; WebDriver classic shows no requests):",
      ...this.console.map((m) => `  ${m}`),
      ...(this.driverLog.length ? ["WebKitWebDriver:", ...this.driverLog.map((l) => `  ${l}`)] : []),
    ].join("\n");
  }

  async close(): Promise<void> {
    await within(10_000, "closing the WebKit session", this.browser?.deleteSession() ?? Promise.resolve()).catch(() => {});
    this.browser = null;
    try {
      // Its own process group: the driver and the MiniBrowser it started.
      process.kill(-this.driver.pid!, "SIGTERM");
    } catch {
      // Already gone.
    }
  }
}
