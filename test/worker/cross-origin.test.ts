/**
 * blockCrossOriginWrites through the Worker, against the real origin server:
 * a refused write never reaches it, an allowed one arrives whole, and
 * WebSocket handshakes are judged the same way.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { bytesOf, sha256 } from "../fault/helpers.js";
import { corsHeaders, firstMessage, putPolicy, received, send, uniqueHost, uniquePath } from "./helpers.js";

const APP = "https://app.example.com";
const EVIL = "https://evil.example";

async function blockingHost(block = true): Promise<string> {
  const host = uniqueHost();
  await putPolicy(host, { origins: [APP], credentials: true, blockCrossOriginWrites: block });
  return host;
}

describe("cross-origin writes", () => {
  it.each([
    ["a form post from an unlisted site", { Origin: EVIL, "Sec-Fetch-Site": "cross-site", "Content-Type": "application/x-www-form-urlencoded" }],
    ["a text/plain fetch from an unlisted origin, no Sec-Fetch-Site", { Origin: EVIL, "Content-Type": "text/plain" }],
    ["a post from a sandboxed page", { Origin: "null", "Sec-Fetch-Site": "cross-site" }],
  ])("%s: 403 with a plain reason and no CORS headers, never reaching the origin", async (_, headers) => {
    const host = await blockingHost();
    const path = uniquePath();
    const res = await send(`https://${host}${path}`, { method: "POST", body: "amount=1000&to=mallory", headers: { ...headers, Cookie: "session=1" } });
    expect(res.status).toBe(403);
    expect(res.headers.get("Content-Type")).toBe("text/plain; charset=utf-8");
    expect(await res.text()).toContain("cross-origin write refused");
    expect(corsHeaders(res)).toEqual({ vary: "Origin" });
    expect(await received(path)).toEqual([]);
  });

  it.each([
    ["a listed origin, cross-site", { Origin: APP, "Sec-Fetch-Site": "cross-site" }],
    ["the API's own page", { "Sec-Fetch-Site": "same-origin", Origin: "SELF" }],
    ["a client that is not a browser (no Origin)", {}],
  ])("%s: forwarded with its body intact", async (_, headers) => {
    const host = await blockingHost();
    const path = uniquePath();
    const body = bytesOf(200_000);
    const sent = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, value === "SELF" ? `https://${host}` : value]));
    const res = await send(`https://${host}${path}`, { method: "PUT", body, headers: sent });
    expect(res.status).toBe(200);
    const seen = await received(path);
    expect(seen.map((r) => [r.method, r.bodyBytes, r.bodySha256])).toEqual([["PUT", body.byteLength, await sha256(body)]]);
  });

  it("with the field off, an unlisted origin's post reaches the origin as before", async () => {
    const host = await blockingHost(false);
    const path = uniquePath();
    const res = await send(`https://${host}${path}`, { method: "POST", body: "x", headers: { Origin: EVIL, "Sec-Fetch-Site": "cross-site" } });
    expect(res.status).toBe(200);
    expect(corsHeaders(res)).toEqual({ vary: "Origin" });
    expect(await received(path)).toHaveLength(1);
  });

  it("logs the refusal with its rule when CORS_DEBUG is set", async () => {
    const host = await blockingHost();
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    try {
      await send(`https://${host}/transfer`, { method: "POST", headers: { Origin: EVIL, "Sec-Fetch-Site": "cross-site" } }, { CORS_DEBUG: "1" });
      expect(JSON.parse(String(log.mock.calls[0]?.[0]))).toMatchObject({
        event: "cors-refused",
        origin: EVIL,
        method: "POST",
        rule: "cross-origin-write",
        field: "$.blockCrossOriginWrites",
      });
    } finally {
      log.mockRestore();
    }
  });
});

describe("WebSocket handshakes", () => {
  it("from a listed origin: upgraded, and the origin's socket speaks", async () => {
    const host = await blockingHost();
    const path = uniquePath();
    const res = await exports.default.fetch(`https://${host}${path}`, { headers: { Upgrade: "websocket", Origin: APP } });
    expect(res.status).toBe(101);
    expect(await firstMessage(res)).toBe("hello");
    expect((await received(path)).map((r) => r.headers.origin)).toEqual([APP]);
  });

  it.each([EVIL, "null"])("from %s: 403, never reaching the origin", async (origin) => {
    const host = await blockingHost();
    const path = uniquePath();
    const res = await exports.default.fetch(`https://${host}${path}`, { headers: { Upgrade: "websocket", Origin: origin, Cookie: "session=1" } });
    expect(res.status).toBe(403);
    expect(res.webSocket).toBeNull();
    expect(await received(path)).toEqual([]);
  });
});
