// The playground's pages, served from two origins of their own: the page
// origin (listed in the example policy) and another one (listed nowhere).
// Besides the static files it replays a case against the edge (`/probe`), so
// that the page can show the headers that decided it: a browser hides them
// from the page's script when it refuses a request.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CASES } from "../playground/cases.js";

const DIR = fileURLToPath(new URL("../playground/", import.meta.url));
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8" };
const FILES = new Set(["index.html", "frame.html", "page.js", "cases.js", "style.css"]);

/** `urls`: { edge, page, other }, each an origin like http://localhost:3000. */
export async function startPageServer({ urls, pagePort, otherPort }) {
  const handler = (req, res) => handle(req, res, urls).catch((err) => {
    res.writeHead(500, { "Content-Type": "text/plain" });
    res.end(`playground error: ${err.message}\n`);
  });
  const listen = (port) => new Promise((resolve, reject) => {
    const server = createServer(handler);
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
  const servers = [await listen(pagePort), await listen(otherPort)];
  return { close: () => servers.forEach((server) => server.close()) };
}

async function handle(req, res, urls) {
  const url = new URL(req.url ?? "/", "http://playground");
  if (url.pathname === "/favicon.ico") return void res.writeHead(204).end();
  if (url.pathname === "/config.json") return json(res, urls);
  if (url.pathname === "/warm") return json(res, await warm(urls.edge));
  if (url.pathname === "/probe") {
    const found = CASES.find((c) => c.id === url.searchParams.get("case"));
    if (!found) return json(res, { error: "no such case" }, 404);
    const origin = found.from === "page" ? urls.page : urls.other;
    return json(res, await probe(urls.edge, found, origin, url.searchParams.get("run") ?? ""));
  }
  const name = url.pathname === "/" ? "index.html" : url.pathname.slice(1);
  if (!FILES.has(name)) return json(res, { error: "not found" }, 404);
  res.writeHead(200, { "Content-Type": TYPES[extname(name)], "Cache-Control": "no-store" });
  res.end(await readFile(join(DIR, name)));
}

function json(res, value, status = 200) {
  res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store" });
  res.end(JSON.stringify(value));
}

/**
 * The edge serves a stale policy once while it reloads it in the background.
 * One request before the page's own calls makes them see the stored policy.
 */
async function warm(edge) {
  try {
    await fetch(`${edge}/__warm`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    return { ok: true };
  } catch (err) {
    return { ok: false, error: `the edge at ${edge} does not answer: ${err.message}` };
  }
}

/** Sends the case's preflight (when the browser sends one) and actual request as the browser would. */
async function probe(edge, testCase, origin, run) {
  const target = `${edge}${testCase.path}?run=${encodeURIComponent(run)}`;
  const result = { origin, preflight: null, actual: null };
  try {
    if (testCase.preflight) {
      const names = Object.keys(testCase.headers).map((name) => name.toLowerCase()).sort();
      const headers = { Origin: origin, "Access-Control-Request-Method": testCase.method };
      if (names.length > 0) headers["Access-Control-Request-Headers"] = names.join(",");
      const res = await fetch(target, { method: "OPTIONS", headers });
      await res.arrayBuffer();
      result.preflight = { request: headers, status: res.status, headers: corsHeaders(res) };
      if (res.status < 200 || res.status > 299) return result;
    }
    const headers = { Origin: origin, ...testCase.headers };
    const res = await fetch(target, { method: testCase.method, headers, body: testCase.body });
    const text = await res.text();
    result.actual = { request: { Origin: origin }, status: res.status, headers: corsHeaders(res) };
    // A write the edge refused never reached the origin: its plain-text reason says so.
    if (res.status === 403 && text.startsWith("cross-origin write refused")) result.actual.reason = text.trim();
  } catch (err) {
    result.error = `the edge at ${edge} does not answer: ${err.message}`;
  }
  return result;
}

function corsHeaders(res) {
  const out = {};
  for (const [name, value] of res.headers) if (name.startsWith("access-control-") || name === "vary") out[name] = value;
  return out;
}
