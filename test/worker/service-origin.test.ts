/**
 * An origin that is a Worker, reached through the ORIGIN service binding: a
 * second Worker (test/worker/origin-worker.js) runs beside the edge in workerd.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { corsHeaders, exampleHost, received, send, uniquePath } from "./helpers.js";

const APP = "https://app.example.com";
const bindings = env as unknown as { ORIGIN_WORKER: Fetcher; DEAD_SERVICE: Fetcher };
/** The edge with ORIGIN bound to the Worker origin. ORIGIN_URL stays set: the binding wins. */
const viaWorker = { ORIGIN: bindings.ORIGIN_WORKER };

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  redirect: string;
}

async function seenByWorker(prefix: string): Promise<Seen[]> {
  const res = await bindings.ORIGIN_WORKER.fetch(`http://origin-worker/__log?prefix=${encodeURIComponent(prefix)}`);
  return res.json();
}

let warnings: string[];
beforeEach(() => {
  warnings = [];
  vi.spyOn(console, "warn").mockImplementation((line: string) => void warnings.push(line));
});
afterEach(() => vi.restoreAllMocks());

describe("forwarding through the ORIGIN service binding", () => {
  it("sends the method, path, query, headers and body to the Worker origin, and nothing over the network", async () => {
    const host = await exampleHost();
    const path = uniquePath();
    const res = await send(
      `https://${host}${path}?q=1`,
      { method: "PUT", body: "hello worker", headers: { Origin: APP, "Content-Type": "text/plain", "X-Custom": "kept" } },
      viaWorker,
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ from: "origin-worker", method: "PUT", path });
    // Stamped like any answer: the Worker origin's own * is gone.
    expect(corsHeaders(res)).toEqual({
      "access-control-allow-origin": APP,
      "access-control-allow-credentials": "true",
      "access-control-expose-headers": "X-Request-Id",
      vary: "Origin",
    });
    expect(res.headers.get("X-Origin-Worker")).toBe("1");
    const [seen, ...more] = await seenByWorker(path);
    expect(more).toEqual([]);
    expect(seen).toMatchObject({ method: "PUT", url: `https://${host}${path}?q=1`, body: "hello worker" });
    expect(seen?.headers).toMatchObject({ origin: APP, "content-type": "text/plain", "x-custom": "kept" });
    expect(await received(path)).toEqual([]);
  });

  it("returns a redirect as the Worker origin sent it, without following it", async () => {
    const host = await exampleHost();
    const path = uniquePath();
    const res = await send(`https://${host}${path}?redirect=${encodeURIComponent(`${path}/next`)}`, { headers: { Origin: APP } }, viaWorker);
    expect(res.status).toBe(302);
    expect(res.headers.get("Location")).toBe(`${path}/next`);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe(APP);
    // Only the first request: a followed redirect would show /next here too.
    expect((await seenByWorker(path)).map((r) => new URL(r.url).pathname)).toEqual([path]);
  });

  it("streams the answer: the first bytes arrive while the Worker origin still holds back the rest", async () => {
    const host = await exampleHost();
    const started = Date.now();
    // The origin sends the rest after 20 s: a buffering edge would time this test out.
    const res = await send(`https://${host}${uniquePath()}?hold=20000`, { headers: { Origin: APP } }, viaWorker);
    expect(res.status).toBe(200);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe(APP);
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(first.value?.byteLength).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(3000);
    await reader.cancel();
  });

  it("answers 502 with CORS headers for an allowed origin when the Worker origin throws, and logs it", async () => {
    const host = await exampleHost();
    const path = uniquePath();
    const allowed = await send(`https://${host}${path}?throw=1`, { headers: { Origin: APP } }, viaWorker);
    expect(allowed.status).toBe(502);
    expect(allowed.headers.get("Access-Control-Allow-Origin")).toBe(APP);
    expect(allowed.headers.get("Access-Control-Allow-Credentials")).toBe("true");
    expect(await allowed.json()).toEqual({ error: "bad gateway", reason: "origin service failed" });
    expect(await seenByWorker(path)).toHaveLength(1);
    const refused = await send(`https://${host}${path}?throw=1`, { headers: { Origin: "https://evil.com" } }, viaWorker);
    expect(refused.status).toBe(502);
    expect(refused.headers.get("Access-Control-Allow-Origin")).toBeNull();
    const logged = warnings.map((line) => JSON.parse(line));
    expect(logged[0]).toMatchObject({ level: "warn", event: "forward-failed", reason: "origin service failed", service: "ORIGIN", url: `https://${host}${path}?throw=1` });
    expect(logged[0].error).toContain("origin worker failed on purpose");
  });

  it("answers 502 with CORS headers when the origin service is not deployed (nothing answers the binding)", async () => {
    const host = await exampleHost();
    const res = await send(`https://${host}/x`, { headers: { Origin: APP } }, { ORIGIN: bindings.DEAD_SERVICE });
    expect(res.status).toBe(502);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe(APP);
    expect(JSON.parse(warnings[0]!)).toMatchObject({ event: "forward-failed", reason: "origin service failed", service: "ORIGIN" });
  });

  it("answers 504 with CORS headers when the Worker origin sends no headers within ORIGIN_TIMEOUT_SECONDS", async () => {
    const host = await exampleHost();
    const path = uniquePath();
    const started = Date.now();
    const res = await send(`https://${host}${path}?stall=3000`, { headers: { Origin: APP } }, { ...viaWorker, ORIGIN_TIMEOUT_SECONDS: "0.3" });
    expect(res.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(2500);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe(APP);
    expect(await res.json()).toEqual({ error: "gateway timeout", reason: "origin sent no response headers in time" });
    expect(JSON.parse(warnings[0]!)).toMatchObject({ event: "forward-failed", service: "ORIGIN", timeoutMs: 300 });
  });

  it("answers 502, never 500, when ORIGIN is bound to something that is not a service", async () => {
    const host = await exampleHost();
    const res = await send(`https://${host}/x`, { headers: { Origin: APP } }, { ORIGIN: "https://api.example.com" as unknown as Fetcher });
    expect(res.status).toBe(502);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe(APP);
    expect(await res.json()).toEqual({ error: "bad gateway", reason: "ORIGIN is bound but is not a service binding" });
    expect(JSON.parse(warnings[0]!)).toMatchObject({ event: "forward-failed", fix: "bind ORIGIN under services in wrangler.toml, or use ORIGIN_URL for a URL" });
  });
});
