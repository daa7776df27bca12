/**
 * Forwarding to the origin server. Bodies stream both ways, redirects are
 * returned rather than followed, and a failure becomes a 502 that the CORS
 * middleware can still stamp, so the page's script can read it.
 */
import { logWarning } from "./log.js";

/**
 * Sends the request on: to `originUrl` with the same path and query when it
 * is set, else unchanged, as a Worker on a route in front of its origin does.
 */
export async function forward(request: Request, originUrl: string): Promise<Response> {
  let outgoing: Request = request;
  if (originUrl !== "") {
    const target = targetUrl(originUrl, request.url);
    if (target === null) return badGateway("ORIGIN_URL is not an http(s) URL", { originUrl });
    outgoing = new Request(target, { method: request.method, headers: request.headers, body: request.body, redirect: "manual" });
  }
  try {
    return await fetch(outgoing);
  } catch (err) {
    return badGateway("origin unreachable", { url: outgoing.url, error: err instanceof Error ? err.message : String(err) });
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
