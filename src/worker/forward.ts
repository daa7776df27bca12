/**
 * Forwarding to the origin server. Bodies stream both ways, redirects are
 * returned rather than followed, and a failure becomes a 502 (or a 504 when
 * the origin sends no headers in time) that the CORS middleware can still
 * stamp, so the page's script can read it.
 */
import { logWarning } from "./log.js";

/**
 * Sends the request on: to `originUrl` with the same path and query when it
 * is set, else unchanged, as a Worker on a route in front of its origin does.
 */
export async function forward(request: Request, originUrl: string, timeoutMs: number): Promise<Response> {
  let outgoing: Request = request;
  if (originUrl !== "") {
    const target = targetUrl(originUrl, request.url);
    if (target === null) return badGateway("ORIGIN_URL is not an http(s) URL", { originUrl });
    outgoing = new Request(target, { method: request.method, headers: request.headers, body: request.body, redirect: "manual" });
  }
  // The timeout covers waiting for the response headers only: a body may stream for as long as it takes.
  const stalled = new AbortController();
  const timer = setTimeout(() => stalled.abort(), timeoutMs);
  try {
    return await fetch(outgoing, { signal: stalled.signal });
  } catch (err) {
    if (stalled.signal.aborted) return gatewayTimeout(outgoing.url, timeoutMs);
    return badGateway("origin unreachable", { url: outgoing.url, error: err instanceof Error ? err.message : String(err) });
  } finally {
    clearTimeout(timer);
  }
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

function gatewayTimeout(url: string, timeoutMs: number): Response {
  const reason = "origin sent no response headers in time";
  logWarning("forward-failed", { reason, url, timeoutMs });
  return Response.json({ error: "gateway timeout", reason }, { status: 504 });
}
