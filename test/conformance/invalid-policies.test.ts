/**
 * Conformance: invalid policies, each with every error it must get (JSON path
 * and code), written from the policy rules. Each is checked in the core's
 * validator and at the Worker, which must refuse it, fail closed, and name
 * the paths in its log line.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { parsePolicy } from "../../src/core/index.js";
import { putPolicy, send, uniqueHost } from "../worker/helpers.js";

const A = "https://a.test";

/** [name, document, every expected error as [path, code]]. */
const INVALID: [string, unknown, [string, string][]][] = [
  ["a list instead of an object", [A], [["$", "wrong-type"]]],
  ["a string instead of an object", "origins", [["$", "wrong-type"]]],
  ["no origins", {}, [["$.origins", "missing-field"]]],
  ["an unknown field", { origins: [A], origin: [A] }, [["$.origin", "unknown-field"]]],
  ["a field in the wrong case", { origins: [A], MaxAge: 600 }, [["$.MaxAge", "unknown-field"]]],
  ["origins as a single string", { origins: A }, [["$.origins", "wrong-type"]]],
  ["an origin that is not a string", { origins: [A, 42] }, [["$.origins[1]", "wrong-type"]]],
  ["an origin with a trailing slash", { origins: [`${A}/`] }, [["$.origins[0]", "origin-not-canonical"]]],
  ["an origin with a path", { origins: [`${A}/app`] }, [["$.origins[0]", "origin-not-canonical"]]],
  ["an origin with a query", { origins: [`${A}?x=1`] }, [["$.origins[0]", "origin-not-canonical"]]],
  ["an origin with userinfo", { origins: ["https://user:pw@a.test"] }, [["$.origins[0]", "origin-not-canonical"]]],
  ["an origin with an uppercase host", { origins: ["https://A.test"] }, [["$.origins[0]", "origin-not-canonical"]]],
  ["an https origin with :443", { origins: ["https://a.test:443"] }, [["$.origins[0]", "origin-not-canonical"]]],
  ["an http origin with :80", { origins: ["http://a.test:80"] }, [["$.origins[0]", "origin-not-canonical"]]],
  ["an origin with a port out of range", { origins: ["https://a.test:65536"] }, [["$.origins[0]", "origin-not-canonical"]]],
  ["a host without a scheme", { origins: ["a.test"] }, [["$.origins[0]", "origin-not-canonical"]]],
  ["a * that is not the leftmost label", { origins: ["https://a.*.test"] }, [["$.origins[0]", "origin-pattern"]]],
  ["a * inside a label", { origins: ["https://*a.test"] }, [["$.origins[0]", "origin-pattern"]]],
  ["a pattern without a scheme", { origins: ["*.a.test"] }, [["$.origins[0]", "origin-pattern"]]],
  ["two stars", { origins: ["https://*.*.a.test"] }, [["$.origins[0]", "origin-pattern"]]],
  ["a pattern over an IP address", { origins: ["https://*.10.0.0.1"] }, [["$.origins[0]", "origin-pattern"]]],
  ['"*" inside the origins list', { origins: [A, "*"] }, [["$.origins[1]", "wildcard-in-origin-list"]]],
  ['origins "*" with credentials', { origins: "*", credentials: true }, [["$.origins", "wildcard-origin-with-credentials"]]],
  ['a "null" origin with credentials', { origins: [A, "null"], credentials: true }, [["$.origins[1]", "null-origin-with-credentials"]]],
  ["a pattern over a top-level domain with credentials", { origins: ["https://*.com"], credentials: true }, [["$.origins[0]", "public-suffix-pattern"]]],
  ["a pattern over a hosting platform with credentials", { origins: ["https://*.github.io"], credentials: true }, [["$.origins[0]", "public-suffix-pattern"]]],
  ["a pattern over a country's second level with credentials", { origins: ["https://*.co.uk"], credentials: true }, [["$.origins[0]", "public-suffix-pattern"]]],
  ['"*" methods with credentials', { origins: [A], credentials: true, methods: ["*"] }, [["$.methods[0]", "wildcard-with-credentials"]]],
  ['"*" request headers with credentials', { origins: [A], credentials: true, allowHeaders: ["Content-Type", "*"] }, [["$.allowHeaders[1]", "wildcard-with-credentials"]]],
  ['"*" exposed headers with credentials', { origins: [A], credentials: true, exposeHeaders: ["*"] }, [["$.exposeHeaders[0]", "wildcard-with-credentials"]]],
  ["credentials as a string", { origins: [A], credentials: "true" }, [["$.credentials", "wrong-type"]]],
  ["two methods in one string", { origins: [A], methods: ["GET, POST"] }, [["$.methods[0]", "not-a-token"]]],
  ["CONNECT", { origins: [A], methods: ["GET", "CONNECT"] }, [["$.methods[1]", "forbidden-method"]]],
  ["TRACE and TRACK", { origins: [A], methods: ["TRACE", "TRACK"] }, [["$.methods[0]", "forbidden-method"], ["$.methods[1]", "forbidden-method"]]],
  ["a lowercase method that browsers uppercase", { origins: [A], methods: ["put"] }, [["$.methods[0]", "method-case"]]],
  ["methods as a string", { origins: [A], methods: "GET" }, [["$.methods", "wrong-type"]]],
  ["a header list in one string", { origins: [A], allowHeaders: ["Content-Type, Authorization"] }, [["$.allowHeaders[0]", "not-a-token"]]],
  ["a header name with a colon", { origins: [A], exposeHeaders: ["X-Id:"] }, [["$.exposeHeaders[0]", "not-a-token"]]],
  ["a header name that is not a string", { origins: [A], allowHeaders: [null] }, [["$.allowHeaders[0]", "wrong-type"]]],
  ["a negative maxAge", { origins: [A], maxAge: -1 }, [["$.maxAge", "max-age-range"]]],
  ["a maxAge over a day", { origins: [A], maxAge: 86401 }, [["$.maxAge", "max-age-range"]]],
  ["a fractional maxAge", { origins: [A], maxAge: 1.5 }, [["$.maxAge", "max-age-range"]]],
  ["maxAge as a string", { origins: [A], maxAge: "600" }, [["$.maxAge", "wrong-type"]]],
  ["routes as an object", { origins: [A], routes: { "/a": {} } }, [["$.routes", "wrong-type"]]],
  ["a route that is not an object", { origins: [A], routes: ["/a"] }, [["$.routes[0]", "wrong-type"]]],
  ["a route without a path", { origins: [A], routes: [{ origins: "*" }] }, [["$.routes[0].path", "missing-field"]]],
  ["a route path without a leading slash", { origins: [A], routes: [{ path: "public/*" }] }, [["$.routes[0].path", "route-path"]]],
  ["a * inside a route path", { origins: [A], routes: [{ path: "/a/*/b" }] }, [["$.routes[0].path", "route-path"]]],
  ["a route path with a query", { origins: [A], routes: [{ path: "/a?x=1" }] }, [["$.routes[0].path", "route-path"]]],
  ["an unknown field in a route", { origins: [A], routes: [{ path: "/a", route: "/b" }] }, [["$.routes[0].route", "unknown-field"]]],
  [
    'a route with origins "*" under top-level credentials',
    { origins: [A], credentials: true, routes: [{ path: "/a", origins: "*" }] },
    [["$.routes[0].origins", "wildcard-origin-with-credentials"]],
  ],
  [
    'a route turning credentials on under top-level origins "*"',
    { origins: "*", routes: [{ path: "/a", credentials: true }] },
    [["$.routes[0].credentials", "wildcard-origin-with-credentials"]],
  ],
  ["a bad value inside a route", { origins: [A], routes: [{ path: "/a", maxAge: 100000 }] }, [["$.routes[0].maxAge", "max-age-range"]]],
  [
    "every problem at once",
    { origins: ["https://A.test", "https://a.test/"], credentials: 1, maxAge: -5, extra: true, routes: [{ path: "x" }] },
    [
      ["$.extra", "unknown-field"],
      ["$.origins[0]", "origin-not-canonical"],
      ["$.origins[1]", "origin-not-canonical"],
      ["$.credentials", "wrong-type"],
      ["$.maxAge", "max-age-range"],
      ["$.routes[0].path", "route-path"],
    ],
  ],
];

const sorted = (pairs: [string, string][]) => [...pairs].sort((a, b) => (a[0] + a[1]).localeCompare(b[0] + b[1]));

afterEach(() => vi.restoreAllMocks());

describe("conformance: invalid policies", () => {
  it("has at least 25 invalid policies", () => {
    expect(INVALID.length).toBeGreaterThanOrEqual(25);
  });

  it.each(INVALID)("the validator refuses %s, naming each path and code", (_, doc, expected) => {
    const result = parsePolicy(JSON.stringify(doc));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(sorted(result.errors.map((problem) => [problem.path, problem.code]))).toEqual(sorted(expected));
    for (const problem of result.errors) expect(problem.hint.length).toBeGreaterThan(0);
  });

  it.each(INVALID)("the Worker refuses %s: fails closed and logs the paths", async (_, doc, expected) => {
    const host = uniqueHost();
    await putPolicy(host, JSON.stringify(doc));
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const res = await send(`https://${host}/x`, { method: "OPTIONS", headers: { Origin: A, "Access-Control-Request-Method": "GET" } });
    expect(res.status).toBe(403);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBeNull();
    const lines = warn.mock.calls.map((call) => JSON.parse(String(call[0])) as { event: string; key: string; keeping: string; errors: string[] });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ event: "policy-reload-failed", key: host, keeping: "nothing (failing closed)" });
    for (const [path] of expected) expect(lines[0]!.errors.some((line) => line.startsWith(`${path}: `)), path).toBe(true);
  });
});
