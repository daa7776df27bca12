/**
 * The edge in real browsers: Chromium, Firefox ESR and WebKitGTK each judge
 * whether a page's script may read an answer. Every scenario is written once
 * and run in each engine; each test's name starts with its engine.
 *
 * Each scenario has its own hostname, so its own policy key in KV. All names
 * end in .localhost, which every engine resolves to loopback by itself (WebKit
 * has no host-resolver option), and which counts as a loopback origin for the
 * validator, so credentialed plain-http origins stay allowed.
 *
 * The listed page, app.edge.localhost, is cross-origin but same-site with the
 * edge (*.edge.localhost), so a SameSite=Lax cookie rides on its credentialed
 * fetch over plain http in every engine. www.elsewhere.localhost is
 * cross-site and listed nowhere.
 *
 * What the page could read is asserted in the page (status, body, readable
 * headers, or a TypeError, never an engine's wording); what was sent is
 * counted on the servers: the origin's record and wrangler dev's request log.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, onTestFailed, onTestFinished, test } from "vitest";
import { freePort, putPolicy, seedPolicies, sleep, startEdge, type Edge } from "./edge.js";
import { engine as makeEngine, ENGINES, type Engine, type EngineName } from "./engines/engine.js";
import { startOrigin, type Origin, type Received } from "./origin.js";
import { startPageServer, type PageServer, type ProbeResult } from "./pages.js";
import { Tab } from "./tab.js";

/** Short, so that the policy-change scenario waits seconds, not half a minute. */
const POLICY_TTL_SECONDS = 2;

/** Scenario hosts under edge.localhost; each engine gets its own ttl host, since that scenario rewrites its policy. */
const SCENARIOS = ["simple", "creds", "put", "anyheader", "expose", "public", "sandbox", "leak", "errors", "down", "redirect", "maxage", "nomaxage", "cached", "form", "writes", "ws"];
const HOSTS = [
  "app.edge.localhost",
  "www.elsewhere.localhost",
  ...SCENARIOS.map((name) => `${name}.edge.localhost`),
  ...ENGINES.map((name) => `ttl-${name}.edge.localhost`),
];

let dir: string;
let origin: Origin;
let pages: PageServer[];
let edge: Edge;
let deadEdge: Edge;
/** The page origins: APP is listed in the policies, OTHER nowhere. */
let APP: string;
let OTHER: string;
/** Where the current test's lines in wrangler dev's log begin. */
let edgeLogMark = 0;

/** The edge's URL for a scenario's host. */
const at = (host: string, path: string, on: Edge = edge) => `http://${host}.edge.localhost:${on.port}${path}`;
/** The same for a WebSocket. */
const ws = (host: string, path: string) => `ws://${host}.edge.localhost:${edge.port}${path}`;

function policies(app: string): Record<string, unknown> {
  const listed = { origins: [app] };
  return {
    "simple.edge.localhost": listed,
    "creds.edge.localhost": { origins: [app], credentials: true },
    "put.edge.localhost": { origins: [app], methods: ["GET", "PUT"], allowHeaders: ["Content-Type", "X-Client"] },
    "anyheader.edge.localhost": { origins: [app], methods: ["GET", "PUT"], allowHeaders: ["*"] },
    "expose.edge.localhost": { origins: [app], exposeHeaders: ["X-Request-Id"] },
    "public.edge.localhost": {
      origins: [app],
      credentials: true,
      routes: [{ path: "/public/*", origins: "*", credentials: false, methods: ["GET"] }],
    },
    "sandbox.edge.localhost": listed,
    "leak.edge.localhost": listed,
    "errors.edge.localhost": listed,
    "down.edge.localhost": listed,
    "redirect.edge.localhost": listed,
    ...Object.fromEntries(ENGINES.map((name) => [`ttl-${name}.edge.localhost`, { origins: [] }])),
    "maxage.edge.localhost": { origins: [app], methods: ["PUT"], allowHeaders: ["X-Client"], maxAge: 600 },
    "nomaxage.edge.localhost": { origins: [app], methods: ["PUT"], allowHeaders: ["X-Client"], maxAge: 0 },
    "cached.edge.localhost": { origins: "*" },
    // A cookie-authenticated API that refuses writes from pages it does not list.
    "form.edge.localhost": { origins: [app], credentials: true, blockCrossOriginWrites: true },
    "writes.edge.localhost": { origins: [app], credentials: true, blockCrossOriginWrites: true },
    "ws.edge.localhost": { origins: [app], credentials: true, blockCrossOriginWrites: true },
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "edge-cors-e2e-"));
  origin = await startOrigin();
  pages = [await startPageServer(), await startPageServer()];
  APP = `http://app.edge.localhost:${pages[0]!.port}`;
  OTHER = `http://www.elsewhere.localhost:${pages[1]!.port}`;
  await seedPolicies(dir, policies(APP));
  // A second edge forwards to a port nobody listens on: the unreachable origin.
  const nobody = await freePort();
  // Each is kept as soon as it is up, so that afterAll stops it even if another failed to start.
  const started = await Promise.allSettled([
    startEdge({ persistTo: dir, originUrl: `http://127.0.0.1:${origin.port}`, policyTtlSeconds: POLICY_TTL_SECONDS }).then((e) => (edge = e)),
    startEdge({ persistTo: dir, originUrl: `http://127.0.0.1:${nobody}`, policyTtlSeconds: POLICY_TTL_SECONDS }).then((e) => (deadEdge = e)),
  ]);
  for (const outcome of started) if (outcome.status === "rejected") throw outcome.reason;
}, 120_000);

afterAll(async () => {
  await Promise.all([edge?.stop(), deadEdge?.stop(), origin?.close(), ...(pages ?? []).map((p) => p.close())]);
  if (dir) await rm(dir, { recursive: true, force: true });
}, 30_000);

// The engines share the servers and run one after the other: each test counts only its own requests.
beforeEach(async () => {
  origin.forget();
  edgeLogMark = edge.log().length;
});

/** Narrows a probe to a readable answer, or fails with what the script got instead. */
function readable(result: ProbeResult): Extract<ProbeResult, { ok: true }> {
  if (!result.ok) throw new Error(`the page's fetch failed: ${result.error}`);
  return result;
}

/** The page's fetch rejected with a TypeError: the way every engine refuses, whatever its wording. */
function refused(result: ProbeResult): void {
  expect(result.ok, `expected a refusal, the page read ${JSON.stringify(result)}`).toBe(false);
  if (!result.ok) expect(result.error).toMatch(/^TypeError: /);
}

/** The headers that decide a write, as a request carried them. */
interface WriteHeaders {
  fetchSite: string | null;
  origin: string | null;
}

/** What the origin received: `Sec-Fetch-Site` and `Origin`. */
const sentToOrigin = (r: Received): WriteHeaders => ({ fetchSite: (r.headers["sec-fetch-site"] as string | undefined) ?? null, origin: r.origin });

const echo = (result: ProbeResult) => JSON.parse(readable(result).body) as { method: string; origin: string | null; cookie: string | null; body: string };

describe.each(ENGINES)("edge-cors in %s", (name: EngineName) => {
  let browser: Engine;

  beforeAll(async () => {
    browser = await makeEngine(name);
    await browser.start({ hosts: HOSTS });
  }, 90_000);

  afterAll(async () => {
    await browser?.stop();
  }, 30_000);

  /** A fresh page (fresh context) at `path` of `pageOrigin`, closed after the test; on failure it reports what it saw. */
  async function openTab(pageOrigin: string, path = "/"): Promise<Tab> {
    const url = `${pageOrigin}${path}`;
    const tab = new Tab(name, url, await browser.open(url));
    onTestFailed(async () => console.error(await tab.report()));
    onTestFinished(() => tab.close());
    return tab;
  }

  /** Every test's name carries its engine, and a failure prints what the servers saw. */
  function scenario(title: string, body: () => Promise<void>, timeout?: number): void {
    test(
      `[${name}] ${title}`,
      async () => {
        onTestFailed(() => console.error(serverView(name)));
        await body();
      },
      timeout,
    );
  }

  scenario("a simple GET from a listed origin is readable; from an unlisted one it reaches the origin but stays hidden", async () => {
    const app = await openTab(APP);
    const allowed = readable(await app.probe(at("simple", "/simple/allowed")));
    expect(allowed.status).toBe(200);
    expect(echo(allowed).origin).toBe(APP);

    const other = await openTab(OTHER);
    refused(await other.probe(at("simple", "/simple/refused")));
    // CORS hides the answer; it does not stop a simple request.
    expect(origin.received("/simple/refused").map((r) => r.origin)).toEqual([OTHER]);
  });

  scenario("a credentialed fetch carries the cookie the origin set back to the origin", async () => {
    const app = await openTab(APP);
    // Readable with credentials only if the edge said Access-Control-Allow-Credentials: true.
    const login = readable(await app.probe(at("creds", "/creds/login"), { method: "POST", credentials: "include" }));
    const { sid } = JSON.parse(login.body) as { sid: string };
    expect(sid).toMatch(/^[0-9a-f-]{36}$/);

    const me = readable(await app.probe(at("creds", "/creds/me"), { credentials: "include" }));
    expect(echo(me).cookie).toBe(`sid=${sid}`);
    expect(origin.received("/creds/me").map((r) => r.cookie)).toEqual([`sid=${sid}`]);

    // Without credentials the cookie stays home.
    expect(echo(await app.probe(at("creds", "/creds/anonymous"))).cookie).toBeNull();

    const other = await openTab(OTHER);
    refused(await other.probe(at("creds", "/creds/other"), { credentials: "include" }));
  });

  scenario("a preflighted PUT with JSON and a custom header is answered at the edge, then forwarded", async () => {
    const app = await openTab(APP);
    const body = JSON.stringify({ name: "widget", size: 3 });
    const result = readable(
      await app.probe(at("put", "/put/item"), { method: "PUT", headers: { "Content-Type": "application/json", "X-Client": "e2e" }, body }),
    );
    expect(result.status).toBe(200);
    expect(await edgeAnswered("OPTIONS", "/put/item", 1)).toEqual([204]);
    const received = origin.received("/put/item");
    expect(received.map((r) => r.method)).toEqual(["PUT"]);
    expect(received[0]!.body).toBe(body);
    expect(received[0]!.headers["x-client"]).toBe("e2e");
    expect(received[0]!.headers["content-type"]).toBe("application/json");
  });

  scenario("a method the policy does not list is refused before it reaches the origin", async () => {
    const app = await openTab(APP);
    refused(await app.probe(at("put", "/put/delete"), { method: "DELETE" }));
    expect(await edgeAnswered("OPTIONS", "/put/delete", 1)).toEqual([403]);
    expect(origin.received("/put/delete")).toEqual([]);
  });

  scenario("a request header the policy does not list is refused, and * never covers Authorization", async () => {
    const app = await openTab(APP);
    refused(await app.probe(at("put", "/put/secret"), { method: "PUT", headers: { "X-Secret": "1" } }));
    expect(await edgeAnswered("OPTIONS", "/put/secret", 1)).toEqual([403]);
    expect(origin.received("/put/secret")).toEqual([]);

    expect(readable(await app.probe(at("anyheader", "/any/custom"), { method: "PUT", headers: { "X-Anything": "1" } })).status).toBe(200);
    refused(await app.probe(at("anyheader", "/any/auth"), { method: "PUT", headers: { Authorization: "Bearer t" } }));
    expect(await edgeAnswered("OPTIONS", "/any/auth", 1)).toEqual([403]);
    expect(origin.received("/any/auth")).toEqual([]);
  });

  scenario("an exposed header is readable and an unexposed one is not, though both arrive", async () => {
    const app = await openTab(APP);
    const result = readable(await app.probe(at("expose", "/expose/x?set=X-Request-Id:req-42&set=X-Internal:hidden")));
    expect(result.readable["x-request-id"]).toBe("req-42");
    expect(result.readable).not.toHaveProperty("x-internal");
    // It did arrive: the edge passes the origin's headers on, only the browser hides it.
    const direct = await fetch(at("expose", "/expose/x?set=X-Internal:hidden").replace(/[a-z]+\.edge\.localhost/, "127.0.0.1"), {
      headers: { Host: `expose.edge.localhost:${edge.port}`, Origin: APP },
    });
    expect(direct.headers.get("x-internal")).toBe("hidden");
  });

  scenario("a public route serves an unlisted origin without credentials and refuses it with credentials", async () => {
    const other = await openTab(OTHER);
    const open = readable(await other.probe(at("public", "/public/data")));
    expect(open.status).toBe(200);
    // Access-Control-Allow-Origin: * is never accepted with credentials.
    refused(await other.probe(at("public", "/public/mine"), { credentials: "include" }));
    // Off the public route the top-level list applies.
    refused(await other.probe(at("public", "/private/data")));
  });

  scenario("a sandboxed iframe (origin null) is refused", async () => {
    const app = await openTab(APP, "/sandboxed");
    const { origin: frameOrigin, result } = await app.probeInFrame(at("sandbox", "/sandbox/x"));
    expect(frameOrigin).toBe("null");
    refused(result);
    expect(origin.received("/sandbox/x").map((r) => r.origin)).toEqual(["null"]);
  });

  scenario("the origin's own CORS headers never reach the browser", async () => {
    const theirs = "/leak/x?set=Access-Control-Allow-Origin:*&set=Access-Control-Allow-Credentials:true&set=Access-Control-Expose-Headers:X-Secret&set=X-Secret:s3cret";
    // The origin's "*" would let an unlisted page read it.
    const other = await openTab(OTHER);
    refused(await other.probe(at("leak", theirs)));

    const app = await openTab(APP);
    const result = readable(await app.probe(at("leak", theirs)));
    // The origin's Expose-Headers would make X-Secret readable.
    expect(result.readable).not.toHaveProperty("x-secret");
    // The origin's Allow-Credentials would let a credentialed fetch read it.
    refused(await app.probe(at("leak", theirs), { credentials: "include" }));
  });

  scenario("an origin's 500 is readable by an allowed page", async () => {
    const app = await openTab(APP);
    const result = readable(await app.probe(at("errors", "/errors/boom?status=500")));
    expect(result.status).toBe(500);
    expect(echo(result).method).toBe("GET");
  });

  scenario("an unreachable origin gives a 502 the allowed page can read", async () => {
    const app = await openTab(APP);
    const result = readable(await app.probe(at("down", "/down/x", deadEdge)));
    expect(result.status).toBe(502);
    expect(JSON.parse(result.body)).toMatchObject({ error: "bad gateway" });
    const other = await openTab(OTHER);
    refused(await other.probe(at("down", "/down/x", deadEdge)));
  });

  scenario("a redirect is passed to the browser, which follows it with CORS", async () => {
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

  scenario("a policy change in KV takes effect in the browser within the TTL", async () => {
    const host = `ttl-${name}`;
    const app = await openTab(APP);
    refused(await app.probe(at(host, "/ttl/before")));
    await putPolicy(dir, `${host}.edge.localhost`, { origins: [APP] });
    const written = Date.now();
    // The edge answers from memory until the TTL is up, then reloads behind the answer.
    refused(await app.probe(at(host, "/ttl/stale")));
    let result: ProbeResult;
    do {
      await sleep(250);
      result = await app.probe(at(host, "/ttl/after"));
    } while (!result.ok && Date.now() - written < (POLICY_TTL_SECONDS + 10) * 1000);
    expect(readable(result).status).toBe(200);
    expect(Date.now() - written).toBeLessThan((POLICY_TTL_SECONDS + 2) * 1000);
  });

  scenario(
    "the browser caches a preflight for Access-Control-Max-Age, and not at all for 0",
    async () => {
      const app = await openTab(APP);
      const put = (host: string, path: string, n: number) => app.probe(at(host, path), { method: "PUT", headers: { "X-Client": String(n) } });
      if (name === "firefox") {
        // A fresh Firefox profile sends the first preflights again for a few
        // seconds despite Access-Control-Max-Age (a bare server shows the same):
        // repeat one request until it goes out without a new preflight.
        const deadline = Date.now() + 15_000;
        let preflights = -1;
        for (let n = 0; Date.now() < deadline; n++) {
          readable(await put("maxage", "/maxage/warm-up", n));
          // The log is in order: once this PUT is in it, so is its preflight, if any.
          await edgeAnswered("PUT", "/maxage/warm-up", n + 1);
          const now = (await edgeAnswered("OPTIONS", "/maxage/warm-up")).length;
          if (now === preflights) break;
          preflights = now;
          await sleep(250);
        }
      }
      for (let n = 0; n < 3; n++) expect(readable(await put("maxage", "/maxage/item", n)).status).toBe(200);
      for (let n = 0; n < 3; n++) expect(readable(await put("nomaxage", "/nomaxage/item", n)).status).toBe(200);

      // Preflights end at the edge: count the ones that reached it in wrangler's request log.
      expect(await edgeAnswered("PUT", "/maxage/item", 3)).toEqual([200, 200, 200]);
      expect(await edgeAnswered("PUT", "/nomaxage/item", 3)).toEqual([200, 200, 200]);
      expect(await edgeAnswered("OPTIONS", "/maxage/item", 1)).toEqual([204]);
      expect(await edgeAnswered("OPTIONS", "/nomaxage/item", 3)).toEqual([204, 204, 204]);
      expect(origin.received("/maxage/item").map((r) => r.method)).toEqual(["PUT", "PUT", "PUT"]);
    },
    40_000,
  );

  scenario("a public answer the browser cached from a no-cors load is readable by a CORS fetch of the same URL", async () => {
    // A fresh URL per engine; the origin lets browsers cache it for ten minutes.
    const url = at("cached", `/cached/${name}?set=${encodeURIComponent("Cache-Control:public, max-age=600")}`);
    const app = await openTab(APP);
    const opaque = readable(await app.probe(url, { mode: "no-cors" }));
    expect(opaque.type).toBe("opaque");
    const cors = readable(await app.probe(url));
    expect(cors.status).toBe(200);
    expect(echo(cors).method).toBe("GET");
    // A browser may answer the second fetch from its cache or ask the origin again.
    expect(origin.received(`/cached/${name}`).length).toBe(ORIGIN_HITS_AFTER_NO_CORS[name]);
  });

  // blockCrossOriginWrites: CORS hides answers, this keeps writes from pages the policy does not list off the origin.

  scenario("an HTML form posted from an unlisted cross-site page is refused at the edge; the origin never sees it", async () => {
    const other = await openTab(OTHER);
    // The answer, the edge's 403, loads in the page's frame: the page cannot read it, and needs not.
    expect(await other.postForm(at("form", "/form/other"), { amount: "100", to: "mallory" })).toEqual({ loaded: true });
    expect(await edgeAnswered("POST", "/form/other", 1)).toEqual([403]);
    const [refusal] = await edgeRefusals("/form/other", 1);
    expect(refusal).toMatchObject({ rule: "cross-origin-write", method: "POST", origin: OTHER });
    expect(refusal!.sent).toEqual({ fetchSite: SENT[name].crossSite, origin: OTHER });
    expect(origin.received("/form/")).toEqual([]);
  });

  scenario("the same HTML form posted from the listed page reaches the origin, with its body and the session cookie", async () => {
    const app = await openTab(APP);
    const { sid } = JSON.parse(readable(await app.probe(at("form", "/form/login"), { method: "POST", credentials: "include" })).body) as { sid: string };
    expect(await app.postForm(at("form", "/form/app"), { amount: "100", to: "alice" })).toEqual({ loaded: true });
    const [received] = origin.received("/form/app");
    expect(received).toMatchObject({ method: "POST", body: "amount=100&to=alice", cookie: `sid=${sid}` });
    expect(received!.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(sentToOrigin(received!)).toEqual({ fetchSite: SENT[name].sameSite, origin: APP });
    expect(await edgeRefusals("/form/")).toEqual([]);
  });

  scenario("a text/plain fetch POST from an unlisted page never reaches the origin; from the listed page it does", async () => {
    const write = { method: "POST", body: "x", headers: { "Content-Type": "text/plain" } };
    const other = await openTab(OTHER);
    // No preflight for a text/plain POST: without the field it would run on the origin, its answer hidden.
    refused(await other.probe(at("writes", "/writes/other"), write));
    expect(await edgeAnswered("POST", "/writes/other", 1)).toEqual([403]);
    expect(await edgeAnswered("OPTIONS", "/writes/other")).toEqual([]);
    const [refusal] = await edgeRefusals("/writes/other", 1);
    expect(refusal).toMatchObject({ rule: "cross-origin-write", method: "POST", origin: OTHER });
    expect(refusal!.sent).toEqual({ fetchSite: SENT[name].crossSite, origin: OTHER });
    expect(origin.received("/writes/other")).toEqual([]);

    const app = await openTab(APP);
    expect(readable(await app.probe(at("writes", "/writes/app"), write)).status).toBe(200);
    const [received] = origin.received("/writes/app");
    expect(received).toMatchObject({ method: "POST", body: "x" });
    expect(sentToOrigin(received!)).toEqual({ fetchSite: SENT[name].sameSite, origin: APP });
  });

  scenario("a WebSocket from an unlisted page fails at the edge, without opening; the origin never sees the handshake", async () => {
    const other = await openTab(OTHER);
    const socket = await other.openSocket(ws("ws", "/ws/other"));
    // Every engine: an error, then close 1006 (abnormal closure), never open.
    expect(socket).toEqual({ events: ["error", "close:1006"], message: null });
    const [refusal] = await edgeRefusals("/ws/other", 1);
    expect(refusal).toMatchObject({ rule: "cross-origin-write", method: "GET", origin: OTHER });
    expect(refusal!.reason).toMatch(/^cross-origin WebSocket handshake refused/);
    expect(refusal!.sent).toEqual({ fetchSite: SENT[name].socketCrossSite, origin: OTHER });
    expect(origin.received("/ws/")).toEqual([]);
  });

  scenario("a WebSocket from the listed page opens through the edge and gets the origin's message", async () => {
    const app = await openTab(APP);
    const socket = await app.openSocket(ws("ws", "/ws/app"));
    expect(socket).toMatchObject({ events: ["open", "message"], message: "hello" });
    const [received] = origin.received("/ws/app");
    expect(received!.method).toBe("GET");
    expect(String(received!.headers.upgrade).toLowerCase()).toBe("websocket");
    expect(sentToOrigin(received!)).toEqual({ fetchSite: SENT[name].socketSameSite, origin: APP });
    expect(await edgeRefusals("/ws/")).toEqual([]);
  });
});

/**
 * The `Sec-Fetch-Site` each engine sent to http://*.edge.localhost (null: none
 * at all), as the edge and the origin saw it: from the listed page (same-site
 * with the edge) and from the unlisted one (cross-site), for a form or fetch
 * and for a WebSocket handshake.
 */
const SENT: Record<EngineName, { sameSite: string | null; crossSite: string | null; socketSameSite: string | null; socketCrossSite: string | null }> = {
  // Chromium sends no Sec-Fetch-* on a WebSocket handshake: the edge falls back to Origin.
  chromium: { sameSite: "same-site", crossSite: "cross-site", socketSameSite: null, socketCrossSite: null },
  firefox: { sameSite: "same-site", crossSite: "cross-site", socketSameSite: "same-site", socketCrossSite: "cross-site" },
  webkit: { sameSite: "same-site", crossSite: "cross-site", socketSameSite: "same-site", socketCrossSite: "cross-site" },
};

/** How often the origin saw the cached public URL (no-cors load, then CORS fetch), as observed per engine. */
const ORIGIN_HITS_AFTER_NO_CORS: Record<EngineName, number> = {
  // Both ask again: the no-cors load went without an Origin header, the CORS fetch has one, and the edge says Vary: Origin.
  chromium: 2,
  webkit: 2,
  // Firefox answers the CORS fetch from its HTTP cache: the stored answer must already allow it.
  firefox: 1,
};

/**
 * The statuses wrangler dev logged for `METHOD path…` in this test, waiting up
 * to 5 s for `atLeast` of them: its log trails the answers the browser got.
 */
async function edgeAnswered(method: string, path: string, atLeast = 0): Promise<number[]> {
  const answered = () =>
    edge
      .log()
      .slice(edgeLogMark)
      .map((line) => new RegExp(`\\] ${method} (\\S+) (\\d{3})\\b`).exec(line))
      .filter((match): match is RegExpExecArray => match !== null && match[1]!.startsWith(path))
      .map((match) => Number(match[2]));
  const deadline = Date.now() + 5000;
  while (answered().length < atLeast && Date.now() < deadline) await sleep(100);
  return answered();
}

/** A CORS_DEBUG refusal line the Worker logged, with the headers its reason names. */
interface Refusal {
  rule: string;
  method: string;
  origin: string | null;
  path: string;
  reason: string;
  /** `Sec-Fetch-Site` and `Origin` as the edge saw them. */
  sent: WriteHeaders;
}

/**
 * The refusals wrangler dev logged (CORS_DEBUG) in this test for paths under
 * `path`, waiting up to 5 s for `atLeast` of them. The log line holds the
 * request's Origin; its reason names the Sec-Fetch-Site it carried, or says
 * there was none.
 */
async function edgeRefusals(path: string, atLeast = 0): Promise<Refusal[]> {
  const refusals = () =>
    edge
      .log()
      .slice(edgeLogMark)
      .filter((line) => line.includes('"event":"cors-refused"'))
      .map((line) => JSON.parse(line.slice(line.indexOf("{"))) as Omit<Refusal, "sent">)
      .filter((refusal) => refusal.path.startsWith(path))
      .map((refusal): Refusal => {
        const site = /Sec-Fetch-Site "([^"]*)"/.exec(refusal.reason);
        if (!site && !refusal.reason.includes("(no Sec-Fetch-Site)") && !refusal.reason.includes('Origin "null"')) {
          throw new Error(`a refusal that names no Sec-Fetch-Site: ${refusal.reason}`);
        }
        return { ...refusal, sent: { fetchSite: site ? site[1]! : null, origin: refusal.origin } };
      });
  const deadline = Date.now() + 5000;
  while (refusals().length < atLeast && Date.now() < deadline) await sleep(100);
  return refusals();
}

/** What the servers saw during the failed test: the edge's request log and the origin's record. */
function serverView(name: EngineName): string {
  return [
    `--- [${name}] what the servers saw ---`,
    "edge (wrangler dev):",
    ...edge.log().slice(edgeLogMark).map((line) => `  ${line}`),
    "origin:",
    ...origin.received("/").map((r) => `  ${r.method} ${r.path} origin=${r.origin} sec-fetch-site=${String(r.headers["sec-fetch-site"] ?? null)} cookie=${r.cookie}`),
  ].join("\n");
}
