/**
 * The edge in a real browser: Chromium is the judge of whether a page's script
 * may read an answer. Each scenario has its own hostname, so its own policy key
 * in KV; every *.edge.test and *.elsewhere.test name resolves to 127.0.0.1.
 *
 * The listed page, app.edge.test, is cross-origin but same-site with the edge
 * (*.edge.test), so a SameSite=Lax cookie rides on its credentialed fetch over
 * plain http. www.elsewhere.test is cross-site and listed nowhere.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, onTestFinished, test } from "vitest";
import { header, launchChromium, Tab } from "./browser.js";
import { freePort, putPolicy, seedPolicies, sleep, startEdge, type Edge } from "./edge.js";
import { startOrigin, type Origin } from "./origin.js";
import { startPageServer, type PageServer, type ProbeResult } from "./pages.js";

/** Short, so that the policy-change scenario waits seconds, not half a minute. */
const POLICY_TTL_SECONDS = 2;

let dir: string;
let origin: Origin;
let pages: PageServer[];
let edge: Edge;
let deadEdge: Edge;
let browser: Browser;
/** The page origins: APP is listed in the policies, OTHER nowhere. */
let APP: string;
let OTHER: string;

/** The edge's URL for a scenario's host. */
const at = (host: string, path: string, on: Edge = edge) => `http://${host}.edge.test:${on.port}${path}`;

function policies(app: string): Record<string, unknown> {
  const listed = { origins: [app] };
  return {
    "simple.edge.test": listed,
    "creds.edge.test": { origins: [app], credentials: true },
    "put.edge.test": { origins: [app], methods: ["GET", "PUT"], allowHeaders: ["Content-Type", "X-Client"] },
    "anyheader.edge.test": { origins: [app], methods: ["GET", "PUT"], allowHeaders: ["*"] },
    "expose.edge.test": { origins: [app], exposeHeaders: ["X-Request-Id"] },
    "public.edge.test": {
      origins: [app],
      credentials: true,
      routes: [{ path: "/public/*", origins: "*", credentials: false, methods: ["GET"] }],
    },
    "sandbox.edge.test": listed,
    "leak.edge.test": listed,
    "errors.edge.test": listed,
    "down.edge.test": listed,
    "redirect.edge.test": listed,
    "ttl.edge.test": { origins: [] },
    "maxage.edge.test": { origins: [app], methods: ["PUT"], allowHeaders: ["X-Client"], maxAge: 600 },
    "nomaxage.edge.test": { origins: [app], methods: ["PUT"], allowHeaders: ["X-Client"], maxAge: 0 },
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "edge-cors-e2e-"));
  const launching = launchChromium();
  launching.catch(() => {}); // Reported below, once the servers are up.
  origin = await startOrigin();
  pages = [await startPageServer(), await startPageServer()];
  APP = `http://app.edge.test:${pages[0]!.port}`;
  OTHER = `http://www.elsewhere.test:${pages[1]!.port}`;
  await seedPolicies(dir, policies(APP));
  // A second edge forwards to a port nobody listens on: the unreachable origin.
  const nobody = await freePort();
  // Each is kept as soon as it is up, so that afterAll stops it even if another failed to start.
  const started = await Promise.allSettled([
    startEdge({ persistTo: dir, originUrl: `http://127.0.0.1:${origin.port}`, policyTtlSeconds: POLICY_TTL_SECONDS }).then((e) => (edge = e)),
    startEdge({ persistTo: dir, originUrl: `http://127.0.0.1:${nobody}`, policyTtlSeconds: POLICY_TTL_SECONDS }).then((e) => (deadEdge = e)),
    launching.then((b) => (browser = b)),
  ]);
  for (const outcome of started) if (outcome.status === "rejected") throw outcome.reason;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all([edge?.stop(), deadEdge?.stop(), origin?.close(), ...(pages ?? []).map((p) => p.close())]);
  if (dir) await rm(dir, { recursive: true, force: true });
}, 30_000);

async function openTab(pageOrigin: string, path = "/"): Promise<Tab> {
  const tab = await Tab.open(browser, `${pageOrigin}${path}`);
  onTestFinished(() => tab.close());
  return tab;
}

/** Narrows a probe to a readable answer, or fails with what the script got instead. */
function readable(result: ProbeResult): Extract<ProbeResult, { ok: true }> {
  if (!result.ok) throw new Error(`the page's fetch failed: ${result.error}`);
  return result;
}

function refused(result: ProbeResult): void {
  expect(result).toEqual({ ok: false, error: "TypeError: Failed to fetch" });
}

const echo = (result: ProbeResult) => JSON.parse(readable(result).body) as { method: string; origin: string | null; cookie: string | null; body: string };

describe("edge-cors in Chromium", () => {
  test("a simple GET from a listed origin is readable; from an unlisted one it reaches the origin but stays hidden", async () => {
    const app = await openTab(APP);
    const allowed = readable(await app.probe(at("simple", "/simple/allowed")));
    expect(allowed.status).toBe(200);
    expect(echo(allowed).origin).toBe(APP);
    expect(header(app.sent("/simple/allowed")[0], "Access-Control-Allow-Origin")).toBe(APP);

    const other = await openTab(OTHER);
    refused(await other.probe(at("simple", "/simple/refused")));
    expect(other.corsError("/simple/refused")).toBe("MissingAllowOriginHeader");
    expect(other.console.join("\n")).toContain("has been blocked by CORS policy");
    // CORS hides the answer; it does not stop a simple request.
    expect(origin.received("/simple/refused").map((r) => r.origin)).toEqual([OTHER]);
  });

  test("a credentialed fetch carries the cookie the origin set back to the origin", async () => {
    const app = await openTab(APP);
    const login = readable(await app.probe(at("creds", "/creds/login"), { method: "POST", credentials: "include" }));
    const { sid } = JSON.parse(login.body) as { sid: string };
    expect(sid).toMatch(/^[0-9a-f-]{36}$/);
    expect(header(app.sent("/creds/login")[0], "Access-Control-Allow-Credentials")).toBe("true");

    const me = readable(await app.probe(at("creds", "/creds/me"), { credentials: "include" }));
    expect(echo(me).cookie).toBe(`sid=${sid}`);
    expect(origin.received("/creds/me").map((r) => r.cookie)).toEqual([`sid=${sid}`]);

    // Without credentials the cookie stays home.
    expect(echo(await app.probe(at("creds", "/creds/anonymous"))).cookie).toBeNull();

    const other = await openTab(OTHER);
    refused(await other.probe(at("creds", "/creds/other"), { credentials: "include" }));
  });

  test("a preflighted PUT with JSON and a custom header is answered at the edge, then forwarded", async () => {
    const app = await openTab(APP);
    const body = JSON.stringify({ name: "widget", size: 3 });
    const result = readable(
      await app.probe(at("put", "/put/item"), { method: "PUT", headers: { "Content-Type": "application/json", "X-Client": "e2e" }, body }),
    );
    expect(result.status).toBe(200);
    const [preflight] = app.preflights("/put/item");
    expect(preflight?.status).toBe(204);
    expect(header(preflight, "Access-Control-Allow-Methods")).toContain("PUT");
    const received = origin.received("/put/item");
    expect(received.map((r) => r.method)).toEqual(["PUT"]);
    expect(received[0]!.body).toBe(body);
    expect(received[0]!.headers["x-client"]).toBe("e2e");
    expect(received[0]!.headers["content-type"]).toBe("application/json");
  });

  test("a method the policy does not list is refused before it reaches the origin", async () => {
    const app = await openTab(APP);
    refused(await app.probe(at("put", "/put/delete"), { method: "DELETE" }));
    const [preflight] = app.preflights("/put/delete");
    expect(preflight?.status).toBe(403);
    expect(app.corsError("/put/delete", "DELETE")).toBe("PreflightMissingAllowOriginHeader");
    expect(origin.received("/put/delete")).toEqual([]);
  });

  test("a request header the policy does not list is refused, and * never covers Authorization", async () => {
    const app = await openTab(APP);
    refused(await app.probe(at("put", "/put/secret"), { method: "PUT", headers: { "X-Secret": "1" } }));
    expect(app.preflights("/put/secret")[0]?.status).toBe(403);
    expect(origin.received("/put/secret")).toEqual([]);

    expect(readable(await app.probe(at("anyheader", "/any/custom"), { method: "PUT", headers: { "X-Anything": "1" } })).status).toBe(200);
    refused(await app.probe(at("anyheader", "/any/auth"), { method: "PUT", headers: { Authorization: "Bearer t" } }));
    expect(app.preflights("/any/auth")[0]?.status).toBe(403);
    expect(origin.received("/any/auth")).toEqual([]);
  });

  test("an exposed header is readable and an unexposed one is not, though both arrive", async () => {
    const app = await openTab(APP);
    const result = readable(await app.probe(at("expose", "/expose/x?set=X-Request-Id:req-42&set=X-Internal:hidden")));
    expect(result.readable["x-request-id"]).toBe("req-42");
    expect(result.readable).not.toHaveProperty("x-internal");
    expect(header(app.sent("/expose/x")[0], "X-Internal")).toBe("hidden");
  });

  test("a public route serves an unlisted origin without credentials and refuses it with credentials", async () => {
    const other = await openTab(OTHER);
    const open = readable(await other.probe(at("public", "/public/data")));
    expect(open.status).toBe(200);
    expect(header(other.sent("/public/data")[0], "Access-Control-Allow-Origin")).toBe("*");

    refused(await other.probe(at("public", "/public/mine"), { credentials: "include" }));
    expect(other.corsError("/public/mine")).toBe("WildcardOriginNotAllowed");

    // Off the public route the top-level list applies.
    refused(await other.probe(at("public", "/private/data")));
  });

  test("a sandboxed iframe (origin null) is refused", async () => {
    const app = await openTab(APP, "/sandboxed");
    const frame = await app.frame("sandboxed");
    expect(await frame.evaluate(() => self.origin)).toBe("null");
    refused(await app.probe(at("sandbox", "/sandbox/x"), {}, frame));
    expect(origin.received("/sandbox/x").map((r) => r.origin)).toEqual(["null"]);
    expect(app.console.join("\n")).toContain("from origin 'null' has been blocked by CORS policy");
  });

  test("the origin's own CORS headers never reach the browser", async () => {
    const theirs = "/leak/x?set=Access-Control-Allow-Origin:*&set=Access-Control-Allow-Credentials:true&set=Access-Control-Expose-Headers:X-Secret&set=X-Secret:s3cret";
    const other = await openTab(OTHER);
    refused(await other.probe(at("leak", theirs)));
    expect(header(other.sent("/leak/x")[0], "Access-Control-Allow-Origin")).toBeUndefined();

    const app = await openTab(APP);
    const result = readable(await app.probe(at("leak", theirs)));
    expect(result.readable).not.toHaveProperty("x-secret");
    const wire = app.sent("/leak/x")[0];
    expect(header(wire, "Access-Control-Allow-Origin")).toBe(APP);
    expect(header(wire, "Access-Control-Allow-Credentials")).toBeUndefined();
    expect(header(wire, "Access-Control-Expose-Headers")).toBeUndefined();
  });

  test("an origin's 500 is readable by an allowed page", async () => {
    const app = await openTab(APP);
    const result = readable(await app.probe(at("errors", "/errors/boom?status=500")));
    expect(result.status).toBe(500);
    expect(echo(result).method).toBe("GET");
  });

  test("an unreachable origin gives a 502 the allowed page can read", async () => {
    const app = await openTab(APP);
    const result = readable(await app.probe(at("down", "/down/x", deadEdge)));
    expect(result.status).toBe(502);
    expect(JSON.parse(result.body)).toMatchObject({ error: "bad gateway" });
    const other = await openTab(OTHER);
    refused(await other.probe(at("down", "/down/x", deadEdge)));
  });

  test("a redirect is passed to the browser, which follows it with CORS", async () => {
    const app = await openTab(APP);
    const result = readable(await app.probe(at("redirect", "/redirect/hop?redirect=/redirect/landing")));
    expect(result).toMatchObject({ status: 200, redirected: true, url: at("redirect", "/redirect/landing") });
    expect(origin.received("/redirect/").map((r) => [r.path, r.origin])).toEqual([
      ["/redirect/hop?redirect=/redirect/landing", APP],
      ["/redirect/landing", APP],
    ]);
    // Redirected to another origin, the request's origin becomes null, which no policy allows.
    refused(await app.probe(at("redirect", `/redirect/away?redirect=${encodeURIComponent(at("sandbox", "/sandbox/landing"))}`)));
    expect(origin.received("/sandbox/landing").map((r) => r.origin)).toEqual(["null"]);
  });

  test("a policy change in KV takes effect in the browser within the TTL", async () => {
    const app = await openTab(APP);
    refused(await app.probe(at("ttl", "/ttl/before")));
    await putPolicy(dir, "ttl.edge.test", { origins: [APP] });
    const written = Date.now();
    // The edge answers from memory until the TTL is up, then reloads behind the answer.
    refused(await app.probe(at("ttl", "/ttl/stale")));
    let result: ProbeResult;
    do {
      await sleep(250);
      result = await app.probe(at("ttl", "/ttl/after"));
    } while (!result.ok && Date.now() - written < (POLICY_TTL_SECONDS + 10) * 1000);
    expect(readable(result).status).toBe(200);
    expect(Date.now() - written).toBeLessThan((POLICY_TTL_SECONDS + 2) * 1000);
  });

  test("the browser caches a preflight for Access-Control-Max-Age, and not at all for 0", async () => {
    const app = await openTab(APP);
    const put = (host: string, n: number) => app.probe(at(host, `/${host}/item`), { method: "PUT", headers: { "X-Client": String(n) } });
    for (let n = 0; n < 3; n++) expect(readable(await put("maxage", n)).status).toBe(200);
    for (let n = 0; n < 3; n++) expect(readable(await put("nomaxage", n)).status).toBe(200);

    expect(app.preflights("/maxage/item").length).toBe(1);
    expect(app.preflights("/nomaxage/item").length).toBe(3);
    // Preflights end at the edge: count the ones that reached it in wrangler's request log.
    expect(await edgeRequests("PUT", "/nomaxage/item", 3)).toBe(3);
    expect(await edgeRequests("OPTIONS", "/maxage/item")).toBe(1);
    expect(await edgeRequests("OPTIONS", "/nomaxage/item")).toBe(3);
    expect(origin.received("/maxage/item").map((r) => r.method)).toEqual(["PUT", "PUT", "PUT"]);
  });
});

/**
 * How many `METHOD path` requests wrangler dev logged, waiting up to 5 s for
 * `atLeast` of them: its log trails the answers a little.
 */
async function edgeRequests(method: string, path: string, atLeast = 0): Promise<number> {
  const count = () => edge.log().filter((line) => line.includes(`] ${method} ${path} `)).length;
  const deadline = Date.now() + 5000;
  while (count() < atLeast && Date.now() < deadline) await sleep(100);
  return count();
}
