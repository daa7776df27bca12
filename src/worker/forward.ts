/**
 * Forwarding to the origin server. Bodies stream both ways, redirects are
 * returned rather than followed, and a failure becomes a 502 (or a 504 when
 * the origin sends no headers in time) that the CORS middleware can still
 * stamp, so the page's script can read it.
 */
import { logWarning } from "./log.js";

/**
 * Sends the request on: through the `service` binding (ORIGIN) when there is
 * one, else to `originUrl` with the same path and query when it is set, else
 * unchanged, as a Worker on a route in front of its origin does.
 */
export async function forward(request: Request, originUrl: string, timeoutMs: number, service?: unknown): Promise<Response> {
  const hop = nextHop(request, originUrl, service);
  if (hop instanceof Response) return hop;
  // The timeout covers waiting for the response headers only: a body may stream for as long as it takes.
  const stalled = new AbortController();
  const timer = setTimeout(() => stalled.abort(), timeoutMs);
  try {
    return await hop.send(hop.request, stalled.signal);
  } catch (err) {
    if (stalled.signal.aborted) return gatewayTimeout(hop.request.url, timeoutMs, hop.via);
    return badGateway(hop.via ? "origin service failed" : "origin unreachable", {
      url: hop.request.url,
      ...hop.via,
      error: err instanceof Error ? err.message : String(err),
    });
  } finally {
    clearTimeout(timer);
  }
}

interface Hop {
  request: Request;
  send(request: Request, signal: AbortSignal): Promise<Response>;
  /** Names the service binding in log lines; absent over the network. */
  via?: { service: string };
}

/** Where the request goes next, or the 502 when the configuration cannot say. */
function nextHop(request: Request, originUrl: string, service: unknown): Hop | Response {
  if (service !== undefined) {
    if (!isFetcher(service)) return badGateway("ORIGIN is bound but is not a service binding", { fix: "bind ORIGIN under services in wrangler.toml, or use ORIGIN_URL for a URL" });
    // A Request made here would follow redirects: the incoming request's own 3xx must reach the client.
    const outgoing = new Request(request, { redirect: "manual" });
    return { request: outgoing, send: (req, signal) => service.fetch(req, { signal }), via: { service: "ORIGIN" } };
  }
  if (originUrl === "") return { request, send: (req, signal) => fetch(req, { signal }) };
  const target = targetUrl(originUrl, request.url);
  if (target === null) return badGateway("ORIGIN_URL is not an http(s) URL", { originUrl });
  const outgoing = new Request(target, { method: request.method, headers: request.headers, body: request.body, redirect: "manual" });
  return { request: outgoing, send: (req, signal) => fetch(req, { signal }) };
}

function isFetcher(value: unknown): value is Fetcher {
  return typeof value === "object" && value !== null && typeof (value as Fetcher).fetch === "function";
}

let parsedBase: { raw: string; url: URL | null } | null = null;

/** `originUrl` joined with the request's path and query; null when `originUrl` is unusable. */
export function targetUrl(originUrl: string, requestUrl: string): string | null {
  if (parsedBase?.raw !== originUrl) parsedBase = { raw: originUrl, url: parseBase(originUrl) };
  const base = parsedBase.url;
  if (!base) return null;
  const url = new URL(requestUrl);
  return `${base.origin}${base.pathname.replace(/\/$/, "")}${url.pathname}${url.search}`;
}

function parseBase(raw: string): URL | null {
  try {
    const url = new URL(raw);
    return url.protocol === "http:" || url.protocol === "https:" ? url : null;
  } catch {
    return null;
  }
}

function badGateway(reason: string, fields: Record<string, string>): Response {
  logWarning("forward-failed", { reason, ...fields });
  return Response.json({ error: "bad gateway", reason }, { status: 502 });
}

function gatewayTimeout(url: string, timeoutMs: number, via: { service: string } | undefined): Response {
  const reason = "origin sent no response headers in time";
  logWarning("forward-failed", { reason, url, timeoutMs, ...via });
  return Response.json({ error: "gateway timeout", reason }, { status: 504 });
}
