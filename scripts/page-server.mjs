// The playground's pages, served from two origins of their own: the page
// origin (listed in the example policy) and another one (listed nowhere).
// Besides the static files it replays a case against the edge (`/probe`), so
// that the page can show the headers that decided it: a browser hides them
// from the page's script when it refuses a request. When a report-only
// candidate is stored beside the policy (`edge-cors push --candidate`), it
// also says how the candidate would answer each call (`/candidate`), with
// the same `explain` the CLI runs.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { tsImport } from "tsx/esm/api";
import { CASES } from "../playground/cases.js";

const DIR = fileURLToPath(new URL("../playground/", import.meta.url));
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8" };
const FILES = new Set(["index.html", "frame.html", "page.js", "cases.js", "style.css"]);

/**
 * `urls`: { edge, page, other }, each an origin like http://localhost:3000.
 * `persistTo`: where local KV lives (wrangler's --persist-to), when not wrangler's default.
 * `edgeLog`: the file that keeps the gateway's log lines, for `edge-cors report`.
 */
export async function startPageServer({ urls, pagePort, otherPort, persistTo, edgeLog }) {
  const settings = { urls, persistTo: persistTo ?? null, edgeLog: edgeLog ?? ".edge-cors/edge.log" };
  const handler = (req, res) => handle(req, res, settings).catch((err) => {
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

async function handle(req, res, { urls, persistTo, edgeLog }) {
  const url = new URL(req.url ?? "/", "http://playground");
  if (url.pathname === "/favicon.ico") return void res.writeHead(204).end();
  if (url.pathname === "/config.json") return json(res, { ...urls, persistTo, edgeLog });
  if (url.pathname === "/candidate") return json(res, await candidate(urls, persistTo).catch((err) => ({ error: err.message })));
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

/** The CLI's own modules, run through tsx as bin/edge-cors.mjs runs them; loaded on first use. */
let cliModules;
function cliCode() {
  cliModules ??= Promise.all([
    tsImport("../src/cli/explain.ts", import.meta.url),
    tsImport("../src/core/index.ts", import.meta.url),
  ]).then(([explain, core]) => ({ ...explain, ...core }));
  return cliModules;
}

/**
 * Reads keys of local KV as `wrangler kv … --local` does (its usingLocalNamespace):
 * a Miniflare of its own for the read, on the same persistence root as wrangler dev
 * (PERSIST_TO, else .wrangler/state, then v3), where the top-level CORS_POLICY binding,
 * which has no id, is the namespace "CORS_POLICY". A third of a second, where running
 * wrangler (`edge-cors pull`) takes three, on every load of the page.
 */
async function readLocalKv(keys, persistTo) {
  const mf = new Miniflare({
    script: 'addEventListener("fetch", (e) => e.respondWith(new Response(null, { status: 404 })))',
    defaultPersistRoot: join(resolve(persistTo ?? ".wrangler/state"), "v3"),
    kvNamespaces: { NAMESPACE: "CORS_POLICY" },
    cf: false, // no download of a sample request.cf: this machine may have no internet
  });
  try {
    const namespace = await mf.getKVNamespace("NAMESPACE");
    return new Map(await Promise.all(keys.map(async (key) => [key, await namespace.get(key)])));
  } finally {
    await mf.dispose();
  }
}

/**
 * The stored candidate and, per case, how it would answer: both policies read
 * from local KV (as wrangler reads it for `edge-cors pull`), each case run through
 * `explain()` under both, as `edge-cors explain --candidate` does.
 */
async function candidate(urls, persistTo) {
  const { explain, changeOf, candidateKey, parsePolicy, compilePolicy } = await cliCode();
  // The edge's choice: the host's own key when it holds a policy, else default, and the candidate beside it.
  const host = new URL(urls.edge).hostname;
  const values = await readLocalKv([host, candidateKey(host), "default", candidateKey("default")], persistTo);
  const key = values.get(host) != null ? host : "default";
  const enforcedText = values.get(key) ?? null;
  const candidateText = values.get(candidateKey(key)) ?? null;
  const result = { key, candidateKey: candidateKey(key), stored: candidateText !== null };
  if (candidateText === null) return result;
  const candidateCheck = parsePolicy(candidateText);
  if (!candidateCheck.ok) return { ...result, valid: false, errors: candidateCheck.errors.map((e) => `${e.path}: ${e.message}`) };
  const enforcedCheck = enforcedText === null ? null : parsePolicy(enforcedText);
  if (!enforcedCheck?.ok) return { ...result, valid: true, error: `no valid policy is stored under "${key}" to compare the candidate with` };
  const policies = [
    { document: JSON.parse(enforcedText), compiled: compilePolicy(enforcedCheck.policy) },
    { document: JSON.parse(candidateText), compiled: compilePolicy(candidateCheck.policy) },
  ];
  const cases = {};
  for (const testCase of CASES) {
    const request = {
      origin: testCase.from === "page" ? urls.page : urls.other,
      method: testCase.method,
      headers: Object.entries(testCase.headers).map(([name, value]) => ({ name, value })),
      credentials: testCase.credentials,
      path: testCase.path,
    };
    const [enforced, candidate] = policies.map(({ document, compiled }) => explain(document, compiled, request));
    cases[testCase.id] = {
      ...changeOf(enforced, candidate),
      enforced: enforced.allowed,
      allowed: candidate.allowed,
      refusal: candidate.refusal && { rule: candidate.refusal.rule, field: candidate.refusal.field },
      headers: headerChanges(enforced, candidate),
    };
  }
  return { ...result, valid: true, cases };
}

/** The header lines of the edge's answers that the candidate changes: "-" today's, "+" the candidate's. */
function headerChanges(enforced, candidate) {
  const lines = [];
  for (const step of ["preflight", "actual"]) {
    const before = (enforced[step]?.headers ?? []).map(([name, value]) => `${name}: ${value}`);
    const after = (candidate[step]?.headers ?? []).map(([name, value]) => `${name}: ${value}`);
    for (const line of before) if (!after.includes(line)) lines.push(`${step} - ${line}`);
    for (const line of after) if (!before.includes(line)) lines.push(`${step} + ${line}`);
  }
  return lines;
}
