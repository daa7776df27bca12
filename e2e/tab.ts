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
    const result = await this.page.run<ProbeResult>(`window.probe(${JSON.stringify(url)}, ${JSON.stringify(init)})`);
    this.note(url, init, result);
    return result;
  }

  /** The same, from the page's sandboxed frame (the `/sandboxed` page): also returns the frame's origin. */
  async probeInFrame(url: string, init: ProbeInit = {}): Promise<{ origin: string; result: ProbeResult }> {
    const seen = await this.page.run<{ origin: string; result: ProbeResult }>(`window.probeInFrame(${JSON.stringify(url)}, ${JSON.stringify(init)})`);
    this.note(url, { ...init, frame: "sandboxed" } as ProbeInit, seen.result);
    return seen;
  }

  /** Submits an HTML form (`method=post`) with `fields` to `url`, into a frame: whether an answer loaded there. */
  async postForm(url: string, fields: Record<string, string>): Promise<FormResult> {
    const result = await this.page.run<FormResult>(`window.postForm(${JSON.stringify(url)}, ${JSON.stringify(fields)})`);
    this.probes.push(`FORM POST ${url} ${JSON.stringify(fields)}\n    -> ${JSON.stringify(result)}`);
    return result;
  }

  /** Opens `new WebSocket(url)`: the events the page saw, and the first message. */
  async openSocket(url: string): Promise<SocketResult> {
    const result = await this.page.run<SocketResult>(`window.openSocket(${JSON.stringify(url)})`);
    this.probes.push(`WEBSOCKET ${url}\n    -> ${JSON.stringify(result)}`);
    return result;
  }

  async report(): Promise<string> {
    const engineView = await this.page.report().catch((err: unknown) => `(the engine's view is unavailable: ${String(err)})`);
    return [`--- [${this.engine}] what the page at ${this.url} saw ---`, "script:", ...this.probes.map((p) => `  ${p}`), engineView].join("\n");
  }

  close(): Promise<void> {
    return this.page.close();
  }

  private note(url: string, init: ProbeInit, result: ProbeResult): void {
    this.probes.push(`${init.method ?? "GET"} ${url} ${JSON.stringify(init)}\n    -> ${JSON.stringify(result)}`);
  }
}
