/**
 * Conformance: request cases written from the Fetch standard's CORS protocol
 * and the policy rules, each with the exact CORS headers and Vary expected
 * and whether the origin is reached. Every case runs through the Worker in
 * workerd against the real origin server.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { corsHeaders, putPolicy, received, send, uniqueHost } from "../worker/helpers.js";

const POLICIES = {
  strict: {
    origins: ["https://app.example.com", "https://*.example.org", "http://localhost:3000"],
    credentials: true,
    methods: ["GET", "POST", "PUT", "DELETE"],
    allowHeaders: ["Content-Type", "Authorization"],
    exposeHeaders: ["X-Request-Id"],
    maxAge: 600,
    routes: [{ path: "/c/public/*", origins: "*", credentials: false, methods: ["GET", "HEAD"] }],
  },
  public: { origins: "*", methods: ["GET", "POST"], allowHeaders: ["*"], exposeHeaders: ["*"] },
  wild: { origins: ["https://a.test"], methods: "*", allowHeaders: ["*", "Authorization"] },
  empty: { origins: [] },
  plain: { origins: ["https://a.test", "null"], maxAge: 0 },
  schemes: {
    origins: ["http://localhost:3000", "https://*.example.org:8443", "capacitor://localhost", "chrome-extension://abcdefghijklmnopabcdefghijklmnop"],
  },
  routes: {
    origins: ["https://a.test"],
    routes: [
      { path: "/c/exact", origins: ["https://b.test"] },
      { path: "/c/pre/*", methods: ["PATCH"] },
      { path: "/c/pre/*", origins: "*" },
    ],
  },
} as const;
type PolicyName = keyof typeof POLICIES;

interface Case {
  name: string;
  policy: PolicyName;
  method: string;
  path: string;
  headers: Record<string, string>;
  status: number;
  /** The exact Access-Control-* headers of the answer, lowercase names. */
  cors: Record<string, string>;
  vary: string | null;
  reached: boolean;
}

const VARY_PREFLIGHT = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";
const VARY_PREFLIGHT_PUBLIC = "Access-Control-Request-Method, Access-Control-Request-Headers";
const APP = "https://app.example.com";

const strictPreflight = (origin: string) => ({
  "access-control-allow-origin": origin,
  "access-control-allow-credentials": "true",
  "access-control-allow-methods": "GET, POST, PUT, DELETE",
  "access-control-allow-headers": "Content-Type, Authorization",
  "access-control-max-age": "600",
});
const strictActual = (origin: string) => ({
  "access-control-allow-origin": origin,
  "access-control-allow-credentials": "true",
  "access-control-expose-headers": "X-Request-Id",
});

function preflightHeaders(origin: string | null, method: string | null, requestHeaders?: string): Record<string, string> {
  const headers: Record<string, string> = {};
  if (origin !== null) headers.Origin = origin;
  if (method !== null) headers["Access-Control-Request-Method"] = method;
  if (requestHeaders !== undefined) headers["Access-Control-Request-Headers"] = requestHeaders;
  return headers;
}

/** An allowed preflight: 204 at the edge, never forwarded. */
function allow(name: string, policy: PolicyName, origin: string, method: string, requestHeaders: string | undefined, cors: Record<string, string>, path = "/c/x", vary = VARY_PREFLIGHT): Case {
  return { name, policy, method: "OPTIONS", path, headers: preflightHeaders(origin, method, requestHeaders), status: 204, cors, vary, reached: false };
}

/** A refused preflight: 403 at the edge with no CORS headers, never forwarded. */
function refuse(name: string, policy: PolicyName, origin: string, method: string, requestHeaders?: string, path = "/c/x", vary = VARY_PREFLIGHT): Case {
  return { name, policy, method: "OPTIONS", path, headers: preflightHeaders(origin, method, requestHeaders), status: 403, cors: {}, vary, reached: false };
}

/** Anything that is not a preflight: forwarded, and the origin's answer stamped. */
function actual(name: string, policy: PolicyName, method: string, headers: Record<string, string>, cors: Record<string, string>, options: { path?: string; vary?: string | null; status?: number } = {}): Case {
  const { path = "/c/x", vary = "Origin", status = 200 } = options;
  return { name, policy, method, path, headers, status, cors, vary, reached: true };
}

const CASES: Case[] = [
  // What is a preflight (Fetch: an OPTIONS request with Origin and Access-Control-Request-Method)
  allow("OPTIONS with Origin and Access-Control-Request-Method is a preflight", "strict", APP, "PUT", undefined, strictPreflight(APP)),
  actual("OPTIONS with Origin but no Access-Control-Request-Method is forwarded", "strict", "OPTIONS", { Origin: APP }, strictActual(APP)),
  actual("OPTIONS with Access-Control-Request-Method but no Origin is forwarded", "strict", "OPTIONS", { "Access-Control-Request-Method": "PUT" }, {}),
  actual("OPTIONS with neither is forwarded", "strict", "OPTIONS", {}, {}),
  actual("GET with Access-Control-Request-Method is not a preflight", "strict", "GET", { Origin: APP, "Access-Control-Request-Method": "PUT" }, strictActual(APP)),
  actual("POST with Access-Control-Request-Method is not a preflight", "strict", "POST", { Origin: APP, "Access-Control-Request-Method": "PUT" }, strictActual(APP)),
  refuse("an empty Access-Control-Request-Method makes a preflight that is refused", "strict", APP, ""),
  { ...allow("a lowercase options method is normalized by fetch to OPTIONS", "strict", APP, "PUT", undefined, strictPreflight(APP)), method: "options" },
  actual("OPTIONS that is not a preflight from a refused origin is forwarded without CORS", "strict", "OPTIONS", { Origin: "https://evil.test" }, {}),

  // Origins: byte-for-byte for listed ones (Fetch's CORS check compares serialized origins)
  allow("a listed origin", "strict", APP, "PUT", undefined, strictPreflight(APP)),
  refuse("a listed origin with a trailing slash", "strict", `${APP}/`, "PUT"),
  refuse("a listed origin with a path", "strict", `${APP}/x`, "PUT"),
  refuse("a listed origin in uppercase", "strict", "https://APP.example.com", "PUT"),
  refuse("a listed origin with an uppercase scheme", "strict", "HTTPS://app.example.com", "PUT"),
  refuse("a listed origin with its default port", "strict", `${APP}:443`, "PUT"),
  refuse("a listed origin on another port", "strict", `${APP}:8443`, "PUT"),
  refuse("a listed origin over http", "strict", "http://app.example.com", "PUT"),
  refuse("a prefix attack on a listed origin", "strict", "https://app.example.com.evil.test", "PUT"),
  refuse("a suffix attack on a listed origin", "strict", "https://evilapp.example.com", "PUT"),
  refuse("a subdomain of a listed origin", "strict", "https://a.app.example.com", "PUT"),
  refuse("two origins in one header", "strict", `${APP} https://evil.test`, "PUT"),
  refuse("a listed origin twice, comma-separated", "strict", `${APP}, ${APP}`, "PUT"),
  refuse("the null origin when it is not listed", "strict", "null", "PUT"),
  refuse("an empty Origin", "strict", "", "PUT"),
  refuse("a * Origin", "strict", "*", "PUT"),
  allow("a listed origin with a port", "strict", "http://localhost:3000", "PUT", undefined, strictPreflight("http://localhost:3000")),
  refuse("a listed origin with its port left out", "strict", "http://localhost", "PUT"),
  refuse("a listed origin on a neighbouring port", "strict", "http://localhost:3001", "PUT"),
  refuse("a listed localhost origin by IP", "strict", "http://127.0.0.1:3000", "PUT"),

  // Subdomain patterns: one or more whole labels, same scheme, same port
  allow("one label under a pattern", "strict", "https://a.example.org", "PUT", undefined, strictPreflight("https://a.example.org")),
  allow("several labels under a pattern", "strict", "https://a.b.c.example.org", "PUT", undefined, strictPreflight("https://a.b.c.example.org")),
  allow("a hyphenated label under a pattern", "strict", "https://my-app.example.org", "PUT", undefined, strictPreflight("https://my-app.example.org")),
  refuse("the pattern's bare domain", "strict", "https://example.org", "PUT"),
  refuse("a pattern's subdomain over another scheme", "strict", "http://a.example.org", "PUT"),
  refuse("a pattern's subdomain with the default port", "strict", "https://a.example.org:443", "PUT"),
  refuse("a pattern's subdomain on another port", "strict", "https://a.example.org:8443", "PUT"),
  refuse("a name ending in the pattern's domain without a dot", "strict", "https://evilexample.org", "PUT"),
  refuse("a hyphenated lookalike of the pattern's domain", "strict", "https://evil-example.org", "PUT"),
  refuse("the pattern's domain followed by another", "strict", "https://a.example.org.evil.test", "PUT"),
  refuse("an empty label under a pattern", "strict", "https://.example.org", "PUT"),
  refuse("two dots under a pattern", "strict", "https://a..example.org", "PUT"),
  refuse("a label starting with a hyphen under a pattern", "strict", "https://-a.example.org", "PUT"),
  refuse("an uppercase label under a pattern", "strict", "https://A.example.org", "PUT"),
  refuse("userinfo before a pattern's subdomain", "strict", "https://user@a.example.org", "PUT"),
  refuse("a pattern's subdomain with a trailing dot", "strict", "https://a.example.org.", "PUT"),

  // Methods: listed ones only, compared case-sensitively (Fetch: methods are byte-case-sensitive)
  allow("a listed method, GET", "strict", APP, "GET", undefined, strictPreflight(APP)),
  allow("a listed method, POST", "strict", APP, "POST", undefined, strictPreflight(APP)),
  allow("a listed method, DELETE", "strict", APP, "DELETE", undefined, strictPreflight(APP)),
  refuse("an unlisted method", "strict", APP, "PATCH"),
  refuse("a listed method in lowercase", "strict", APP, "put"),
  allow("a safelisted method passes whatever methods lists (Fetch's preflight check)", "strict", APP, "HEAD", undefined, strictPreflight(APP)),
  refuse("a forbidden method", "strict", APP, "TRACE"),
  allow("white space around a method (trimmed by HTTP)", "strict", APP, " PUT ", undefined, strictPreflight(APP)),
  refuse("a method with a space inside", "strict", APP, "P UT"),
  refuse("a * method when * is not listed", "strict", APP, "*"),
  refuse("two methods in one header", "strict", APP, "PUT, DELETE"),

  // Request headers: every name listed, case-insensitively, list syntax tolerated
  allow("one listed header", "strict", APP, "PUT", "content-type", strictPreflight(APP)),
  allow("both listed headers as browsers send them", "strict", APP, "PUT", "authorization,content-type", strictPreflight(APP)),
  allow("listed headers in any case", "strict", APP, "PUT", "Content-Type,AUTHORIZATION", strictPreflight(APP)),
  allow("listed headers with spaces and tabs", "strict", APP, "PUT", " content-type ,\tauthorization ", strictPreflight(APP)),
  allow("listed headers with empty elements", "strict", APP, "PUT", "content-type,,authorization,", strictPreflight(APP)),
  allow("an empty header list", "strict", APP, "PUT", "", strictPreflight(APP)),
  allow("a header list of commas", "strict", APP, "PUT", ",,", strictPreflight(APP)),
  refuse("an unlisted header", "strict", APP, "PUT", "x-custom"),
  refuse("one unlisted header among listed ones", "strict", APP, "PUT", "content-type,x-custom,authorization"),
  refuse("a header list with semicolons", "strict", APP, "PUT", "content-type;authorization"),
  refuse("a header name with a space inside", "strict", APP, "PUT", "content type"),
  refuse("a header name with a colon", "strict", APP, "PUT", "content-type:"),
  refuse("a * header when * is not listed", "strict", APP, "PUT", "*"),

  // A public policy: *, no credentials, no Vary: Origin
  allow("any origin, on a public policy", "public", "https://anyone.test", "GET", undefined, {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": "GET, POST",
    "access-control-allow-headers": "*",
  }, "/c/x", VARY_PREFLIGHT_PUBLIC),
  allow("the null origin, on a public policy", "public", "null", "POST", "x-anything", {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": "GET, POST",
    "access-control-allow-headers": "*",
  }, "/c/x", VARY_PREFLIGHT_PUBLIC),
  refuse("Authorization under a * header list (never covered by *)", "public", "https://anyone.test", "GET", "authorization", "/c/x", VARY_PREFLIGHT_PUBLIC),
  refuse("Authorization among others under *", "public", "https://anyone.test", "GET", "x-a,authorization", "/c/x", VARY_PREFLIGHT_PUBLIC),
  refuse("an unlisted method on a public policy", "public", "https://anyone.test", "PUT", undefined, "/c/x", VARY_PREFLIGHT_PUBLIC),
  actual("an actual request on a public policy", "public", "GET", { Origin: "https://anyone.test" }, { "access-control-allow-origin": "*", "access-control-expose-headers": "*" }, { vary: null }),
  actual("the null origin's actual request on a public policy", "public", "POST", { Origin: "null" }, { "access-control-allow-origin": "*", "access-control-expose-headers": "*" }, { vary: null }),
  actual("no Origin on a public policy: still * (a cache may hand the answer to a page), no Vary", "public", "GET", {}, { "access-control-allow-origin": "*", "access-control-expose-headers": "*" }, { vary: null }),

  // * methods, and Authorization listed beside * headers
  allow("any method under * methods", "wild", "https://a.test", "PATCH", undefined, {
    "access-control-allow-origin": "https://a.test",
    "access-control-allow-methods": "*",
    "access-control-allow-headers": "*, Authorization",
  }),
  allow("a custom method under * methods", "wild", "https://a.test", "X-CUSTOM", "x-y", {
    "access-control-allow-origin": "https://a.test",
    "access-control-allow-methods": "*",
    "access-control-allow-headers": "*, Authorization",
  }),
  allow("Authorization listed beside *", "wild", "https://a.test", "GET", "x-y,authorization", {
    "access-control-allow-origin": "https://a.test",
    "access-control-allow-methods": "*",
    "access-control-allow-headers": "*, Authorization",
  }),
  refuse("an unlisted origin under * methods", "wild", "https://b.test", "GET"),
  refuse("a method that is not a token under * methods", "wild", "https://a.test", "GE T"),

  // An empty list allows no cross-origin access
  refuse("any preflight on an empty list", "empty", "https://a.test", "GET"),
  actual("an actual request on an empty list: forwarded, no CORS headers", "empty", "GET", { Origin: "https://a.test" }, {}),

  // Defaults: no credentials, GET/HEAD/POST, no headers; maxAge 0 is sent
  allow("defaults: a GET preflight", "plain", "https://a.test", "GET", undefined, {
    "access-control-allow-origin": "https://a.test",
    "access-control-allow-methods": "GET, HEAD, POST",
    "access-control-max-age": "0",
  }),
  allow("a listed null origin without credentials", "plain", "null", "POST", undefined, {
    "access-control-allow-origin": "null",
    "access-control-allow-methods": "GET, HEAD, POST",
    "access-control-max-age": "0",
  }),
  actual("a listed null origin's actual request", "plain", "GET", { Origin: "null" }, { "access-control-allow-origin": "null" }),
  refuse("defaults: any requested header", "plain", "https://a.test", "POST", "content-type"),
  refuse("defaults: PUT", "plain", "https://a.test", "PUT"),
  actual("defaults: no credentials and nothing exposed", "plain", "GET", { Origin: "https://a.test" }, { "access-control-allow-origin": "https://a.test" }),

  // Any scheme, ports in patterns
  actual("a capacitor:// origin", "schemes", "GET", { Origin: "capacitor://localhost" }, { "access-control-allow-origin": "capacitor://localhost" }),
  actual("a chrome-extension:// origin", "schemes", "GET", { Origin: "chrome-extension://abcdefghijklmnopabcdefghijklmnop" }, { "access-control-allow-origin": "chrome-extension://abcdefghijklmnopabcdefghijklmnop" }),
  actual("a pattern with a port, matched", "schemes", "GET", { Origin: "https://a.example.org:8443" }, { "access-control-allow-origin": "https://a.example.org:8443" }),
  actual("a pattern with a port, without the port", "schemes", "GET", { Origin: "https://a.example.org" }, {}),
  actual("a custom scheme with a port that is not listed", "schemes", "GET", { Origin: "capacitor://localhost:1" }, {}),
  actual("another custom scheme on the same host", "schemes", "GET", { Origin: "ionic://localhost" }, {}),

  // Routes: exact or prefix, first match wins, fields replace the top level's
  actual("an exact route's own origins", "routes", "GET", { Origin: "https://b.test" }, { "access-control-allow-origin": "https://b.test" }, { path: "/c/exact" }),
  actual("an exact route replaces the top level's origins", "routes", "GET", { Origin: "https://a.test" }, {}, { path: "/c/exact" }),
  actual("a path below an exact route uses the top level", "routes", "GET", { Origin: "https://a.test" }, { "access-control-allow-origin": "https://a.test" }, { path: "/c/exact/more" }),
  allow("a prefix route's own methods", "routes", "https://a.test", "PATCH", undefined, { "access-control-allow-origin": "https://a.test", "access-control-allow-methods": "PATCH" }, "/c/pre/x"),
  allow("a prefix route's methods leave safelisted methods alone", "routes", "https://a.test", "GET", undefined, { "access-control-allow-origin": "https://a.test", "access-control-allow-methods": "PATCH" }, "/c/pre/x"),
  refuse("a prefix route refuses a method it does not list", "routes", "https://a.test", "PUT", undefined, "/c/pre/x"),
  allow("a prefix route matches its own directory", "routes", "https://a.test", "PATCH", undefined, { "access-control-allow-origin": "https://a.test", "access-control-allow-methods": "PATCH" }, "/c/pre/"),
  refuse("a prefix route does not match the path without its slash", "routes", "https://a.test", "PATCH", undefined, "/c/pre"),
  refuse("a prefix route does not match a longer name", "routes", "https://a.test", "PATCH", undefined, "/c/prefix"),
  refuse("the first matching route wins over a later, wider one", "routes", "https://other.test", "PATCH", undefined, "/c/pre/x"),
  actual("a route inherits what it does not set", "strict", "GET", { Origin: "https://anyone.test" }, { "access-control-allow-origin": "*", "access-control-expose-headers": "X-Request-Id" }, { path: "/c/public/x", vary: null }),
  allow("a public route's preflight inherits headers and maxAge", "strict", "https://anyone.test", "GET", "authorization", {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": "GET, HEAD",
    "access-control-allow-headers": "Content-Type, Authorization",
    "access-control-max-age": "600",
  }, "/c/public/x", VARY_PREFLIGHT_PUBLIC),
  refuse("a public route's own methods", "strict", "https://anyone.test", "PUT", undefined, "/c/public/x", VARY_PREFLIGHT_PUBLIC),

  // Actual requests: stamped from the policy, the origin's CORS headers replaced, Vary merged
  actual("an allowed origin's GET", "strict", "GET", { Origin: APP }, strictActual(APP)),
  actual("an allowed origin's POST", "strict", "POST", { Origin: APP, "Content-Type": "text/plain" }, strictActual(APP)),
  actual("an allowed origin's DELETE", "strict", "DELETE", { Origin: APP }, strictActual(APP)),
  actual("an allowed origin's HEAD", "strict", "HEAD", { Origin: APP }, strictActual(APP)),
  actual("an allowed pattern origin's GET", "strict", "GET", { Origin: "https://a.example.org" }, strictActual("https://a.example.org")),
  actual("a refused origin's GET is forwarded without CORS headers", "strict", "GET", { Origin: "https://evil.test" }, {}),
  actual("a refused origin's POST still reaches the origin (CORS is not access control)", "strict", "POST", { Origin: "https://evil.test" }, {}),
  actual("no Origin: forwarded, no CORS headers, Vary: Origin", "strict", "GET", {}, {}),
  actual("the request's Vary is never copied", "strict", "GET", { Origin: APP, Vary: "Cookie" }, strictActual(APP)),
  actual("the origin's Allow-Origin * is replaced for an allowed origin", "strict", "GET", { Origin: APP }, strictActual(APP), { path: "/c/x?set=Access-Control-Allow-Origin:*" }),
  actual("the origin's CORS headers are removed for a refused origin", "strict", "GET", { Origin: "https://evil.test" }, {}, {
    path: "/c/x?set=Access-Control-Allow-Origin:https://evil.test&set=Access-Control-Allow-Credentials:true",
  }),
  actual("the origin's CORS headers are removed without Origin", "strict", "GET", {}, {}, { path: "/c/x?set=Access-Control-Allow-Origin:*&set=Access-Control-Expose-Headers:X-Secret" }),
  actual("the origin's Allow-Methods on an actual answer is removed", "strict", "GET", { Origin: APP }, strictActual(APP), { path: "/c/x?set=Access-Control-Allow-Methods:*" }),
  actual("the origin's Vary is kept and Origin added", "strict", "GET", { Origin: APP }, strictActual(APP), { path: "/c/x?set=Vary:Accept-Encoding", vary: "Accept-Encoding, Origin" }),
  actual("the origin's Vary: Origin is not duplicated", "strict", "GET", { Origin: APP }, strictActual(APP), { path: "/c/x?set=Vary:origin", vary: "origin" }),
  actual("the origin's Vary: * is left alone", "strict", "GET", { Origin: APP }, strictActual(APP), { path: "/c/x?set=Vary:*", vary: "*" }),
  actual("an allowed origin's 404 is stamped", "strict", "GET", { Origin: APP }, strictActual(APP), { path: "/c/x?status=404", status: 404 }),
  actual("an allowed origin's 500 is stamped", "strict", "GET", { Origin: APP }, strictActual(APP), { path: "/c/x?status=500", status: 500 }),
  actual("a refused origin's 500 is not stamped", "strict", "GET", { Origin: "https://evil.test" }, {}, { path: "/c/x?status=500", status: 500 }),
  actual("a same-origin request gets no CORS headers", "strict", "GET", { Origin: "https://SELF" }, {}),
];

describe("conformance: requests through the Worker", () => {
  const hosts = {} as Record<PolicyName, string>;
  beforeAll(async () => {
    for (const name of Object.keys(POLICIES) as PolicyName[]) {
      hosts[name] = uniqueHost();
      await putPolicy(hosts[name], POLICIES[name]);
    }
  });

  it("has at least 100 cases, each named once", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(100);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
  });

  it.each(CASES.map((c) => [c.name, c] as const))("%s", async (_, c) => {
    const host = hosts[c.policy];
    const tag = crypto.randomUUID();
    const url = `https://${host}${c.path}${c.path.includes("?") ? "&" : "?"}tag=${tag}`;
    const headers = Object.fromEntries(Object.entries(c.headers).map(([name, value]) => [name, value.replace("SELF", host)]));
    const res = await send(url, { method: c.method, headers, body: c.method === "POST" ? "body" : null, redirect: "manual" });
    expect(res.status).toBe(c.status);
    const { vary, ...cors } = corsHeaders(res);
    expect(cors).toEqual(c.cors);
    expect(vary ?? null).toBe(c.vary);
    await res.body?.cancel();
    const reached = (await received(new URL(url).pathname)).filter((r) => r.url.includes(tag));
    expect(reached.length).toBe(c.reached ? 1 : 0);
    if (c.reached) expect(reached[0]?.method).toBe(c.method.toUpperCase());
  });
});
