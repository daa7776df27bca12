/**
 * The web pages that call the API through the edge, each served from its own
 * origin. Every page defines `probe()`, the script under test: it fetches and
 * reports what the page could see, the way a real application would.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { closeServer } from "./origin.js";

/** What a page's script got from one `fetch`. */
export type ProbeResult =
  | {
      ok: true;
      status: number;
      type: string;
      redirected: boolean;
      url: string;
      /** Every header the script can read (safelisted plus exposed), lowercase. */
      readable: Record<string, string>;
      body: string;
    }
  | { ok: false; error: string };

export interface ProbeInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  credentials?: "omit" | "same-origin" | "include";
  mode?: "cors" | "no-cors";
}

/** What the page could tell of a form it posted into a frame: whether the frame loaded something else than its blank start. */
export interface FormResult {
  /** The answer (whatever it was) loaded in the frame; false when nothing loaded within 10 s. */
  loaded: boolean;
}

/** What a page's `new WebSocket(url)` did: its events in order, and the first message. */
export interface SocketResult {
  /** "open", "message", "error", "close:CODE", or "timeout" when nothing settled it within 10 s. */
  events: string[];
  message: string | null;
}

const PROBE = `
window.probe = async (url, init = {}) => {
  try {
    const res = await fetch(url, init);
    const readable = Object.fromEntries(res.headers);
    const body = await res.text();
    return { ok: true, status: res.status, type: res.type, redirected: res.redirected, url: res.url, readable, body };
  } catch (err) {
    return { ok: false, error: err.name + ": " + err.message };
  }
};
// A real HTML form, submitted by the page's script into a frame of its own:
// a navigation, so no CORS at all. The page cannot read the answer (another
// origin's document); it only learns that one arrived.
window.postForm = (url, fields, enctype = "application/x-www-form-urlencoded") => new Promise((resolve) => {
  const frame = document.createElement("iframe");
  frame.name = "sink-" + Math.random().toString(36).slice(2);
  document.body.append(frame);
  const timer = setTimeout(() => resolve({ loaded: false }), 10000);
  frame.addEventListener("load", () => {
    // The frame's first load may be its own about:blank, readable by the page; the answer never is.
    try { if (frame.contentWindow.location.href === "about:blank") return; } catch {}
    clearTimeout(timer);
    resolve({ loaded: true });
  });
  const form = document.createElement("form");
  Object.assign(form, { method: "post", action: url, target: frame.name, enctype });
  for (const [name, value] of Object.entries(fields)) {
    const input = document.createElement("input");
    Object.assign(input, { type: "hidden", name, value });
    form.append(input);
  }
  document.body.append(form);
  form.submit();
});
// A WebSocket: which of its events fired, and the first message, then it closes.
window.openSocket = (url) => new Promise((resolve) => {
  const events = [];
  let message = null;
  const socket = new WebSocket(url);
  const done = () => { clearTimeout(timer); resolve({ events, message }); };
  const timer = setTimeout(() => { events.push("timeout"); done(); }, 10000);
  socket.onopen = () => events.push("open");
  socket.onerror = () => events.push("error");
  socket.onmessage = (event) => { events.push("message"); message = String(event.data); socket.close(1000); done(); };
  socket.onclose = (event) => { events.push("close:" + event.code); done(); };
});
// In a frame, the parent asks for a probe by message: so every engine runs it
// through the top page's script alone, without a driver's frame API.
addEventListener("message", async (event) => {
  if (event.data?.kind !== "probe") return;
  const result = await window.probe(event.data.url, event.data.init);
  event.source.postMessage({ kind: "probed", origin: self.origin, result }, "*");
});`;

const PAGE = `<!doctype html><meta charset="utf-8"><title>probe</title><script>${PROBE}</script>`;
/** A sandboxed frame without allow-same-origin gets an opaque origin: its requests say `Origin: null`. */
const SANDBOXED = `<!doctype html><meta charset="utf-8"><title>sandboxed</title>
<iframe name="sandboxed" sandbox="allow-scripts" src="/"></iframe>
<script>
const frameLoaded = new Promise((resolve) => document.querySelector("iframe").addEventListener("load", resolve));
/** Runs probe() in the sandboxed frame: what its script saw, and the frame's own origin. */
window.probeInFrame = async (url, init = {}) => {
  await frameLoaded;
  return new Promise((resolve) => {
    addEventListener("message", function answer(event) {
      if (event.data?.kind !== "probed") return;
      removeEventListener("message", answer);
      resolve({ origin: event.data.origin, result: event.data.result });
    });
    frames.sandboxed.postMessage({ kind: "probe", url, init }, "*");
  });
};
</script>`;

export interface PageServer {
  port: number;
  close(): Promise<void>;
}

export async function startPageServer(): Promise<PageServer> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://pages.test").pathname;
    if (path !== "/" && path !== "/sandboxed") return void res.writeHead(404).end();
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" });
    res.end(path === "/" ? PAGE : SANDBOXED);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, close: () => closeServer(server) };
}
