/**
 * The decision for one request: preflights, forwarded requests, routes,
 * public policies, failing closed, and the bounded preflight memo.
 */
import { describe, expect, it } from "vitest";
import {
  compilePolicy,
  decide,
  decidePreflight,
  isPreflight,
  Memo,
  MEMO_KEY_LIMIT,
  MEMO_SIZE,
  rulesFor,
  validatePolicy,
  type CompiledPolicy,
  type CorsRequest,
  type Decision,
  type HeaderList,
  type Refusal,
} from "../../src/core/index.js";
import { EXAMPLE_POLICY } from "../fixtures/example-policy.js";

/** Validates and compiles, failing the test when the policy is refused. */
function compile(doc: unknown): CompiledPolicy {
  const result = validatePolicy(doc);
  if (!result.ok) throw new Error(`test policy refused: ${JSON.stringify(result.errors)}`);
  return compilePolicy(result.policy);
}

const API = "https://api.example.com";
const APP = "https://app.example.com";

interface RequestInit {
  method?: string;
  path?: string;
  origin?: string | null;
  acrm?: string | null;
  acrh?: string | null;
}

function request({ method = "GET", path = "/items", origin = APP, acrm = null, acrh = null }: RequestInit = {}): CorsRequest {
  return { method, url: new URL(path, API), origin, requestMethod: acrm, requestHeaders: acrh };
}

function preflight(init: Omit<RequestInit, "method"> & { acrm?: string } = {}): CorsRequest {
  return request({ acrm: "PUT", ...init, method: "OPTIONS" });
}

/** The headers of an allowed decision, as a name → value record; fails for a refusal. */
function headersOf(decision: Decision): Record<string, string> {
  if (!decision.allowed) throw new Error(`expected an allowed decision, got ${JSON.stringify(decision)}`);
  return Object.fromEntries(decision.headers);
}

/** The refusal of a refused decision; fails for an allowed one. */
function refusalOf(decision: Decision): Refusal | null {
  if (decision.allowed) throw new Error(`expected a refusal, got ${JSON.stringify(decision)}`);
  return decision.refusal;
}

const PREFLIGHT_VARY = "Access-Control-Request-Method, Access-Control-Request-Headers";

const EXAMPLE = EXAMPLE_POLICY;

describe("isPreflight", () => {
  const rows: [string, CorsRequest, boolean][] = [
    ["OPTIONS with Origin and Access-Control-Request-Method", preflight(), true],
    ["OPTIONS with an empty Access-Control-Request-Method", preflight({ acrm: "" }), true],
    ["OPTIONS without Access-Control-Request-Method", request({ method: "OPTIONS" }), false],
    ["OPTIONS with only Access-Control-Request-Headers", request({ method: "OPTIONS", acrh: "x-a" }), false],
    ["OPTIONS without Origin", request({ method: "OPTIONS", origin: null, acrm: "PUT" }), false],
    ["GET with Access-Control-Request-Method", request({ method: "GET", acrm: "PUT" }), false],
  ];
  it.each(rows)("%s → %s", (_name, req, expected) => {
    expect(isPreflight(req)).toBe(expected);
  });
});

describe("preflights under the example policy", () => {
  const policy = compile(EXAMPLE);

  it("answers an allowed preflight with every header", () => {
    const decision = decide(policy, preflight({ acrm: "PUT", acrh: "content-type" }));
    expect(decision).toEqual({
      kind: "preflight",
      allowed: true,
      headers: [
        ["Access-Control-Allow-Origin", APP],
        ["Access-Control-Allow-Credentials", "true"],
        ["Access-Control-Allow-Methods", "GET, POST, PUT, DELETE"],
        ["Access-Control-Allow-Headers", "Content-Type, Authorization"],
        ["Access-Control-Max-Age", "600"],
      ],
      vary: `Origin, ${PREFLIGHT_VARY}`,
    });
  });

  // [name, request, allowed, the refusal's rule and field when refused]
  const rows: [string, CorsRequest, boolean, (Pick<Refusal, "rule" | "field"> | null)?][] = [
    ["a listed origin", preflight({ origin: APP }), true],
    ["a pattern origin", preflight({ origin: "https://a.b.example.org" }), true],
    ["an http origin with its port", preflight({ origin: "http://localhost:3000" }), true],
    ["an unlisted origin", preflight({ origin: "https://evil.com" }), false, { rule: "origin", field: "$.origins" }],
    ["a suffix attack", preflight({ origin: "https://evilexample.org" }), false, { rule: "origin", field: "$.origins" }],
    ["an appended-domain attack", preflight({ origin: "https://example.org.evil.com" }), false, { rule: "origin", field: "$.origins" }],
    ["the bare pattern domain", preflight({ origin: "https://example.org" }), false, { rule: "origin", field: "$.origins" }],
    ["the null origin", preflight({ origin: "null" }), false, { rule: "origin", field: "$.origins" }],
    ["an uppercase origin", preflight({ origin: "https://APP.example.com" }), false, { rule: "origin", field: "$.origins" }],
    ["a listed method", preflight({ acrm: "DELETE" }), true],
    ["a safelisted method that is listed", preflight({ acrm: "GET" }), true],
    ["an unlisted method", preflight({ acrm: "PATCH" }), false, { rule: "method", field: "$.methods" }],
    ["a method in the wrong case", preflight({ acrm: "put" }), false, { rule: "method", field: "$.methods" }],
    ["a method that is not a token", preflight({ acrm: "PU T" }), false, { rule: "method", field: "$.methods" }],
    ["an empty method", preflight({ acrm: "" }), false, { rule: "method", field: "$.methods" }],
    ["a listed header", preflight({ acrh: "content-type" }), true],
    ["listed headers in any case", preflight({ acrh: "CONTENT-TYPE,Authorization" }), true],
    ["listed headers with spaces and tabs", preflight({ acrh: "  content-type ,\tauthorization\t" }), true],
    ["listed headers with empty elements", preflight({ acrh: ",content-type,, ,authorization," }), true],
    ["no requested headers", preflight({ acrh: null }), true],
    ["an empty header list", preflight({ acrh: "" }), true],
    ["an unlisted header", preflight({ acrh: "content-type, x-custom" }), false, { rule: "header", field: "$.allowHeaders" }],
    ["a header that is not a token", preflight({ acrh: "content type" }), false, { rule: "header", field: "$.allowHeaders" }],
    ["a header list with a semicolon", preflight({ acrh: "content-type;authorization" }), false, { rule: "header", field: "$.allowHeaders" }],
    ["a non-ASCII header", preflight({ acrh: "contént-type" }), false, { rule: "header", field: "$.allowHeaders" }],
    ["an unlisted origin before a bad method", preflight({ origin: "https://evil.com", acrm: "PATCH" }), false, { rule: "origin", field: "$.origins" }],
    ["a bad method before a bad header", preflight({ acrm: "PATCH", acrh: "x-custom" }), false, { rule: "method", field: "$.methods" }],
  ];
  it.each(rows)("%s", (_name, req, allowed, refusal) => {
    const decision = decide(policy, req);
    expect(decision.kind).toBe("preflight");
    expect(decision.allowed).toBe(allowed);
    expect(decision.vary).toBe(`Origin, ${PREFLIGHT_VARY}`);
    if (allowed) {
      expect(headersOf(decision)["Access-Control-Allow-Origin"]).toBe(req.origin);
    } else {
      expect(refusalOf(decision)).toMatchObject(refusal ?? {});
      expect(refusalOf(decision)?.message.length).toBeGreaterThan(0);
      expect("headers" in decision).toBe(false);
    }
  });

  it("keeps log messages short for hostile values", () => {
    const refusal = refusalOf(decide(policy, preflight({ origin: `https://${"a".repeat(10000)}.evil.com` })));
    expect(refusal?.message.length).toBeLessThan(300);
  });
});

describe('"*" in methods and headers (no credentials)', () => {
  const policy = compile({ origins: [APP], methods: "*", allowHeaders: "*" });
  const withAuthorization = compile({ origins: [APP], allowHeaders: ["*", "Authorization"] });

  it("allows any method and any header", () => {
    const headers = headersOf(decide(policy, preflight({ acrm: "PATCH", acrh: "x-anything, x-other" })));
    expect(headers["Access-Control-Allow-Methods"]).toBe("*");
    expect(headers["Access-Control-Allow-Headers"]).toBe("*");
    expect(headers["Access-Control-Allow-Credentials"]).toBeUndefined();
    expect(decide(policy, preflight({ acrm: "PROPFIND" })).allowed).toBe(true);
  });

  it("still refuses a method that is not a token", () => {
    expect(refusalOf(decide(policy, preflight({ acrm: "GET POST" })))?.rule).toBe("method");
  });

  it("never covers authorization unless it is listed", () => {
    const refusal = refusalOf(decide(policy, preflight({ acrh: "x-a, Authorization" })));
    expect(refusal?.rule).toBe("header");
    expect(refusal?.field).toBe("$.allowHeaders");
    expect(refusal?.message).toContain("authorization");
    expect(decide(withAuthorization, preflight({ acrm: "POST", acrh: "x-a, authorization" })).allowed).toBe(true);
    expect(headersOf(decide(withAuthorization, preflight({ acrm: "POST", acrh: "authorization" })))["Access-Control-Allow-Headers"]).toBe("*, Authorization");
  });

  it("refuses an unlisted method without *", () => {
    const listed = compile({ origins: [APP], methods: ["GET"], allowHeaders: ["X-A"] });
    expect(refusalOf(decide(listed, preflight({ acrm: "PUT" })))?.rule).toBe("method");
    expect(refusalOf(decide(listed, preflight({ acrm: "GET", acrh: "authorization" })))?.rule).toBe("header");
  });
});

describe("public policies", () => {
  const policy = compile({ origins: "*", methods: ["GET", "PUT"], allowHeaders: ["X-A"], exposeHeaders: ["X-B"] });

  it("answers a preflight with Access-Control-Allow-Origin: * and no Origin in Vary", () => {
    const decision = decide(policy, preflight({ origin: "https://anyone.example.net", acrh: "x-a" }));
    expect(headersOf(decision)).toEqual({
      "Access-Control-Allow-Origin": "*",
      "Access-Control-Allow-Methods": "GET, PUT",
      "Access-Control-Allow-Headers": "X-A",
    });
    expect(decision.vary).toBe(PREFLIGHT_VARY);
  });

  it("stamps a forwarded request with * and no Vary", () => {
    const decision = decide(policy, request({ origin: "null" }));
    expect(decision).toEqual({
      kind: "forward",
      allowed: true,
      headers: [
        ["Access-Control-Allow-Origin", "*"],
        ["Access-Control-Expose-Headers", "X-B"],
      ],
      vary: null,
    });
  });

  it("adds no Vary to a request without Origin", () => {
    expect(decide(policy, request({ origin: null })).vary).toBeNull();
  });

  it("still refuses a preflight for an unlisted method", () => {
    const decision = decide(policy, preflight({ acrm: "DELETE" }));
    expect(refusalOf(decision)?.rule).toBe("method");
    expect(decision.vary).toBe(PREFLIGHT_VARY);
  });
});

describe("credentials and maxAge", () => {
  const rows: [string, unknown, Record<string, string>][] = [
    [
      "credentials and maxAge",
      { origins: [APP], credentials: true, maxAge: 600 },
      { "Access-Control-Allow-Origin": APP, "Access-Control-Allow-Credentials": "true", "Access-Control-Allow-Methods": "GET, HEAD, POST", "Access-Control-Max-Age": "600" },
    ],
    [
      "maxAge 0",
      { origins: [APP], maxAge: 0 },
      { "Access-Control-Allow-Origin": APP, "Access-Control-Allow-Methods": "GET, HEAD, POST", "Access-Control-Max-Age": "0" },
    ],
    [
      "neither",
      { origins: [APP] },
      { "Access-Control-Allow-Origin": APP, "Access-Control-Allow-Methods": "GET, HEAD, POST" },
    ],
    [
      "credentials false written out",
      { origins: [APP], credentials: false, allowHeaders: ["X-A"] },
      { "Access-Control-Allow-Origin": APP, "Access-Control-Allow-Methods": "GET, HEAD, POST", "Access-Control-Allow-Headers": "X-A" },
    ],
  ];
  it.each(rows)("preflight with %s", (_name, doc, headers) => {
    expect(headersOf(decide(compile(doc), preflight({ acrm: "POST" })))).toEqual(headers);
  });

  it("stamps a forwarded request with the origin, credentials and exposed headers only", () => {
    const policy = compile({ origins: [APP], credentials: true, maxAge: 600, allowHeaders: ["X-A"], exposeHeaders: ["X-B", "X-C"] });
    expect(decide(policy, request({ method: "POST" }))).toEqual({
      kind: "forward",
      allowed: true,
      headers: [
        ["Access-Control-Allow-Origin", APP],
        ["Access-Control-Allow-Credentials", "true"],
        ["Access-Control-Expose-Headers", "X-B, X-C"],
      ],
      vary: "Origin",
    });
  });

  it("does not send Access-Control-Allow-Credentials without credentials", () => {
    const headers = headersOf(decide(compile({ origins: [APP] }), request()));
    expect(headers).toEqual({ "Access-Control-Allow-Origin": APP });
  });
});

describe("requests that are not preflights", () => {
  const policy = compile(EXAMPLE);

  const untouched: [string, CorsRequest][] = [
    ["a request without Origin", request({ origin: null })],
    ["an OPTIONS without Origin", request({ method: "OPTIONS", origin: null, acrm: "PUT" })],
    ["a same-origin request", request({ origin: API })],
    ["a same-origin preflight-shaped OPTIONS", request({ method: "OPTIONS", origin: API, acrm: "PUT", acrh: "x-custom" })],
  ];
  it.each(untouched)("%s is forwarded with no CORS headers, and Vary: Origin", (_name, req) => {
    expect(decide(policy, req)).toEqual({ kind: "forward", allowed: false, refusal: null, vary: "Origin" });
  });

  it("treats an origin that differs only in port or scheme as cross-origin", () => {
    expect(refusalOf(decide(policy, request({ origin: "https://api.example.com:8443" })))?.rule).toBe("origin");
    expect(refusalOf(decide(policy, request({ origin: "http://api.example.com" })))?.rule).toBe("origin");
    expect(refusalOf(decide(policy, preflight({ origin: "http://api.example.com" })))?.rule).toBe("origin");
  });

  it("forwards a non-preflight OPTIONS and stamps it for an allowed origin", () => {
    const decision = decide(policy, request({ method: "OPTIONS", acrh: "x-custom" }));
    expect(decision.kind).toBe("forward");
    expect(headersOf(decision)["Access-Control-Allow-Origin"]).toBe(APP);
  });

  it("forwards a non-preflight OPTIONS from a disallowed origin without headers", () => {
    const decision = decide(policy, request({ method: "OPTIONS", origin: "https://evil.com" }));
    expect(decision).toMatchObject({ kind: "forward", allowed: false, refusal: { rule: "origin", field: "$.origins" }, vary: "Origin" });
  });

  const stamped: [string, CorsRequest, boolean][] = [
    ["a listed origin", request({ origin: APP }), true],
    ["a pattern origin", request({ origin: "https://a.example.org" }), true],
    ["a disallowed origin", request({ origin: "https://evil-example.com" }), false],
    ["the null origin", request({ origin: "null" }), false],
    ["an unlisted method is still stamped (CORS does not refuse actual requests by method)", request({ method: "PATCH" }), true],
  ];
  it.each(stamped)("%s", (_name, req, allowed) => {
    const decision = decide(policy, req);
    expect(decision.kind).toBe("forward");
    expect(decision.allowed).toBe(allowed);
    expect(decision.vary).toBe("Origin");
    if (allowed) {
      expect(headersOf(decision)).toEqual({
        "Access-Control-Allow-Origin": req.origin,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Expose-Headers": "X-Request-Id",
      });
    } else {
      expect(refusalOf(decision)?.rule).toBe("origin");
    }
  });
});

describe('the "null" origin', () => {
  it("is allowed only when listed", () => {
    const listed = compile({ origins: ["null"] });
    const unlisted = compile({ origins: [APP] });
    expect(headersOf(decide(listed, preflight({ origin: "null", acrm: "POST" })))["Access-Control-Allow-Origin"]).toBe("null");
    expect(headersOf(decide(listed, request({ origin: "null" })))["Access-Control-Allow-Origin"]).toBe("null");
    expect(refusalOf(decide(unlisted, preflight({ origin: "null", acrm: "POST" })))?.rule).toBe("origin");
    expect(refusalOf(decide(unlisted, request({ origin: "null" })))?.rule).toBe("origin");
  });
});

describe("routes", () => {
  const policy = compile({
    origins: [APP],
    methods: ["GET"],
    routes: [
      { path: "/exact", origins: "*" },
      { path: "/pre/*", origins: ["https://other.example.com"] },
      { path: "/api/*", methods: ["GET", "PUT"] },
      { path: "/api/admin/*", methods: ["DELETE"] },
    ],
  });

  const rows: [string, string][] = [
    ["/exact", "$.routes[0]"],
    ["/exact/", "$"],
    ["/exact/x", "$"],
    ["/exactly", "$"],
    ["/Exact", "$"],
    ["/pre/", "$.routes[1]"],
    ["/pre/a", "$.routes[1]"],
    ["/pre/a/b", "$.routes[1]"],
    ["/pre", "$"],
    ["/prefix", "$"],
    ["/api/admin/users", "$.routes[2]"],
    ["/api/x", "$.routes[2]"],
    ["/", "$"],
    ["/other", "$"],
  ];
  it.each(rows)("%s uses %s", (path, source) => {
    expect(rulesFor(policy, path).source).toBe(source);
  });

  it('matches every path with a "/*" route', () => {
    const catchAll = compile({ origins: [APP], routes: [{ path: "/health" }, { path: "/*", origins: "*" }] });
    expect(rulesFor(catchAll, "/health").source).toBe("$.routes[0]");
    for (const path of ["/", "/x", "/a/b/c", "/health/x"]) expect(rulesFor(catchAll, path).source).toBe("$.routes[1]");
  });

  it("ignores the query when choosing a route", () => {
    expect(decide(policy, request({ path: "/exact?x=/pre/y", origin: "https://anyone.example.net" })).allowed).toBe(true);
  });

  it("uses an exact route's rules only on that path", () => {
    expect(headersOf(decide(policy, request({ path: "/exact", origin: "https://anyone.example.net" })))).toEqual({ "Access-Control-Allow-Origin": "*" });
    expect(refusalOf(decide(policy, request({ path: "/exact/x", origin: "https://anyone.example.net" })))?.field).toBe("$.origins");
  });

  it("uses a prefix route's rules below the prefix", () => {
    expect(decide(policy, preflight({ path: "/pre/a", origin: "https://other.example.com", acrm: "GET" })).allowed).toBe(true);
    expect(refusalOf(decide(policy, preflight({ path: "/pre/a", origin: APP, acrm: "GET" })))?.field).toBe("$.routes[1].origins");
  });

  it("uses the first matching route", () => {
    expect(refusalOf(decide(policy, preflight({ path: "/api/admin/users", acrm: "DELETE" })))?.field).toBe("$.routes[2].methods");
    expect(decide(policy, preflight({ path: "/api/admin/users", acrm: "PUT" })).allowed).toBe(true);
  });

  it("uses the top level on unmatched paths", () => {
    const refusal = refusalOf(decide(policy, preflight({ path: "/other", acrm: "PUT" })));
    expect(refusal?.field).toBe("$.methods");
    expect(refusal?.message).toContain("$.methods");
    expect(decide(policy, preflight({ path: "/other", acrm: "GET" })).allowed).toBe(true);
  });

  it("lets a route inherit every field it does not set", () => {
    const inherited = compile({ ...EXAMPLE, routes: [{ path: "/admin/*", methods: ["DELETE"] }] });
    const decision = decide(inherited, preflight({ path: "/admin/users", acrm: "DELETE", acrh: "authorization" }));
    expect(headersOf(decision)).toEqual({
      "Access-Control-Allow-Origin": APP,
      "Access-Control-Allow-Credentials": "true",
      "Access-Control-Allow-Methods": "DELETE",
      "Access-Control-Allow-Headers": "Content-Type, Authorization",
      "Access-Control-Max-Age": "600",
    });
    expect(refusalOf(decide(inherited, preflight({ path: "/admin/users", origin: "https://evil.com", acrm: "DELETE" })))?.field).toBe("$.routes[0].origins");
    expect(refusalOf(decide(inherited, preflight({ path: "/admin/users", acrm: "PUT" })))?.field).toBe("$.routes[0].methods");
    expect(refusalOf(decide(inherited, preflight({ path: "/admin/users", acrm: "DELETE", acrh: "x-a" })))?.field).toBe("$.routes[0].allowHeaders");
    const forwarded = decide(inherited, request({ path: "/admin/users" }));
    expect(headersOf(forwarded)["Access-Control-Expose-Headers"]).toBe("X-Request-Id");
  });

  it("answers the issue's public route with * and the private top level with the origin", () => {
    const example = compile(EXAMPLE);
    const publicPreflight = decide(example, preflight({ path: "/public/file", origin: "https://anyone.example.net", acrm: "GET" }));
    expect(headersOf(publicPreflight)).toEqual({ "Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET, HEAD", "Access-Control-Allow-Headers": "Content-Type, Authorization", "Access-Control-Max-Age": "600" });
    expect(publicPreflight.vary).toBe(PREFLIGHT_VARY);
    expect(decide(example, request({ path: "/public/file", origin: null })).vary).toBeNull();
    expect(decide(example, request({ path: "/private", origin: null })).vary).toBe("Origin");
    expect(refusalOf(decide(example, preflight({ path: "/public/file", acrm: "PUT" })))?.field).toBe("$.routes[0].methods");
  });
});

describe("no policy: fail closed", () => {
  it("refuses a preflight with rule no-policy", () => {
    const decision = decide(null, preflight());
    expect(decision).toEqual({
      kind: "preflight",
      allowed: false,
      refusal: { rule: "no-policy", field: null, message: expect.any(String) },
      vary: `Origin, ${PREFLIGHT_VARY}`,
    });
  });

  it("forwards a cross-origin request without CORS headers", () => {
    const decision = decide(null, request());
    expect(decision).toMatchObject({ kind: "forward", allowed: false, refusal: { rule: "no-policy", field: null }, vary: "Origin" });
    expect("headers" in decision).toBe(false);
  });

  it("forwards a request without Origin, still with Vary: Origin", () => {
    expect(decide(null, request({ origin: null }))).toEqual({ kind: "forward", allowed: false, refusal: null, vary: "Origin" });
  });

  it("forwards a non-preflight OPTIONS", () => {
    expect(decide(null, request({ method: "OPTIONS" })).kind).toBe("forward");
  });
});

describe("the preflight memo", () => {
  it("returns the identical decision for a repeated preflight", () => {
    const policy = compile(EXAMPLE);
    const first = decide(policy, preflight({ acrh: "content-type" }));
    const second = decide(policy, preflight({ acrh: "content-type" }));
    expect(second).toBe(first);
    expect(policy.rules.memo.size).toBe(1);
  });

  it("returns the identical refusal for a repeated refused preflight", () => {
    const policy = compile(EXAMPLE);
    const first = decide(policy, preflight({ origin: "https://evil.com" }));
    expect(decide(policy, preflight({ origin: "https://evil.com" }))).toBe(first);
    expect(first.allowed).toBe(false);
  });

  it("keeps decisions apart by origin, method and headers", () => {
    const policy = compile({ ...EXAMPLE, allowHeaders: ["X-A"] });
    const a = decidePreflight(policy.rules, APP, "PUT", "x-a");
    const b = decidePreflight(policy.rules, "https://a.example.org", "PUT", "x-a");
    const c = decidePreflight(policy.rules, APP, "PATCH", "x-a");
    const d = decidePreflight(policy.rules, APP, "PUT", "x-b");
    expect(headersOf(a)["Access-Control-Allow-Origin"]).toBe(APP);
    expect(headersOf(b)["Access-Control-Allow-Origin"]).toBe("https://a.example.org");
    expect(refusalOf(c)?.rule).toBe("method");
    expect(refusalOf(d)?.rule).toBe("header");
    expect(policy.rules.memo.size).toBe(4);
  });

  it("keeps a memo per route", () => {
    const policy = compile(EXAMPLE);
    const top = decide(policy, preflight({ path: "/x", acrm: "GET" }));
    const route = decide(policy, preflight({ path: "/public/x", acrm: "GET" }));
    expect(route).not.toBe(top);
    expect(headersOf(top)["Access-Control-Allow-Origin"]).toBe(APP);
    expect(headersOf(route)["Access-Control-Allow-Origin"]).toBe("*");
  });

  it("stays bounded under many distinct preflights", () => {
    const policy = compile({ origins: ["https://*.example.org"], allowHeaders: "*" });
    for (let i = 0; i < MEMO_SIZE + 100; i++) {
      expect(decide(policy, preflight({ origin: `https://t${i}.example.org`, acrm: "POST" })).allowed).toBe(true);
      expect(policy.rules.memo.size).toBeLessThanOrEqual(MEMO_SIZE);
    }
    expect(policy.rules.memo.size).toBe(MEMO_SIZE);
  });

  it("does not keep preflights with hostile long headers, but still decides them", () => {
    const policy = compile({ origins: [APP], allowHeaders: ["X-A"] });
    const long = Array.from({ length: 400 }, () => "x-a").join(", ");
    expect(long.length).toBeGreaterThan(MEMO_KEY_LIMIT);
    const first = decide(policy, preflight({ acrm: "POST", acrh: long }));
    const second = decide(policy, preflight({ acrm: "POST", acrh: long }));
    expect(first.allowed).toBe(true);
    expect(second).toEqual(first);
    expect(second).not.toBe(first);
    expect(policy.rules.memo.size).toBe(0);
    const refused = decide(policy, preflight({ acrm: "POST", acrh: `${long}, x-b` }));
    expect(refusalOf(refused)?.rule).toBe("header");
    expect(policy.rules.memo.size).toBe(0);
  });

  it("decides a 64 KiB Access-Control-Request-Headers correctly", () => {
    const policy = compile({ origins: [APP], allowHeaders: ["X-A"] });
    const allowed = "x-a,".repeat(16384);
    expect(allowed.length).toBe(65536);
    expect(decide(policy, preflight({ acrh: allowed, acrm: "POST" })).allowed).toBe(true);
    expect(refusalOf(decide(policy, preflight({ acrh: `${allowed}x-b`, acrm: "POST" })))?.rule).toBe("header");
    expect(refusalOf(decide(policy, preflight({ acrh: `x-a${" ".repeat(65536)}x-a`, acrm: "POST" })))?.rule).toBe("header");
  });
});

describe("Memo", () => {
  it("never grows beyond its limit and forgets the oldest entry first", () => {
    const memo = new Memo<number>(3);
    for (let i = 0; i < 10; i++) {
      memo.set(`k${i}`, i);
      expect(memo.size).toBeLessThanOrEqual(3);
    }
    expect(memo.size).toBe(3);
    expect(memo.get("k6")).toBeUndefined();
    expect([memo.get("k7"), memo.get("k8"), memo.get("k9")]).toEqual([7, 8, 9]);
  });

  it("stays within its limit when a key is set again while full", () => {
    const memo = new Memo<number>(2);
    memo.set("a", 1);
    memo.set("b", 2);
    memo.set("b", 3);
    memo.set("a", 4);
    expect(memo.size).toBeLessThanOrEqual(2);
    expect(memo.get("a")).toBe(4);
  });

  it("does not store keys over MEMO_KEY_LIMIT", () => {
    const memo = new Memo<string>(10);
    memo.set("x".repeat(MEMO_KEY_LIMIT + 1), "too long");
    expect(memo.size).toBe(0);
    expect(memo.get("x".repeat(MEMO_KEY_LIMIT + 1))).toBeUndefined();
    memo.set("x".repeat(MEMO_KEY_LIMIT), "at the limit");
    expect(memo.size).toBe(1);
    expect(memo.get("x".repeat(MEMO_KEY_LIMIT))).toBe("at the limit");
  });

  it("a long key does not evict a stored one", () => {
    const memo = new Memo<number>(1);
    memo.set("a", 1);
    memo.set("y".repeat(MEMO_KEY_LIMIT + 1), 2);
    expect(memo.get("a")).toBe(1);
  });
});

describe("decisions are well-formed header lists", () => {
  it("never repeats a header name", () => {
    const policies = [compile(EXAMPLE), compile({ origins: "*", methods: "*", allowHeaders: "*", exposeHeaders: "*", maxAge: 5 })];
    for (const policy of policies) {
      for (const req of [preflight({ acrm: "GET", acrh: "content-type" }), request(), preflight({ path: "/public/x", acrm: "GET" })]) {
        const decision = decide(policy, req);
        if (!decision.allowed) throw new Error(`expected an allowed decision for ${req.url.pathname}`);
        const headers: HeaderList = decision.headers;
        const names = headers.map(([name]) => name.toLowerCase());
        expect(new Set(names).size).toBe(names.length);
        expect(names).toContain("access-control-allow-origin");
      }
    }
  });
});
