/**
 * Cross-origin write protection: what CORS alone does not stop.
 *
 * CORS decides what a page may read, not what reaches the server: a form
 * `POST` from any site is sent with the user's cookies, and browsers apply no
 * CORS at all to WebSocket handshakes. With `blockCrossOriginWrites` the edge
 * refuses such requests before forwarding them, unless they come from an
 * origin the policy already trusts. The decision follows Go's
 * `http.CrossOriginProtection`, with the policy's origins as the trusted list:
 *
 * - Only writes are judged: any method but GET, HEAD and OPTIONS, and a
 *   WebSocket handshake (GET with `Upgrade: websocket`).
 * - `Origin: null` (sandboxed pages, data: URLs) never passes.
 * - With `Sec-Fetch-Site`, which browsers send to trustworthy URLs:
 *   `same-origin` and `none` (typed or bookmarked) pass; anything else passes
 *   only from an allowed origin.
 * - Without it (older browsers, plain-http pages): no `Origin` passes, since it
 *   is not a browser, or a browser that sends nothing to check; an `Origin`
 *   equal to the request's own passes; any other only when allowed.
 */

/** What a request carries that the check looks at. */
export interface WriteRequest {
  method: string;
  url: URL;
  origin: string | null;
  /** `Sec-Fetch-Site`, or null when absent. */
  fetchSite: string | null;
  /** `Upgrade`, or null when absent. */
  upgrade: string | null;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** Whether the request changes state or opens a socket, so the check applies. */
export function isWrite(request: Pick<WriteRequest, "method" | "upgrade">): boolean {
  if (!SAFE_METHODS.has(request.method)) return true;
  return request.method === "GET" && request.upgrade !== null && isWebSocketUpgrade(request.upgrade);
}

function isWebSocketUpgrade(upgrade: string): boolean {
  return upgrade.split(",").some((token) => token.trim().toLowerCase() === "websocket");
}

/** Why a write is not trusted: an opaque origin, or a site or origin the policy does not allow. */
export type Untrusted = "null-origin" | "untrusted-site" | "untrusted-origin";

/**
 * Why a write does not come from a trusted context, or null when it does.
 * `allowed` says whether the policy allows an origin.
 */
export function untrustedWrite(request: WriteRequest, allowed: (origin: string) => boolean): Untrusted | null {
  const { origin, fetchSite } = request;
  if (origin === "null") return "null-origin";
  if (fetchSite !== null) {
    if (fetchSite === "same-origin" || fetchSite === "none") return null;
    return origin !== null && allowed(origin) ? null : "untrusted-site";
  }
  if (origin === null || origin === request.url.origin || allowed(origin)) return null;
  return "untrusted-origin";
}
