/**
 * Faults at the origin: refused connections, a stall before the headers, a
 * reset in the middle of the body. For each: the answer, that nothing is
 * lost, and the log line an operator sees.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { corsHeaders, exampleHost, received, release, send, uniquePath } from "../worker/helpers.js";
import { bytesOf, logLines, sha256 } from "./helpers.js";

const APP = "https://app.example.com";
const EVIL = "https://evil.example";
const FAST_TIMEOUT = { ORIGIN_TIMEOUT_SECONDS: "0.3" };

afterEach(() => vi.restoreAllMocks());

describe("origin refusing connections", () => {
  it("answers 502, readable by an allowed origin only, and logs where it tried", async () => {
    const host = await exampleHost();
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const down = { ORIGIN_URL: "http://127.0.0.1:9" };
    const body = bytesOf(100_000);
    const allowed = await send(`https://${host}/orders?id=1`, { method: "POST", body, headers: { Origin: APP } }, down);
    expect(allowed.status).toBe(502);
    expect(corsHeaders(allowed)).toEqual({
      "access-control-allow-origin": APP,
      "access-control-allow-credentials": "true",
      "access-control-expose-headers": "X-Request-Id",
      vary: "Origin",
    });
    expect(await allowed.json()).toEqual({ error: "bad gateway", reason: "origin unreachable" });
    const refused = await send(`https://${host}/orders`, { headers: { Origin: EVIL } }, down);
    expect(refused.status).toBe(502);
    expect(corsHeaders(refused)).toEqual({ vary: "Origin" });
    const [line] = logLines(warn);
    expect(line).toMatchObject({ level: "warn", event: "forward-failed", reason: "origin unreachable", url: "http://127.0.0.1:9/orders?id=1" });
    expect(String(line?.error)).not.toBe("");
  });
});

describe("origin stalling before its headers", () => {
  it("gives up after ORIGIN_TIMEOUT_SECONDS with a 504 an allowed origin can read, and logs it", async () => {
    const host = await exampleHost();
    const path = uniquePath();
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const body = bytesOf(300_000);
    const res = await send(`https://${host}${path}?stall=5000`, { method: "POST", body, headers: { Origin: APP } }, FAST_TIMEOUT);
    expect(res.status).toBe(504);
    expect(corsHeaders(res)).toEqual({
      "access-control-allow-origin": APP,
      "access-control-allow-credentials": "true",
      "access-control-expose-headers": "X-Request-Id",
      vary: "Origin",
    });
    expect(await res.json()).toEqual({ error: "gateway timeout", reason: "origin sent no response headers in time" });
    expect(logLines(warn)).toEqual([
      {
        level: "warn",
        event: "forward-failed",
        reason: "origin sent no response headers in time",
        url: `${env.ORIGIN_URL}${path}?stall=5000`,
        timeoutMs: 300,
      },
    ]);
    // The request itself reached the origin whole before it stalled.
    const [seen] = await received(path);
    expect(seen?.bodyBytes).toBe(body.byteLength);
    expect(seen?.bodySha256).toBe(await sha256(body));
  });

  it("adds no CORS headers to a refused origin's 504", async () => {
    const host = await exampleHost();
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const res = await send(`https://${host}${uniquePath()}?stall=5000`, { headers: { Origin: EVIL } }, FAST_TIMEOUT);
    expect(res.status).toBe(504);
    expect(corsHeaders(res)).toEqual({ vary: "Origin" });
  });

  it("waits for an origin that answers within the timeout", async () => {
    const host = await exampleHost();
    const res = await send(`https://${host}${uniquePath()}?stall=100`, { headers: { Origin: APP } }, { ORIGIN_TIMEOUT_SECONDS: "5" });
    expect(res.status).toBe(200);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe(APP);
  });

  it("falls back to the default timeout when ORIGIN_TIMEOUT_SECONDS is not a number", async () => {
    const host = await exampleHost();
    const res = await send(`https://${host}${uniquePath()}?stall=400`, {}, { ORIGIN_TIMEOUT_SECONDS: "soon" });
    expect(res.status).toBe(200);
  });

  it("times only the wait for headers: a body slower than the timeout still arrives whole", async () => {
    const host = await exampleHost();
    const id = crypto.randomUUID();
    const total = 1024 * 1024;
    const res = await send(`https://${host}${uniquePath()}?bytes=${total}&hold=${id}`, { headers: { Origin: APP } }, FAST_TIMEOUT);
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let count = (await reader.read()).value!.byteLength;
    await new Promise((resolve) => setTimeout(resolve, 600)); // twice the timeout, in the middle of the body
    await release(id);
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) count += chunk.value.byteLength;
    expect(count).toBe(total);
  });
});

describe("origin resetting in the middle of the body", () => {
  it.each([
    ["after 100,000 bytes", 100_000],
    ["before the first byte", 0],
  ])("makes the failure visible: the body stream errors %s instead of ending short", async (_, after) => {
    const host = await exampleHost();
    const res = await send(`https://${host}${uniquePath()}?bytes=1048576&reset=${after}`, { headers: { Origin: APP } });
    // The headers had already been sent, so the status is the origin's, stamped as usual.
    expect(res.status).toBe(200);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe(APP);
    const reader = res.body!.getReader();
    let count = 0;
    const outcome = await (async () => {
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) return "ended";
        count += chunk.value.byteLength;
      }
    })().catch((err: unknown) => err);
    expect(outcome).toBeInstanceOf(Error);
    expect(count).toBeLessThanOrEqual(after);
  });

  it("shows the same error to a client of the Worker's own HTTP pipeline", async () => {
    const { exports } = await import("cloudflare:workers");
    const host = await exampleHost();
    const res = await exports.default.fetch(`https://${host}${uniquePath()}?bytes=1048576&reset=65536`, { headers: { Origin: APP } });
    expect(res.status).toBe(200);
    await expect(res.arrayBuffer()).rejects.toThrow();
  });
});

describe("request bodies", () => {
  it.each([0, 1, 65_535, 65_537, 3 * 1024 * 1024 + 7])("reach the origin whole: %i bytes, for allowed and absent origins; a refused origin's never reach it", async (size) => {
    const host = await exampleHost();
    const body = bytesOf(size);
    const digest = await sha256(body);
    // The example policy blocks cross-origin writes: a page on an unlisted origin cannot post to the API at all.
    const refusedPath = uniquePath();
    for (const method of ["POST", "PUT", "PATCH"]) {
      const res = await send(`https://${host}${refusedPath}`, { method, body, headers: { Origin: EVIL, "Content-Type": "application/octet-stream" } });
      expect(res.status).toBe(403);
      expect(corsHeaders(res)).toEqual({ vary: "Origin" });
      await res.body?.cancel();
    }
    expect(await received(refusedPath)).toEqual([]);
    for (const origin of [APP, null]) {
      const path = uniquePath();
      const headers: Record<string, string> = { "Content-Type": "application/octet-stream" };
      if (origin) headers.Origin = origin;
      for (const method of ["POST", "PUT", "PATCH"]) {
        const res = await send(`https://${host}${path}`, { method, body, headers });
        expect(res.status).toBe(200);
        const echo = (await res.json()) as { bodyBytes: number; bodySha256: string };
        expect(echo).toMatchObject({ bodyBytes: size, bodySha256: digest });
      }
      const seen = await received(path);
      expect(seen.map((r) => [r.method, r.bodyBytes, r.bodySha256])).toEqual(
        ["POST", "PUT", "PATCH"].map((method) => [method, size, digest]),
      );
    }
  });
});
