/**
 * Policy validation: each refusal with its code and exact JSON path, every
 * problem at once, warnings, route inheritance, and odd inputs.
 */
import { describe, expect, it } from "vitest";
import {
  compilePolicy,
  MAX_POLICY_BYTES,
  parsePolicy,
  validatePolicy,
  type CompiledPolicy,
  type Problem,
  type ProblemCode,
  type ValidationResult,
} from "../../src/core/index.js";
import { EXAMPLE_POLICY } from "../fixtures/example-policy.js";

interface Found {
  code: ProblemCode;
  path: string;
}

const found = (problems: Problem[]): Found[] => problems.map(({ code, path }) => ({ code, path }));

function errorsOf(input: unknown): Found[] {
  const result = validatePolicy(input);
  return result.ok ? [] : found(result.errors);
}

function warningsOf(input: unknown): Found[] {
  return found(validatePolicy(input).warnings);
}

function expectValid(input: unknown): Extract<ValidationResult, { ok: true }> {
  const result = validatePolicy(input);
  if (!result.ok) throw new Error(`expected a valid policy, got ${JSON.stringify(found(result.errors))}`);
  return result;
}

/** Validates and compiles, failing the test when the policy is refused. */
function compile(doc: unknown): CompiledPolicy {
  return compilePolicy(expectValid(doc).policy);
}

const APP = "https://app.example.com";
const EXAMPLE = EXAMPLE_POLICY;

describe("valid policies", () => {
  it("accepts the issue's example with no warnings", () => {
    const result = expectValid(EXAMPLE);
    expect(result.warnings).toEqual([]);
    expect(result.policy.rules.credentials).toBe(true);
    expect(result.policy.routes).toHaveLength(1);
    expect(result.policy.routes[0]?.rules.origins).toBe("*");
    expect(result.policy.routes[0]?.rules.credentials).toBe(false);
  });

  it("accepts the same document through parsePolicy", () => {
    expect(parsePolicy(JSON.stringify(EXAMPLE)).ok).toBe(true);
  });

  it("fills in the defaults", () => {
    const { policy } = expectValid({ origins: [] });
    expect(policy.rules).toEqual({
      origins: [],
      credentials: false,
      methods: ["GET", "HEAD", "POST"],
      allowHeaders: [],
      exposeHeaders: [],
      maxAge: null,
      allowInsecureOriginsWithCredentials: false,
    });
    expect(policy.routes).toEqual([]);
  });

  it("accepts $schema at the top level", () => {
    expect(expectValid({ $schema: "https://example.com/edge-cors.schema.json", origins: [] }).warnings).toEqual([]);
  });

  it("lets a route replace fields and inherit the rest", () => {
    const { policy } = expectValid({ ...EXAMPLE, routes: [{ path: "/admin/*", methods: ["DELETE"] }] });
    const route = policy.routes[0];
    expect(route?.path).toBe("/admin/*");
    expect(route?.rules).toEqual({ ...policy.rules, methods: ["DELETE"] });
  });

  const accepted: [string, unknown][] = [
    ["empty origins list", { origins: [] }],
    ["origins *", { origins: "*" }],
    ["methods, allowHeaders and exposeHeaders *", { origins: "*", methods: "*", allowHeaders: ["*", "Authorization"], exposeHeaders: "*" }],
    ["maxAge 0", { origins: [APP], maxAge: 0 }],
    ["maxAge 600, which every engine honours", { origins: [APP], maxAge: 600 }],
    ["origins with a trailing dot, as browsers send them", { origins: ["http://example.com.:3999", "https://foo.localhost.", "https://*.example.org."] }],
    ["https origins with a trailing dot and credentials", { origins: ["https://example.com.:3999", "https://*.example.org."], credentials: true }],
    ["loopback http origins with credentials", { origins: ["http://localhost:3000", "http://127.0.0.1:8080", "http://[::1]", "http://app.localhost", "http://*.app.localhost:3000"], credentials: true }],
    ["a non-normalized method in its own case", { origins: [APP], methods: ["PATCH", "patch", "PROPFIND"] }],
    ["a non-public-suffix pattern with credentials", { origins: ["https://*.example.co.uk", "https://*.me.github.io"], credentials: true }],
    ["routes with exact and prefix paths", { origins: [APP], routes: [{ path: "/" }, { path: "/a/b" }, { path: "/*" }, { path: "/a/*" }] }],
    ["an empty routes list", { origins: [APP], routes: [] }],
    ["a credentialed route under a credentialed top level", { origins: [APP], credentials: true, routes: [{ path: "/x", credentials: true }] }],
  ];
  it.each(accepted)("accepts %s", (_name, doc) => {
    expect(expectValid(doc).warnings).toEqual([]);
  });
});

describe("each refusal names its code and exact JSON path", () => {
  const rows: [string, unknown, ProblemCode, string][] = [
    // Structure and types.
    ["unknown top-level field", { origins: [], foo: 1 }, "unknown-field", "$.foo"],
    ["path at the top level", { origins: [], path: "/x" }, "unknown-field", "$.path"],
    ["unknown route field", { origins: [], routes: [{ path: "/a", foo: 1 }] }, "unknown-field", "$.routes[0].foo"],
    ["routes inside a route", { origins: [], routes: [{ path: "/a", routes: [] }] }, "unknown-field", "$.routes[0].routes"],
    ["$schema inside a route", { origins: [], routes: [{ path: "/a", $schema: "x" }] }, "unknown-field", "$.routes[0].$schema"],
    ["missing origins", {}, "missing-field", "$.origins"],
    ["route without a path", { origins: [], routes: [{ origins: "*" }] }, "missing-field", "$.routes[0].path"],
    ["$schema not a string", { $schema: 1, origins: [] }, "wrong-type", "$.$schema"],
    ["origins a single string", { origins: APP }, "wrong-type", "$.origins"],
    ["origins an object", { origins: { a: APP } }, "wrong-type", "$.origins"],
    ["origins null", { origins: null }, "wrong-type", "$.origins"],
    ["origins true", { origins: true }, "wrong-type", "$.origins"],
    ["an origin that is a number", { origins: [APP, 1] }, "wrong-type", "$.origins[1]"],
    ["an origin that is a list", { origins: [[APP]] }, "wrong-type", "$.origins[0]"],
    ["credentials as a string", { origins: [], credentials: "true" }, "wrong-type", "$.credentials"],
    ["credentials as a number", { origins: [], credentials: 1 }, "wrong-type", "$.credentials"],
    ["methods a single string", { origins: [], methods: "GET" }, "wrong-type", "$.methods"],
    ["a method that is a number", { origins: [], methods: ["GET", 1] }, "wrong-type", "$.methods[1]"],
    ["allowHeaders an object", { origins: [], allowHeaders: {} }, "wrong-type", "$.allowHeaders"],
    ["exposeHeaders with null", { origins: [], exposeHeaders: [null] }, "wrong-type", "$.exposeHeaders[0]"],
    ["maxAge as a string", { origins: [], maxAge: "600" }, "wrong-type", "$.maxAge"],
    ["maxAge null", { origins: [], maxAge: null }, "wrong-type", "$.maxAge"],
    ["routes an object", { origins: [], routes: { path: "/a" } }, "wrong-type", "$.routes"],
    ["a route that is a string", { origins: [], routes: [{ path: "/a" }, "/b"] }, "wrong-type", "$.routes[1]"],
    ["a route path that is a number", { origins: [], routes: [{ path: 1 }] }, "wrong-type", "$.routes[0].path"],
    ["wrong type inside a route", { origins: [], routes: [{ path: "/a", credentials: "yes" }] }, "wrong-type", "$.routes[0].credentials"],

    // Origins not in canonical serialized form.
    ["an origin with a path", { origins: [APP, "https://b.example.com/api"] }, "origin-not-canonical", "$.origins[1]"],
    ["an origin with a trailing slash", { origins: [APP, "https://b.example.com/"] }, "origin-not-canonical", "$.origins[1]"],
    ["an origin with a query", { origins: [APP, "https://b.example.com?x=1"] }, "origin-not-canonical", "$.origins[1]"],
    ["an origin with a fragment", { origins: [APP, "https://b.example.com#x"] }, "origin-not-canonical", "$.origins[1]"],
    ["an origin with userinfo", { origins: [APP, "https://me@b.example.com"] }, "origin-not-canonical", "$.origins[1]"],
    ["an origin with an uppercase host", { origins: [APP, "https://B.example.com"] }, "origin-not-canonical", "$.origins[1]"],
    ["an origin with an uppercase scheme", { origins: [APP, "HTTPS://b.example.com"] }, "origin-not-canonical", "$.origins[1]"],
    ["an origin with :443", { origins: [APP, "https://b.example.com:443"] }, "origin-not-canonical", "$.origins[1]"],
    ["an origin with :80", { origins: [APP, "http://b.example.com:80"] }, "origin-not-canonical", "$.origins[1]"],
    ["an origin with a bad port", { origins: [APP, "https://b.example.com:99999"] }, "origin-not-canonical", "$.origins[1]"],
    ["an IDN origin", { origins: [APP, "https://bücher.example"] }, "origin-not-canonical", "$.origins[1]"],
    ["a short IPv4 origin", { origins: [APP, "http://127.1"] }, "origin-not-canonical", "$.origins[1]"],
    ["a host name without a scheme", { origins: [APP, "b.example.com"] }, "origin-not-canonical", "$.origins[1]"],
    ["an empty origin", { origins: [""] }, "origin-not-canonical", "$.origins[0]"],
    ["a bad origin in a route", { origins: [], routes: [{ path: "/a", origins: [APP, "https://b.example.com/"] }] }, "origin-not-canonical", "$.routes[0].origins[1]"],

    // Patterns.
    ["a pattern inside a label", { origins: ["https://*example.org"] }, "origin-pattern", "$.origins[0]"],
    ["a pattern not leftmost", { origins: ["https://a.*.example.org"] }, "origin-pattern", "$.origins[0]"],
    ["a pattern with two stars", { origins: ["https://*.*.example.org"] }, "origin-pattern", "$.origins[0]"],
    ["a pattern without a scheme", { origins: ["*.example.org"] }, "origin-pattern", "$.origins[0]"],
    ["a pattern over an IP address", { origins: ["https://*.0.0.1"] }, "origin-pattern", "$.origins[0]"],
    ["a pattern over an IPv6 literal", { origins: ["https://*.[::1]"] }, "origin-pattern", "$.origins[0]"],
    ["* inside the origins list", { origins: [APP, "*"] }, "wildcard-in-origin-list", "$.origins[1]"],

    // Credentials.
    ["origins * with credentials", { origins: "*", credentials: true }, "wildcard-origin-with-credentials", "$.origins"],
    ['"null" with credentials', { origins: [APP, "null"], credentials: true }, "null-origin-with-credentials", "$.origins[1]"],
    ["https://*.com with credentials", { origins: [APP, "https://*.com"], credentials: true }, "public-suffix-pattern", "$.origins[1]"],
    ["https://*.github.io with credentials", { origins: ["https://*.github.io"], credentials: true }, "public-suffix-pattern", "$.origins[0]"],
    ["https://*.co.uk with credentials", { origins: ["https://*.co.uk"], credentials: true }, "public-suffix-pattern", "$.origins[0]"],
    ["https://*.pages.dev with credentials", { origins: ["https://*.pages.dev"], credentials: true }, "public-suffix-pattern", "$.origins[0]"],
    ["methods * with credentials", { origins: [APP], credentials: true, methods: "*" }, "wildcard-with-credentials", "$.methods"],
    ["* in a methods list with credentials", { origins: [APP], credentials: true, methods: ["GET", "*"] }, "wildcard-with-credentials", "$.methods[1]"],
    ["allowHeaders * with credentials", { origins: [APP], credentials: true, allowHeaders: "*" }, "wildcard-with-credentials", "$.allowHeaders"],
    ["* in allowHeaders with credentials", { origins: [APP], credentials: true, allowHeaders: ["Authorization", "*"] }, "wildcard-with-credentials", "$.allowHeaders[1]"],
    ["exposeHeaders * with credentials", { origins: [APP], credentials: true, exposeHeaders: "*" }, "wildcard-with-credentials", "$.exposeHeaders"],
    ["* in exposeHeaders with credentials", { origins: [APP], credentials: true, exposeHeaders: ["*"] }, "wildcard-with-credentials", "$.exposeHeaders[0]"],

    // Tokens and methods.
    ["a method with a space", { origins: [], methods: ["GET", "GET POST"] }, "not-a-token", "$.methods[1]"],
    ["an empty method", { origins: [], methods: [""] }, "not-a-token", "$.methods[0]"],
    ["a header list in one string", { origins: [], allowHeaders: ["X-A, X-B"] }, "not-a-token", "$.allowHeaders[0]"],
    ["a header with a colon", { origins: [], allowHeaders: ["X-A:"] }, "not-a-token", "$.allowHeaders[0]"],
    ["a non-ASCII header", { origins: [], exposeHeaders: ["X-Ä"] }, "not-a-token", "$.exposeHeaders[0]"],
    ["an empty header", { origins: [], exposeHeaders: ["X-A", ""] }, "not-a-token", "$.exposeHeaders[1]"],
    ["a header with a newline", { origins: [], allowHeaders: ["X-A\n"] }, "not-a-token", "$.allowHeaders[0]"],
    ["CONNECT", { origins: [], methods: ["GET", "CONNECT"] }, "forbidden-method", "$.methods[1]"],
    ["TRACE", { origins: [], methods: ["TRACE"] }, "forbidden-method", "$.methods[0]"],
    ["TRACK", { origins: [], methods: ["TRACK"] }, "forbidden-method", "$.methods[0]"],
    ["trace in lowercase", { origins: [], methods: ["trace"] }, "forbidden-method", "$.methods[0]"],
    ["a forbidden method in a route", { origins: [], routes: [{ path: "/a", methods: ["GET", "TRACE"] }] }, "forbidden-method", "$.routes[0].methods[1]"],
    ["put in lowercase", { origins: [], methods: ["GET", "put"] }, "method-case", "$.methods[1]"],
    ["Delete in mixed case", { origins: [], methods: ["Delete"] }, "method-case", "$.methods[0]"],

    // maxAge.
    ["maxAge below 0", { origins: [], maxAge: -1 }, "max-age-range", "$.maxAge"],
    ["maxAge above 86400", { origins: [], maxAge: 86401 }, "max-age-range", "$.maxAge"],
    ["maxAge not whole", { origins: [], maxAge: 1.5 }, "max-age-range", "$.maxAge"],
    ["maxAge out of range in a route", { origins: [], routes: [{ path: "/a", maxAge: 100000 }] }, "max-age-range", "$.routes[0].maxAge"],

    // Route paths.
    ["a route path without a leading slash", { origins: [], routes: [{ path: "public/*" }] }, "route-path", "$.routes[0].path"],
    ["an empty route path", { origins: [], routes: [{ path: "" }] }, "route-path", "$.routes[0].path"],
    ["a star inside a route path", { origins: [], routes: [{ path: "/a*" }] }, "route-path", "$.routes[0].path"],
    ["a star in the middle of a route path", { origins: [], routes: [{ path: "/a/*/b" }] }, "route-path", "$.routes[0].path"],
    ["a query in a route path", { origins: [], routes: [{ path: "/a?x=1" }] }, "route-path", "$.routes[0].path"],
    ["a fragment in a route path", { origins: [], routes: [{ path: "/a#x" }] }, "route-path", "$.routes[0].path"],
    ["a bad path in a later route", { origins: [], routes: [{ path: "/a" }, { path: "/b/**" }] }, "route-path", "$.routes[1].path"],
  ];

  it.each(rows)("%s", (_name, doc, code, path) => {
    expect(errorsOf(doc)).toEqual([{ code, path }]);
  });

  it("gives every problem a message and a hint", () => {
    for (const [, doc] of rows) {
      const result = validatePolicy(doc);
      expect(result.ok).toBe(false);
      if (result.ok) continue;
      for (const problem of result.errors) {
        expect(problem.severity).toBe("error");
        expect(problem.message.length).toBeGreaterThan(0);
        expect(problem.hint.length).toBeGreaterThan(0);
      }
    }
  });

  const hints: [string, unknown, string][] = [
    ["a default port", { origins: ["https://b.example.com:443"] }, 'write "https://b.example.com"'],
    ["an uppercase host", { origins: ["https://B.Example.com"] }, 'write "https://b.example.com"'],
    ["an IDN", { origins: ["https://bücher.example"] }, 'write "https://xn--bcher-kva.example"'],
    ["a trailing slash", { origins: ["https://b.example.com/"] }, 'write "https://b.example.com"'],
    ["a short IPv4 address", { origins: ["http://127.1:8080"] }, 'write "http://127.0.0.1:8080"'],
  ];
  it.each(hints)("hints the canonical form for %s", (_name, doc, hint) => {
    const result = validatePolicy(doc);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.map((e) => e.hint)).toEqual([hint]);
  });
});

describe("unknown fields", () => {
  const rows: [unknown, string, string][] = [
    [{ origins: [], Origins: [] }, "$.Origins", 'did you mean "origins"?'],
    [{ origins: [], maxage: 600 }, "$.maxage", 'did you mean "maxAge"?'],
    [{ origins: [], ALLOWHEADERS: [] }, "$.ALLOWHEADERS", 'did you mean "allowHeaders"?'],
    [{ origins: [], Routes: [] }, "$.Routes", 'did you mean "routes"?'],
    [{ origins: [], routes: [{ path: "/a", exposeheaders: [] }] }, "$.routes[0].exposeheaders", 'did you mean "exposeHeaders"?'],
    [{ origins: [], routes: [{ path: "/a", Path: "/b" }] }, "$.routes[0].Path", 'did you mean "path"?'],
  ];
  it.each(rows)("%j: %s gets a did-you-mean hint", (doc, path, hint) => {
    const result = validatePolicy(doc);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatchObject({ code: "unknown-field", path, hint });
  });

  it("lists the known fields when nothing is close", () => {
    const result = validatePolicy({ origins: [], allowedOrigins: [] });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(found(result.errors)).toEqual([{ code: "unknown-field", path: "$.allowedOrigins" }]);
    expect(result.errors[0]?.hint).toContain("origins");
    expect(result.errors[0]?.hint).toContain("routes");
  });
});

describe("several problems are reported at once", () => {
  it("reports every problem of a policy, in both scopes", () => {
    const doc = {
      origins: ["https://ok.example.com", "https://bad.example.com/", "*", "https://*.github.io"],
      credentials: true,
      methods: ["GET", "TRACE", "get"],
      allowHeaders: ["X-A", "X B"],
      maxAge: 90000,
      colour: "blue",
      routes: [
        { path: "nope", origins: "*" },
        { path: "/ok", exposeHeaders: "X-A", credentials: "no" },
      ],
    };
    expect(errorsOf(doc)).toEqual(
      expect.arrayContaining([
        { code: "origin-not-canonical", path: "$.origins[1]" },
        { code: "wildcard-in-origin-list", path: "$.origins[2]" },
        { code: "public-suffix-pattern", path: "$.origins[3]" },
        { code: "forbidden-method", path: "$.methods[1]" },
        { code: "method-case", path: "$.methods[2]" },
        { code: "not-a-token", path: "$.allowHeaders[1]" },
        { code: "max-age-range", path: "$.maxAge" },
        { code: "unknown-field", path: "$.colour" },
        { code: "route-path", path: "$.routes[0].path" },
        { code: "wildcard-origin-with-credentials", path: "$.routes[0].origins" },
        { code: "wrong-type", path: "$.routes[1].exposeHeaders" },
        { code: "wrong-type", path: "$.routes[1].credentials" },
      ]),
    );
    expect(errorsOf(doc)).toHaveLength(12);
  });

  it("keeps the paths exact when earlier entries were refused", () => {
    expect(errorsOf({ origins: [APP], methods: [1, "TRACE"] })).toEqual([
      { code: "wrong-type", path: "$.methods[0]" },
      { code: "forbidden-method", path: "$.methods[1]" },
    ]);
    expect(errorsOf({ origins: [APP], credentials: true, methods: ["TRACE", "*"] })).toEqual([
      { code: "forbidden-method", path: "$.methods[0]" },
      { code: "wildcard-with-credentials", path: "$.methods[1]" },
    ]);
    expect(errorsOf({ origins: [APP], credentials: true, allowHeaders: [1, "X Y", "*"] })).toEqual([
      { code: "wrong-type", path: "$.allowHeaders[0]" },
      { code: "not-a-token", path: "$.allowHeaders[1]" },
      { code: "wildcard-with-credentials", path: "$.allowHeaders[2]" },
    ]);
    expect(errorsOf({ origins: [1, "https://b.example.com/", "null"], credentials: true })).toEqual([
      { code: "wrong-type", path: "$.origins[0]" },
      { code: "origin-not-canonical", path: "$.origins[1]" },
      { code: "null-origin-with-credentials", path: "$.origins[2]" },
    ]);
  });

  it("reports warnings beside errors", () => {
    const result = validatePolicy({ origins: [APP, APP], maxAge: -5 });
    expect(result.ok).toBe(false);
    expect(found(result.warnings)).toEqual([{ code: "duplicate", path: "$.origins[1]" }]);
  });
});

describe("credentials and routes: inherited problems are reported once, where they are caused", () => {
  const rows: [string, unknown, Found[]][] = [
    [
      "a route turns credentials on under top-level origins *",
      { origins: "*", routes: [{ path: "/me", credentials: true }] },
      [{ code: "wildcard-origin-with-credentials", path: "$.routes[0].credentials" }],
    ],
    [
      "a route sets origins * under top-level credentials",
      { origins: [APP], credentials: true, routes: [{ path: "/public/*", origins: "*" }] },
      [{ code: "wildcard-origin-with-credentials", path: "$.routes[0].origins" }],
    ],
    [
      "origins * with credentials at the top is not repeated for each route",
      { origins: "*", credentials: true, routes: [{ path: "/a" }, { path: "/b", maxAge: 5 }] },
      [{ code: "wildcard-origin-with-credentials", path: "$.origins" }],
    ],
    [
      "a route lists null under top-level credentials",
      { origins: [APP], credentials: true, routes: [{ path: "/a", origins: [APP, "null"] }] },
      [{ code: "null-origin-with-credentials", path: "$.routes[0].origins[1]" }],
    ],
    [
      "a route turns credentials on under a top-level null origin",
      { origins: [APP, "null"], routes: [{ path: "/a", credentials: true }] },
      [{ code: "null-origin-with-credentials", path: "$.routes[0].credentials" }],
    ],
    [
      "a route turns credentials on under a top-level public suffix pattern",
      { origins: ["https://*.github.io"], routes: [{ path: "/a", credentials: true }] },
      [{ code: "public-suffix-pattern", path: "$.routes[0].credentials" }],
    ],
    [
      "a route lists a public suffix pattern under top-level credentials",
      { origins: [APP], credentials: true, routes: [{ path: "/a", origins: ["https://*.co.uk"] }] },
      [{ code: "public-suffix-pattern", path: "$.routes[0].origins[0]" }],
    ],
    [
      "a route turns credentials on under top-level methods *",
      { origins: [APP], methods: "*", routes: [{ path: "/a", credentials: true }] },
      [{ code: "wildcard-with-credentials", path: "$.routes[0].credentials" }],
    ],
    [
      "a route sets allowHeaders * under top-level credentials",
      { origins: [APP], credentials: true, routes: [{ path: "/a", allowHeaders: "*" }] },
      [{ code: "wildcard-with-credentials", path: "$.routes[0].allowHeaders" }],
    ],
    [
      "a route turning credentials off is fine under origins *",
      { origins: "*", credentials: true, routes: [{ path: "/public/*", credentials: false }] },
      [{ code: "wildcard-origin-with-credentials", path: "$.origins" }],
    ],
    [
      "a public route under credentials is fine when it turns them off",
      { origins: [APP], credentials: true, methods: ["GET"], routes: [{ path: "/public/*", origins: "*", credentials: false, methods: "*" }] },
      [],
    ],
  ];
  it.each(rows)("%s", (_name, doc, errors) => {
    expect(errorsOf(doc)).toEqual(errors);
  });
});

describe("public suffix patterns are refused only with credentials", () => {
  const patterns = ["https://*.com", "https://*.github.io", "https://*.co.uk", "https://*.vercel.app", "https://*.com.au", "http://*.localhost:3000"];
  it.each(patterns)("%s without credentials is accepted", (origin) => {
    expectValid({ origins: [origin] });
    expectValid({ origins: [origin], credentials: false });
  });
  it.each(patterns)("%s with credentials is refused", (origin) => {
    expect(errorsOf({ origins: [origin], credentials: true })).toEqual([{ code: "public-suffix-pattern", path: "$.origins[0]" }]);
  });
  const privatePatterns = ["https://*.example.com", "https://*.me.github.io", "https://*.example.co.uk", "https://*.example.org:8443"];
  it.each(privatePatterns)("%s with credentials is accepted", (origin) => {
    expectValid({ origins: [origin], credentials: true });
  });
});

describe("plain-http origins with credentials are refused, unless the scope allows them by name", () => {
  const insecure = ["http://example.com:6060", "http://*.example.com:6060", "ws://example.com", "http://example.com."];
  it.each(insecure)("%s with credentials is refused", (origin) => {
    expect(errorsOf({ origins: ["https://ok.example.com", origin], credentials: true })).toEqual([{ code: "insecure-origin-with-credentials", path: "$.origins[1]" }]);
  });
  it.each(insecure)("%s without credentials is accepted", (origin) => {
    expectValid({ origins: [origin] });
  });
  it.each(insecure)("%s with credentials and allowInsecureOriginsWithCredentials is accepted", (origin) => {
    expectValid({ origins: [origin], credentials: true, allowInsecureOriginsWithCredentials: true });
  });
  it("names the risk and the escape hatch", () => {
    const result = validatePolicy({ origins: ["http://example.com:6060"], credentials: true });
    if (result.ok) throw new Error("expected a refusal");
    expect(result.errors[0]?.message).toContain("inject script");
    expect(result.errors[0]?.hint).toContain('"allowInsecureOriginsWithCredentials": true');
  });
  const rows: [string, unknown, Found[]][] = [
    ["a route turning credentials on over inherited http origins", { origins: ["http://a.example.com"], routes: [{ path: "/me", credentials: true }] }, [{ code: "insecure-origin-with-credentials", path: "$.routes[0].credentials" }]],
    ["a route allowing them for itself only", { origins: ["https://a.example.com"], credentials: true, routes: [{ path: "/legacy/*", origins: ["http://old.example.com"], allowInsecureOriginsWithCredentials: true }] }, []],
    ["a route taking back the top level's permission", { origins: ["http://a.example.com"], credentials: true, allowInsecureOriginsWithCredentials: true, routes: [{ path: "/x", allowInsecureOriginsWithCredentials: false }] }, [{ code: "insecure-origin-with-credentials", path: "$.routes[0].allowInsecureOriginsWithCredentials" }]],
    ["a wrong type", { origins: [], allowInsecureOriginsWithCredentials: "yes" }, [{ code: "wrong-type", path: "$.allowInsecureOriginsWithCredentials" }]],
    ["a trailing-dot public suffix with credentials", { origins: ["https://*.com."], credentials: true }, [{ code: "public-suffix-pattern", path: "$.origins[0]" }]],
  ];
  it.each(rows)("%s", (_name, doc, errors) => {
    expect(errorsOf(doc)).toEqual(errors);
  });
});

describe("warnings", () => {
  const rows: [string, unknown, Found[]][] = [
    ["maxAge above WebKit's cap", { origins: [APP], maxAge: 601 }, [{ code: "max-age-capped", path: "$.maxAge" }]],
    ["maxAge above Chromium's cap", { origins: [APP], maxAge: 7201 }, [{ code: "max-age-capped", path: "$.maxAge" }]],
    ["maxAge at the limit", { origins: [APP], maxAge: 86400 }, [{ code: "max-age-capped", path: "$.maxAge" }]],
    ["maxAge above the cap in a route", { origins: [APP], routes: [{ path: "/a", maxAge: 8000 }] }, [{ code: "max-age-capped", path: "$.routes[0].maxAge" }]],
    ["a duplicate origin", { origins: [APP, "https://b.example.com", APP] }, [{ code: "duplicate", path: "$.origins[2]" }]],
    ["a duplicate pattern", { origins: ["https://*.example.org", "https://*.example.org"] }, [{ code: "duplicate", path: "$.origins[1]" }]],
    ["a duplicate method", { origins: [APP], methods: ["GET", "PUT", "GET"] }, [{ code: "duplicate", path: "$.methods[2]" }]],
    ["a duplicate header in another case", { origins: [APP], allowHeaders: ["X-A", "x-a"] }, [{ code: "duplicate", path: "$.allowHeaders[1]" }]],
    ["a duplicate exposed header", { origins: [APP], exposeHeaders: ["X-Request-Id", "X-REQUEST-ID"] }, [{ code: "duplicate", path: "$.exposeHeaders[1]" }]],
    ["the null origin", { origins: [APP, "null"] }, [{ code: "null-origin", path: "$.origins[1]" }]],
    ["the null origin in a route", { origins: [], routes: [{ path: "/a", origins: ["null"] }] }, [{ code: "null-origin", path: "$.routes[0].origins[0]" }]],
    ['allowHeaders "*" without Authorization', { origins: [APP], allowHeaders: "*" }, [{ code: "authorization-not-covered", path: "$.allowHeaders" }]],
    ['"*" in allowHeaders without Authorization', { origins: "*", allowHeaders: ["X-A", "*"] }, [{ code: "authorization-not-covered", path: "$.allowHeaders" }]],
    ['allowHeaders "*" in a route', { origins: [APP], routes: [{ path: "/a", allowHeaders: "*" }] }, [{ code: "authorization-not-covered", path: "$.routes[0].allowHeaders" }]],
    ['"*" beside Authorization', { origins: [APP], allowHeaders: ["*", "authorization"] }, []],
    ["maxAge at WebKit's cap", { origins: [APP], maxAge: 600 }, []],
    // Dead configuration: entries that can never do what they say.
    ...["Connection", "Origin", "Cookie", "Sec-Fetch-Site", "Proxy-Authorization", "Access-Control-Request-Method", "access-control-request-private-network"].map(
      (name): [string, unknown, Found[]] => [`${name} in allowHeaders`, { origins: [APP], allowHeaders: ["X-A", name] }, [{ code: "forbidden-request-header", path: "$.allowHeaders[1]" }]],
    ),
    ...["Access-Control-Allow-Origin", "access-control-allow-credentials", "Access-Control-Max-Age"].map(
      (name): [string, unknown, Found[]] => [`${name} in allowHeaders`, { origins: [APP], allowHeaders: [name] }, [{ code: "response-header-in-allow-headers", path: "$.allowHeaders[0]" }]],
    ),
    ...["Set-Cookie", "set-cookie2", "Access-Control-Allow-Origin"].map(
      (name): [string, unknown, Found[]] => [`${name} in exposeHeaders`, { origins: [APP], routes: [{ path: "/a", exposeHeaders: ["ETag", name] }] }, [{ code: "never-exposed", path: "$.routes[0].exposeHeaders[1]" }]],
    ),
    ["a file: origin", { origins: [APP, "file://host"] }, [{ code: "file-origin", path: "$.origins[1]" }]],
    ["a route path with an escaped unreserved character", { origins: [APP], routes: [{ path: "/%61dmin/*" }] }, [{ code: "route-path-spelling", path: "$.routes[0].path" }]],
    ["a route path with an empty segment", { origins: [APP], routes: [{ path: "/a//b" }] }, [{ code: "route-path-spelling", path: "$.routes[0].path" }]],
    ["a route path with a ;parameter", { origins: [APP], routes: [{ path: "/a;x/*" }] }, [{ code: "route-path-spelling", path: "$.routes[0].path" }]],
    ["a route path with a dot segment", { origins: [APP], routes: [{ path: "/a/../b" }] }, [{ code: "route-path-spelling", path: "$.routes[0].path" }]],
    ["a route path with a needed escape", { origins: [APP], routes: [{ path: "/caf%C3%A9/*" }] }, []],
    ["headers browsers send and read", { origins: [APP], allowHeaders: ["X-Sec", "Accept", "X-Proxy"], exposeHeaders: ["X-Cookie", "Content-Length"] }, []],
    ["PATCH and patch are different methods", { origins: [APP], methods: ["PATCH", "patch"] }, []],
  ];
  it.each(rows)("%s", (_name, doc, warnings) => {
    expect(validatePolicy(doc).ok).toBe(true);
    expect(warningsOf(doc)).toEqual(warnings);
  });

  it("marks warnings as warnings", () => {
    const result = expectValid({ origins: ["null"], maxAge: 9000 });
    expect(result.warnings[1]?.message).toBe("browsers cache a preflight for less than 9000 seconds: WebKit (Safari) at 600, Chromium at 7200");
    expect(result.warnings[1]?.hint).toBe("use at most 600 for the same behaviour in every browser");
    expect(result.warnings.map((w) => w.severity)).toEqual(["warning", "warning"]);
  });

  it("does not repeat an inherited warning for each route", () => {
    expect(warningsOf({ origins: [APP], allowHeaders: "*", routes: [{ path: "/a" }, { path: "/b", maxAge: 1 }] })).toEqual([
      { code: "authorization-not-covered", path: "$.allowHeaders" },
    ]);
  });
});

describe("inputs that are not policies", () => {
  const values: [string, unknown][] = [
    ["null", null],
    ["a list", []],
    ["a list of policies", [{ origins: [] }]],
    ["a number", 42],
    ["a string", '{"origins": []}'],
    ["a boolean", true],
    ["undefined", undefined],
  ];
  it.each(values)("%s is refused at $", (_name, value) => {
    expect(errorsOf(value)).toEqual([{ code: "wrong-type", path: "$" }]);
  });

  const texts: [string, string, Found[]][] = [
    ["empty text", "", [{ code: "invalid-json", path: "$" }]],
    ["a truncated object", '{"origins": [', [{ code: "invalid-json", path: "$" }]],
    ["a trailing comma", '{"origins": [],}', [{ code: "invalid-json", path: "$" }]],
    ["single quotes", "{'origins': []}", [{ code: "invalid-json", path: "$" }]],
    ["a comment", '{"origins": [] // none\n}', [{ code: "invalid-json", path: "$" }]],
    ["JSON null", "null", [{ code: "wrong-type", path: "$" }]],
    ["a JSON list", "[]", [{ code: "wrong-type", path: "$" }]],
    ["a JSON string", '"*"', [{ code: "wrong-type", path: "$" }]],
    ["valid JSON, bad policy", '{"origins": "https://a.example.com"}', [{ code: "wrong-type", path: "$.origins" }]],
  ];
  it.each(texts)("parsePolicy: %s", (_name, text, errors) => {
    const result = parsePolicy(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(found(result.errors)).toEqual(errors);
  });

  it("parsePolicy says why the JSON is invalid", () => {
    const result = parsePolicy('{"origins": [}');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors[0]?.message).toMatch(/^not valid JSON: ./);
  });

  it("parsePolicy refuses a policy over the size limit before parsing it", () => {
    const text = " ".repeat(MAX_POLICY_BYTES + 1);
    const result = parsePolicy(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(found(result.errors)).toEqual([{ code: "too-large", path: "$" }]);
  });

  it("parsePolicy counts the size in UTF-8 bytes, as the worker reads it from KV", () => {
    // 2 Mi characters of "é", 2 bytes each: under the limit in characters, over it in bytes.
    const json = JSON.stringify({ origins: [APP], exposeHeaders: [] });
    const text = `${json.slice(0, -1)}, "pad": "${"é".repeat(MAX_POLICY_BYTES / 2)}"}`;
    expect(text.length).toBeLessThan(MAX_POLICY_BYTES);
    const result = parsePolicy(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(found(result.errors)).toEqual([{ code: "too-large", path: "$" }]);
  });

  it("parsePolicy accepts a policy exactly at the size limit", () => {
    const json = JSON.stringify({ origins: [APP] });
    const text = json + " ".repeat(MAX_POLICY_BYTES - json.length);
    expect(text.length).toBe(MAX_POLICY_BYTES);
    expect(parsePolicy(text).ok).toBe(true);
  });
});

describe("validatePolicy never throws", () => {
  const deep = (depth: number): unknown => {
    let value: unknown = [];
    for (let i = 0; i < depth; i++) value = [value];
    return value;
  };
  const huge = "x".repeat(1 << 20);
  const bareObject = Object.assign(Object.create(null) as Record<string, unknown>, { origins: [APP] });
  const sparse: unknown[] = [];
  sparse[3] = APP;
  const odd: [string, unknown][] = [
    ["__proto__ as a field", JSON.parse('{"__proto__": 1}')],
    ["__proto__ with origins *", JSON.parse('{"origins": [], "__proto__": {"origins": "*", "credentials": true}}')],
    ["__proto__ in a route", JSON.parse('{"origins": [], "routes": [{"path": "/a", "__proto__": {"credentials": true}}]}')],
    ["constructor and toString fields", { origins: [], constructor: 1, toString: "x", hasOwnProperty: null }],
    ["a deeply nested list as the policy", deep(10000)],
    ["a deeply nested list as an origin", { origins: [deep(10000)] }],
    ["a deeply nested list as routes", { origins: [], routes: deep(10000) }],
    ["a deeply nested object as a route", { origins: [], routes: [{ path: "/a", credentials: { a: { b: { c: {} } } } }] }],
    ["a huge origin", { origins: [`https://${huge}.example.org`] }],
    ["a huge pattern", { origins: [`https://*.${huge}`] }],
    ["a huge origin without a scheme", { origins: [huge] }],
    ["a huge method", { origins: [], methods: [huge] }],
    ["a huge header list", { origins: [], allowHeaders: [`${huge} ${huge}`] }],
    ["a huge route path", { origins: [], routes: [{ path: `/${huge}*` }] }],
    ["a huge field name", { origins: [], [huge]: 1 }],
    ["many origins", { origins: Array.from({ length: 20000 }, (_, i) => `https://a${i}.example.org/`) }],
    ["an object without a prototype", bareObject],
    ["a sparse origins list", { origins: sparse }],
    ["NaN and Infinity", { origins: [], maxAge: Number.NaN, credentials: Number.POSITIVE_INFINITY }],
    ["a bigint", { origins: [], maxAge: 10n }],
    ["a symbol", { origins: [Symbol("x")], methods: Symbol("y") }],
    ["a function", { origins: () => "*" }],
    ["a Date and a Map", { origins: new Date(0), routes: new Map() }],
  ];
  it.each(odd)("%s", (_name, input) => {
    let result: ValidationResult | undefined;
    expect(() => {
      result = validatePolicy(input);
    }).not.toThrow();
    expect(typeof result?.ok).toBe("boolean");
    // Messages quote at most a short excerpt of any value.
    for (const problem of [...(result && !result.ok ? result.errors : []), ...(result?.warnings ?? [])]) {
      expect(problem.message.length).toBeLessThan(400);
      expect(problem.path.length).toBeLessThan(400 + (problem.code === "unknown-field" ? huge.length : 0));
    }
  });

  it("reports __proto__ as an unknown field and pollutes nothing", () => {
    expect(errorsOf(JSON.parse('{"__proto__": 1}'))).toEqual([
      { code: "unknown-field", path: "$.__proto__" },
      { code: "missing-field", path: "$.origins" },
    ]);
    const sneaky = JSON.parse('{"origins": [], "__proto__": {"origins": "*", "credentials": true}}');
    const result = validatePolicy(sneaky);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(found(result.errors)).toEqual([{ code: "unknown-field", path: "$.__proto__" }]);
    expect(({} as Record<string, unknown>).origins).toBeUndefined();
    expect(({} as Record<string, unknown>).credentials).toBeUndefined();
  });

  it("refuses the odd values it can name", () => {
    expect(errorsOf({ origins: [deep(10000)] })).toEqual([{ code: "wrong-type", path: "$.origins[0]" }]);
    expect(errorsOf({ origins: [], maxAge: Number.NaN })).toEqual([{ code: "max-age-range", path: "$.maxAge" }]);
    expect(errorsOf({ origins: [], maxAge: 10n })).toEqual([{ code: "wrong-type", path: "$.maxAge" }]);
    expect(errorsOf(bareObject)).toEqual([]);
    expect(errorsOf({ origins: sparse })).toEqual([]);
    expect(errorsOf({ origins: [`https://${huge}.example.org`] })).toEqual([{ code: "origin-not-canonical", path: "$.origins[0]" }]);
  });

  it("parsePolicy never throws on deeply nested JSON", () => {
    const text = `{"origins": ${"[".repeat(100000)}${"]".repeat(100000)}}`;
    expect(() => parsePolicy(text)).not.toThrow();
    expect(parsePolicy(text).ok).toBe(false);
  });
});

describe("compile helper", () => {
  it("compiles a validated policy", () => {
    const compiled = compile(EXAMPLE);
    expect(compiled.rules.source).toBe("$");
    expect(compiled.routes.map((r) => [r.path, r.prefix, r.rules.source])).toEqual([["/public/", true, "$.routes[0]"]]);
  });
});
