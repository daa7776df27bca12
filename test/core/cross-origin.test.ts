/**
 * blockCrossOriginWrites: every row of the decision, at the core's decide().
 */
import { describe, expect, it } from "vitest";
import { compilePolicy, decide, validatePolicy, type CompiledPolicy } from "../../src/core/index.js";

const SELF = "https://api.example.net";
const APP = "https://app.example.com";
const EVIL = "https://evil.example";

function compiled(doc: unknown): CompiledPolicy {
  const result = validatePolicy(doc);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return compilePolicy(result.policy);
}

const LISTED = compiled({ origins: [APP, "https://*.example.org"], credentials: true, blockCrossOriginWrites: true });
const PUBLIC = compiled({ origins: "*", blockCrossOriginWrites: true });
const OFF = compiled({ origins: [APP], credentials: true, blockCrossOriginWrites: false });
const ROUTE = compiled({ origins: [APP], routes: [{ path: "/forms/*", blockCrossOriginWrites: true }] });

interface Row {
  method: string;
  origin: string | null;
  fetchSite?: string | null;
  upgrade?: string | null;
  path?: string;
}

function blocked(policy: CompiledPolicy, row: Row): boolean {
  const decision = decide(policy, {
    method: row.method,
    url: new URL(`${SELF}${row.path ?? "/orders"}`),
    origin: row.origin,
    requestMethod: null,
    requestHeaders: null,
    fetchSite: row.fetchSite ?? null,
    upgrade: row.upgrade ?? null,
  });
  return decision.kind === "blocked";
}

describe("which requests are writes", () => {
  const rows: [string, Row, boolean][] = [
    ["GET", { method: "GET", origin: EVIL }, false],
    ["HEAD", { method: "HEAD", origin: EVIL }, false],
    ["OPTIONS (not a preflight)", { method: "OPTIONS", origin: EVIL }, false],
    ["POST", { method: "POST", origin: EVIL }, true],
    ["PUT", { method: "PUT", origin: EVIL }, true],
    ["DELETE", { method: "DELETE", origin: EVIL }, true],
    ["PATCH", { method: "PATCH", origin: EVIL }, true],
    ["a custom method", { method: "PROPFIND", origin: EVIL }, true],
    ["a WebSocket handshake", { method: "GET", origin: EVIL, upgrade: "websocket" }, true],
    ["a WebSocket handshake, any case", { method: "GET", origin: EVIL, upgrade: "WebSocket" }, true],
    ["a WebSocket among other upgrades", { method: "GET", origin: EVIL, upgrade: "h2c, websocket" }, true],
    ["another upgrade", { method: "GET", origin: EVIL, upgrade: "h2c" }, false],
    ["a lookalike upgrade", { method: "GET", origin: EVIL, upgrade: "websockets" }, false],
  ];
  it.each(rows)("%s from an unlisted origin → blocked: %s", (_name, row, expected) => {
    expect(blocked(LISTED, row)).toBe(expected);
  });
});

describe("which contexts are trusted (a POST, and a WebSocket handshake)", () => {
  const rows: [string, Omit<Row, "method">, boolean][] = [
    // With Sec-Fetch-Site.
    ["same-origin", { fetchSite: "same-origin", origin: SELF }, false],
    ["same-origin without Origin", { fetchSite: "same-origin", origin: null }, false],
    ["none (typed in, bookmarked)", { fetchSite: "none", origin: null }, false],
    ["same-site from a listed origin", { fetchSite: "same-site", origin: APP }, false],
    ["same-site from an unlisted origin", { fetchSite: "same-site", origin: "https://blog.example.net" }, true],
    ["cross-site from a listed origin", { fetchSite: "cross-site", origin: APP }, false],
    ["cross-site from a pattern's origin", { fetchSite: "cross-site", origin: "https://a.b.example.org" }, false],
    ["cross-site from an unlisted origin", { fetchSite: "cross-site", origin: EVIL }, true],
    ["cross-site without Origin", { fetchSite: "cross-site", origin: null }, true],
    ["an unknown Sec-Fetch-Site from an unlisted origin", { fetchSite: "same-origin-ish", origin: EVIL }, true],
    ["a Sec-Fetch-Site in another case", { fetchSite: "Same-Origin", origin: EVIL }, true],
    ["same-origin claimed with Origin null", { fetchSite: "same-origin", origin: "null" }, true],
    // Without Sec-Fetch-Site.
    ["no Origin (not a browser, or an old one)", { origin: null }, false],
    ["the request's own origin", { origin: SELF }, false],
    ["a listed origin", { origin: APP }, false],
    ["a pattern's origin", { origin: "https://x.example.org" }, false],
    ["an unlisted origin", { origin: EVIL }, true],
    ["the same host on another scheme", { origin: "http://api.example.net" }, true],
    ["a lookalike of a listed origin", { origin: "https://app.example.com.evil.example" }, true],
    ["Origin null", { origin: "null" }, true],
  ];
  it.each(rows)("%s → blocked: %s", (_name, row, expected) => {
    expect(blocked(LISTED, { method: "POST", ...row })).toBe(expected);
    expect(blocked(LISTED, { method: "GET", upgrade: "websocket", ...row })).toBe(expected);
  });

  it.each([
    ["cross-site from any origin", { fetchSite: "cross-site", origin: EVIL }, false],
    ["no Sec-Fetch-Site, any origin", { origin: EVIL }, false],
    ["Origin null", { origin: "null" }, true],
    ["Origin null, cross-site", { fetchSite: "cross-site", origin: "null" }, true],
  ] as [string, Omit<Row, "method">, boolean][])('under origins "*": %s → blocked: %s', (_name, row, expected) => {
    expect(blocked(PUBLIC, { method: "POST", ...row })).toBe(expected);
  });

  it("with the field off, nothing is blocked", () => {
    for (const origin of [EVIL, "null", null]) {
      expect(blocked(OFF, { method: "POST", origin, fetchSite: "cross-site" })).toBe(false);
      expect(blocked(OFF, { method: "GET", origin, upgrade: "websocket" })).toBe(false);
    }
  });

  it("per route: only the route that turns it on blocks", () => {
    expect(blocked(ROUTE, { method: "POST", origin: EVIL, path: "/forms/contact" })).toBe(true);
    expect(blocked(ROUTE, { method: "POST", origin: EVIL, path: "/api" })).toBe(false);
    // A spelling that some servers read as the route's path is blocked too.
    expect(blocked(ROUTE, { method: "POST", origin: EVIL, path: "/forms%2Fcontact" })).toBe(true);
  });
});

describe("what a blocked write says", () => {
  it("names the rule, the field and why, and preflights are unchanged", () => {
    const decision = decide(LISTED, { method: "POST", url: new URL(`${SELF}/orders`), origin: EVIL, requestMethod: null, requestHeaders: null, fetchSite: "cross-site" });
    expect(decision).toMatchObject({
      kind: "blocked",
      allowed: false,
      vary: "Origin",
      refusal: { rule: "cross-origin-write", field: "$.blockCrossOriginWrites", message: 'cross-origin "POST" request refused: Sec-Fetch-Site "cross-site" from origin "https://evil.example", which $.origins does not allow' },
    });
    const preflight = decide(LISTED, { method: "OPTIONS", url: new URL(`${SELF}/orders`), origin: EVIL, requestMethod: "POST", requestHeaders: null, fetchSite: "cross-site" });
    expect(preflight).toMatchObject({ kind: "preflight", allowed: false, refusal: { rule: "origin" } });
  });
});
