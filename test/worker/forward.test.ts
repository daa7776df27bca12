import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { corsHeaders, exampleHost, firstMessage, putPolicy, received, release, send, uniquePath } from "./helpers.js";

const APP = "https://app.example.com";

function get(host: string, path: string, headers: Record<string, string> = {}, init: RequestInit = {}): Promise<Response> {
  return send(`https://${host}${path}`, { ...init, headers });
}

describe("forwarding", () => {
  it("forwards an allowed request with its path and query and stamps the answer", async () => {
    const host = await exampleHost();
    const path = uniquePath();
    const res = await get(host, `${path}?q=1&r=two`, { Origin: APP, "X-Custom": "kept" });
    expect(res.status).toBe(200);
    expect(corsHeaders(res)).toEqual({
      "access-control-allow-origin": APP,
      "access-control-allow-credentials": "true",
      "access-control-expose-headers": "X-Request-Id",
      vary: "Origin",
    });
    const [seen] = await received(path);
    expect(seen?.url).toBe(`${path}?q=1&r=two`);
    expect(seen?.headers.origin).toBe(APP);
    expect(seen?.headers["x-custom"]).toBe("kept");
  });

  it("forwards a refused origin's request but adds no CORS headers", async () => {
    const host = await exampleHost();
    const path = uniquePath();
    const res = await get(host, path, { Origin: "https://evil-example.org" });
    expect(res.status).toBe(200);
    expect(corsHeaders(res)).toEqual({ vary: "Origin" });
    expect(await received(path)).toHaveLength(1);
  });

  it("adds no CORS headers to a request without Origin, but still varies on Origin", async () => {
    const host = await exampleHost();
    const res = await get(host, uniquePath());
    expect(corsHeaders(res)).toEqual({ vary: "Origin" });
  });

  it("adds no CORS headers to a same-origin request", async () => {
    const host = await exampleHost();
    await putPolicy(host, { origins: [`https://${host}`] });
    const res = await get(host, uniquePath(), { Origin: `https://${host}` });
    expect(res.status).toBe(200);
    expect(corsHeaders(res)).toEqual({ vary: "Origin" });
  });

  it("removes every Access-Control-* header the origin sent", async () => {
    const host = await exampleHost();
    const leak = [
      "set=Access-Control-Allow-Origin:*",
      "set=Access-Control-Allow-Credentials:true",
      "set=Access-Control-Expose-Headers:X-Secret",
      "set=Access-Control-Allow-Methods:*",
      "set=Access-Control-Max-Age:99999",
      "set=X-Secret:s3cret",
    ].join("&");
    const allowed = await get(host, `${uniquePath()}?${leak}`, { Origin: "https://a.example.org" });
    expect(corsHeaders(allowed)).toEqual({
      "access-control-allow-origin": "https://a.example.org",
      "access-control-allow-credentials": "true",
      "access-control-expose-headers": "X-Request-Id",
      vary: "Origin",
    });
    expect(allowed.headers.get("X-Secret")).toBe("s3cret");
    for (const headers of [{ Origin: "https://evil.com" }, {}] as Record<string, string>[]) {
      const res = await get(host, `${uniquePath()}?${leak}`, headers);
      expect(corsHeaders(res)).toEqual({ vary: "Origin" });
    }
  });

  it.each([
    ["no Vary", "", "Origin"],
    ["another token", "&set=Vary:Accept-Encoding", "Accept-Encoding, Origin"],
    ["Origin already", "&set=Vary:origin", "origin"],
    ["Origin among others", "&set=Vary:Accept-Encoding, Origin", "Accept-Encoding, Origin"],
    ["*", "&set=Vary:*", "*"],
  ])("merges Vary with the origin's when it sends %s", async (_, query, expected) => {
    const host = await exampleHost();
    for (const headers of [{ Origin: APP }, { Origin: "https://evil.com" }, {}] as Record<string, string>[]) {
      const res = await get(host, `${uniquePath()}?x=1${query}`, headers);
      expect(res.headers.get("Vary")).toBe(expected);
    }
  });

  it("never copies the request's Vary into the answer", async () => {
    const host = await exampleHost();
    const res = await get(host, uniquePath(), { Origin: APP, Vary: "Cookie, X-Injected" });
    expect(res.headers.get("Vary")).toBe("Origin");
  });

  it("stamps a public route with * and adds no Vary: Origin", async () => {
    const host = await exampleHost();
    const res = await get(host, "/public/items?set=Vary:Accept-Encoding", { Origin: "https://anyone.test" });
    expect(corsHeaders(res)).toEqual({
      "access-control-allow-origin": "*",
      "access-control-expose-headers": "X-Request-Id",
      vary: "Accept-Encoding",
    });
    const noOrigin = await get(host, "/public/items");
    expect(noOrigin.headers.get("Vary")).toBeNull();
  });

  it.each([404, 500, 503])("stamps an allowed origin's %i answer like any other", async (status) => {
    const host = await exampleHost();
    const res = await get(host, `${uniquePath()}?status=${status}`, { Origin: APP });
    expect(res.status).toBe(status);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe(APP);
  });

  it("returns redirects as the origin sent them, without following", async () => {
    const host = await exampleHost();
    const path = uniquePath();
    const res = await get(host, `${path}?redirect=/elsewhere`, { Origin: APP }, { redirect: "manual" });
    expect(res.status).toBe(302);
    expect(res.headers.get("Location")).toBe("/elsewhere");
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe(APP);
    expect(await received(path)).toHaveLength(1);
  });

  it("keeps every Set-Cookie the origin sent", async () => {
    const host = await exampleHost();
    const res = await get(host, `${uniquePath()}?set=Set-Cookie:a=1; Path=/&set=Set-Cookie:b=2; Secure`, { Origin: APP });
    expect(res.headers.getAll("Set-Cookie")).toEqual(["a=1; Path=/", "b=2; Secure"]);
  });

  it("answers 502 with CORS headers for an allowed origin when the origin is unreachable", async () => {
    const host = await exampleHost();
    const down = { ORIGIN_URL: "http://127.0.0.1:9" };
    const allowed = await send(`https://${host}/x`, { headers: { Origin: APP } }, down);
    expect(allowed.status).toBe(502);
    expect(allowed.headers.get("Access-Control-Allow-Origin")).toBe(APP);
    expect(allowed.headers.get("Access-Control-Allow-Credentials")).toBe("true");
    expect(await allowed.json()).toMatchObject({ error: "bad gateway" });
    const refused = await send(`https://${host}/x`, { headers: { Origin: "https://evil.com" } }, down);
    expect(refused.status).toBe(502);
    expect(refused.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  it("streams a large request body to the origin whole", async () => {
    const host = await exampleHost();
    const path = uniquePath();
    const size = 8 * 1024 * 1024;
    const bytes = new Uint8Array(size).map((_, i) => (i * 7) % 256);
    const body = new ReadableStream({
      start(controller) {
        for (let offset = 0; offset < size; offset += 100_000) controller.enqueue(bytes.slice(offset, offset + 100_000));
        controller.close();
      },
    });
    const res = await send(`https://${host}${path}`, { method: "POST", body, headers: { Origin: APP } });
    expect(res.status).toBe(200);
    const digest = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
    const [seen] = await received(path);
    expect(seen?.bodyBytes).toBe(size);
    expect(seen?.bodySha256).toBe(digest);
  });

  it("streams the response: the first bytes arrive before the origin has sent the rest", async () => {
    const host = await exampleHost();
    const id = crypto.randomUUID();
    const total = 4 * 1024 * 1024;
    const res = await get(host, `${uniquePath()}?bytes=${total}&hold=${id}`, { Origin: APP });
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe(APP);
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(first.value?.byteLength).toBeGreaterThan(0);
    // The origin sends the rest only now: a buffering edge would never have answered.
    await release(id);
    let count = first.value!.byteLength;
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) count += chunk.value.byteLength;
    expect(count).toBe(total);
  });

  it("passes a WebSocket upgrade through untouched", async () => {
    const host = await exampleHost();
    const path = uniquePath();
    const res = await exports.default.fetch(`https://${host}${path}`, { headers: { Upgrade: "websocket", Origin: APP } });
    expect(res.status).toBe(101);
    expect(await firstMessage(res)).toBe("hello");
    const [seen] = await received(path);
    expect(seen?.headers.upgrade).toBe("websocket");
  });

  it("forwards to the request URL itself when ORIGIN_URL is empty", async () => {
    // Without ORIGIN_URL the request goes to its own URL: here the test origin, addressed directly.
    await putPolicy(new URL(env.ORIGIN_URL).hostname, { origins: [APP] });
    const path = uniquePath();
    const res = await send(`${env.ORIGIN_URL}${path}`, { headers: { Origin: APP } }, { ORIGIN_URL: "" });
    expect(res.status).toBe(200);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe(APP);
    expect(await received(path)).toHaveLength(1);
  });

  it("joins a base path in ORIGIN_URL with the request's path", async () => {
    const host = await exampleHost();
    const path = uniquePath();
    await send(`https://${host}/inner?a=1`, { headers: { Origin: APP } }, { ORIGIN_URL: `${env.ORIGIN_URL}${path}/` });
    expect((await received(path)).map((r) => r.url)).toEqual([`${path}/inner?a=1`]);
  });
});
