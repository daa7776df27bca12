/**
 * A page in one engine, seen the way the suite asserts on it: the page's own
 * script, `probe(url, init)`, fetches and reports what it could read. Every
 * probe and its result is kept, so that a failing test prints the engine and
 * what the page saw.
 */
import type { EngineName, EnginePage } from "./engines/engine.js";
import type { FormResult, ProbeInit, ProbeResult, SocketResult } from "./pages.js";

export class Tab {
  private readonly probes: string[] = [];

  constructor(
    readonly engine: EngineName,
    readonly url: string,
    private readonly page: EnginePage,
  ) {}

  /** Runs the page's `probe(url, init)`: the answer it could read, or the error it got. */
  async probe(url: string, init: ProbeInit = {}): Promise<ProbeResult> {
    return this.step(`${init.method ?? "GET"} ${url} ${JSON.stringify(init)}`, `window.probe(${JSON.stringify(url)}, ${JSON.stringify(init)})`);
  }

  /** The same, from the page's sandboxed frame (the `/sandboxed` page): also returns the frame's origin. */
  async probeInFrame(url: string, init: ProbeInit = {}): Promise<{ origin: string; result: ProbeResult }> {
    const what = `${init.method ?? "GET"} ${url} ${JSON.stringify({ ...init, frame: "sandboxed" })}`;
    return this.step(what, `window.probeInFrame(${JSON.stringify(url)}, ${JSON.stringify(init)})`);
  }

  /** Submits an HTML form (`method=post`) with `fields` to `url`, into a frame: whether an answer loaded there. */
  async postForm(url: string, fields: Record<string, string>): Promise<FormResult> {
    return this.step(`FORM POST ${url} ${JSON.stringify(fields)}`, `window.postForm(${JSON.stringify(url)}, ${JSON.stringify(fields)})`);
  }

  /** Opens `new WebSocket(url)`: the events the page saw, and the first message. */
  async openSocket(url: string): Promise<SocketResult> {
    return this.step(`WEBSOCKET ${url}`, `window.openSocket(${JSON.stringify(url)})`);
  }

  async report(): Promise<string> {
    const engineView = await this.page.report().catch((err: unknown) => `(the engine's view is unavailable: ${String(err)})`);
    return [`--- [${this.engine}] what the page at ${this.url} saw ---`, "script:", ...this.probes.map((p) => `  ${p}`), engineView].join("\n");
  }

  close(): Promise<void> {
    return this.page.close();
  }

  /**
   * Runs one of the page's functions, noted before it starts: a step that
   * never answers still shows in the report, with how long it ran.
   */
  private async step<T>(what: string, expression: string): Promise<T> {
    const index = this.probes.push(`${what}\n    -> (no answer yet)`) - 1;
    const started = Date.now();
    try {
      const result = await this.page.run<T>(expression);
      this.probes[index] = `${what}\n    -> ${JSON.stringify(result)}`;
      return result;
    } catch (err) {
      this.probes[index] = `${what}\n    -> threw after ${Date.now() - started} ms: ${err instanceof Error ? err.message : String(err)}`;
      throw err;
    }
  }
}
