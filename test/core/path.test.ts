/**
 * Paths as servers read them: the normal form routes are matched on, and
 * every reading of an ambiguous spelling.
 */
import { describe, expect, it } from "vitest";
import { compilePolicy, decide, validatePolicy, type CompiledPolicy, type Decision } from "../../src/core/index.js";
import { normalizePath, pathReadings } from "../../src/core/path.js";

describe("normalizePath: RFC 3986 normal form", () => {
  const rows: [string, string][] = [
    ["/admin/users", "/admin/users"],
    ["/%61dmin/users", "/admin/users"],
    ["/%41DMIN", "/ADMIN"],
    ["/%7euser/%2Dx%2e%5F", "/~user/-x._"],
    ["/caf%c3%a9", "/caf%C3%A9"],
    ["/a%2fb", "/a%2Fb"],
    ["/a/%2e/b", "/a/b"],
    ["/a/b/%2E%2e/c", "/a/c"],
    ["/a/.", "/a/"],
    ["/..", "/"],
    ["/%", "/%"],
    ["/%zz", "/%zz"],
  ];
  it.each(rows)("%s → %s", (path, normal) => {
    expect(normalizePath(path)).toBe(normal);
  });
});

describe("pathReadings: every way a common server reads a path", () => {
  const rows: [string, string[]][] = [
    ["/admin/users", ["/admin/users"]],
    ["/%61dmin/users", ["/admin/users"]],
    ["/admin%2Fusers", ["/admin%2Fusers", "/admin/users"]],
    ["/admin%2fusers", ["/admin%2Fusers", "/admin/users"]],
    ["/admin%5Cusers", ["/admin%5Cusers", "/admin/users"]],
    ["//admin/users", ["//admin/users", "/admin/users"]],
    ["/admin;x/users", ["/admin;x/users", "/admin/users"]],
    ["/admin%3Bx/users", ["/admin%3Bx/users", "/admin;x/users", "/admin/users"]],
    ["/public/..%2Fadmin/users", ["/public/..%2Fadmin/users", "/admin/users"]],
    ["/public/..;/admin/users", ["/public/..;/admin/users", "/admin/users"]],
    // A malformed escape that leaves a new one behind: read once, and as often as it takes.
    ["/%%361dmin/users", ["/%61dmin/users", "/admin/users"]],
  ];
  it.each(rows)("%s", (path, readings) => {
    expect(new Set(pathReadings(path))).toEqual(new Set(readings));
  });
});

/** The example: a route narrower than the top level. */
const POLICY = {
  origins: ["https://*.example.com"],
  credentials: true,
  methods: ["GET", "PUT"],
  exposeHeaders: ["X-Top"],
  routes: [{ path: "/admin/*", origins: ["https://admin.example.com"], methods: ["GET", "PUT", "DELETE"], exposeHeaders: ["X-Top", "X-Admin"] }],
};

function compiled(doc: unknown): CompiledPolicy {
  const result = validatePolicy(doc);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return compilePolicy(result.policy);
}

function ask(policy: CompiledPolicy, path: string, origin: string, preflightMethod?: string): Decision {
  return decide(policy, {
    method: preflightMethod ? "OPTIONS" : "GET",
    url: new URL(`https://api.example.net${path}`),
    origin,
    requestMethod: preflightMethod ?? null,
    requestHeaders: null,
  });
}

const headers = (decision: Decision) => (decision.allowed ? Object.fromEntries(decision.headers) : null);

describe("routes cannot be bypassed by spelling the path differently", () => {
  const policy = compiled(POLICY);
  const spellings = ["/%61dmin/users", "/ad%6Din/users", "/admin%2Fusers", "/admin%2fusers", "//admin/users", "/admin;x/users", "/admin%3Bx/users", "/public/..%2Fadmin/users", "/x/..;/admin/users", "/admin%5Cusers", "/%%361dmin/users"];
  it.each(spellings)("%s from an origin only the top level allows: refused", (path) => {
    expect(ask(policy, path, "https://blog.example.com").allowed).toBe(false);
    expect(ask(policy, path, "https://blog.example.com", "PUT").allowed).toBe(false);
  });
  it.each(spellings)("%s from the admin origin: allowed, never with more than the plain path gets", (path) => {
    const plain = headers(ask(policy, "/admin/users", "https://admin.example.com"))!;
    const spelled = headers(ask(policy, path, "https://admin.example.com"))!;
    expect(spelled["Access-Control-Allow-Origin"]).toBe("https://admin.example.com");
    for (const name of (spelled["Access-Control-Expose-Headers"] ?? "").split(", ")) expect(plain["Access-Control-Expose-Headers"]).toContain(name);
  });

  it("an ambiguous path gets only what both readings allow, and the refusal names the refusing scope", () => {
    // "/admin%2Fusers" is the top level's for servers that keep %2F, $.routes[0]'s for those that decode it.
    const refused = ask(policy, "/admin%2Fusers", "https://admin.example.com", "DELETE");
    expect(refused.allowed).toBe(false);
    if (refused.allowed) return;
    expect(refused.refusal).toMatchObject({ rule: "method", field: "$.methods" });
    expect(refused.refusal?.message).toContain("the rules of $ & $.routes[0] all apply");
    const allowed = ask(policy, "/admin%2Fusers", "https://admin.example.com", "PUT");
    expect(headers(allowed)).toEqual({
      "Access-Control-Allow-Origin": "https://admin.example.com",
      "Access-Control-Allow-Credentials": "true",
      "Access-Control-Allow-Methods": "GET, PUT",
    });
    expect(headers(ask(policy, "/admin%2Fusers", "https://admin.example.com"))).toMatchObject({ "Access-Control-Expose-Headers": "X-Top" });
  });

  it("an unambiguous escape is simply its normal form", () => {
    expect(headers(ask(policy, "/%61dmin/users", "https://admin.example.com", "DELETE"))).toMatchObject({ "Access-Control-Allow-Methods": "GET, PUT, DELETE" });
  });

  it("a route written with escapes matches its normal form", () => {
    const escaped = compiled({ origins: [], routes: [{ path: "/%61pi/*", origins: "*" }] });
    expect(ask(escaped, "/api/x", "https://a.test").allowed).toBe(true);
  });

  it("public and credentialed readings combine into no credentials", () => {
    const mixed = compiled({ origins: ["https://a.test"], credentials: true, routes: [{ path: "/pub/*", origins: "*", credentials: false }] });
    expect(headers(ask(mixed, "/pub%2Fx", "https://a.test"))).toEqual({ "Access-Control-Allow-Origin": "https://a.test" });
    expect(ask(mixed, "/pub%2Fx", "https://other.test").allowed).toBe(false);
  });
});
