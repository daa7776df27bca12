/**
 * Origins in a policy (checkOrigin) and request origins against a compiled
 * list (OriginMatcher), including the classic allowlist attacks.
 */
import { describe, expect, it } from "vitest";
import { checkOrigin, OriginMatcher, splitOrigin, type OriginEntry } from "../../src/core/index.js";
import { intersectOrigins, isInsecure, type OriginProblem } from "../../src/core/origin.js";

/** A matcher over policy origins, each of which must pass checkOrigin. */
function matcher(...origins: string[]): OriginMatcher {
  for (const origin of origins) {
    const check = checkOrigin(origin);
    if (!check.ok) throw new Error(`test setup: ${origin} refused (${check.problem})`);
  }
  return new OriginMatcher(origins);
}

describe("checkOrigin: accepted canonical origins", () => {
  const exact: string[] = [
    "https://app.example.com",
    "http://example.org",
    "http://localhost:3000",
    "https://example.org:8443",
    "https://example.org:1",
    "https://example.org:65535",
    "http://example.org:443", // 443 is not http's default port
    "https://example.org:80", // nor 80 https's
    "capacitor://localhost",
    "ionic://localhost",
    "chrome-extension://abcdefghijklmnopabcdefghijklmnop",
    "moz-extension://0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    "http://127.0.0.1",
    "http://127.0.0.1:8080",
    "http://[::1]:8080",
    "https://[2001:db8::1]",
    "https://xn--bcher-kva.example",
    "https://a-b.c_d.example.org",
    // The fully qualified form, with its trailing dot, is what browsers send for such a page.
    "http://example.com.:3999",
    "https://foo.localhost.",
    "null",
  ];
  it.each(exact)("%s is an exact entry", (origin) => {
    expect(checkOrigin(origin)).toEqual({ ok: true, entry: { kind: "exact", origin } });
  });

  const patterns: [string, OriginEntry][] = [
    ["https://*.example.org", { kind: "pattern", scheme: "https", domain: "example.org", port: "" }],
    ["http://*.localhost:3000", { kind: "pattern", scheme: "http", domain: "localhost", port: "3000" }],
    ["https://*.a.b.example.org:8443", { kind: "pattern", scheme: "https", domain: "a.b.example.org", port: "8443" }],
    ["capacitor://*.example.org", { kind: "pattern", scheme: "capacitor", domain: "example.org", port: "" }],
    ["https://*.com", { kind: "pattern", scheme: "https", domain: "com", port: "" }],
    ["https://*.example.org.", { kind: "pattern", scheme: "https", domain: "example.org.", port: "" }],
  ];
  it.each(patterns)("%s is a pattern", (origin, entry) => {
    expect(checkOrigin(origin)).toEqual({ ok: true, entry });
  });
});

describe("checkOrigin: every non-canonical form is refused", () => {
  // [value, problem, the canonical hint, or undefined when there is none]
  const rows: [string, OriginProblem, string | undefined][] = [
    ["https://example.org/path", "path", "https://example.org"],
    ["https://example.org/a/b", "path", "https://example.org"],
    ["https://example.org/", "trailing-slash", "https://example.org"],
    ["capacitor://localhost/", "trailing-slash", undefined], // opaque origin: no hint
    ["https://example.org?x=1", "query", "https://example.org"],
    ["https://example.org/?x=1", "query", "https://example.org"],
    ["https://example.org#top", "fragment", "https://example.org"],
    ["https://user@example.org", "userinfo", "https://example.org"],
    ["https://user:secret@example.org", "userinfo", "https://example.org"],
    ["HTTPS://example.org", "uppercase", "https://example.org"],
    ["Https://example.org", "uppercase", "https://example.org"],
    ["https://Example.org", "uppercase", "https://example.org"],
    ["https://EXAMPLE.ORG:8443", "uppercase", "https://example.org:8443"],
    ["capacitor://LOCALHOST", "uppercase", undefined],
    ["https://example.org:443", "default-port", "https://example.org"],
    ["http://example.org:80", "default-port", "http://example.org"],
    ["wss://example.org:443", "default-port", "wss://example.org"],
    ["ws://example.org:80", "default-port", "ws://example.org"],
    ["https://example.org:", "bad-port", "https://example.org"],
    ["https://example.org:0", "bad-port", undefined],
    ["https://example.org:65536", "bad-port", undefined],
    ["https://example.org:0443", "bad-port", "https://example.org"],
    ["https://example.org:08080", "bad-port", "https://example.org:8080"],
    ["https://example.org:abc", "bad-port", undefined],
    ["https://example.org:80:80", "bad-port", undefined],
    ["https://example.org:-1", "bad-port", undefined],
    ["https://bücher.example", "bad-host", "https://xn--bcher-kva.example"],
    ["https://BÜCHER.example", "uppercase", "https://xn--bcher-kva.example"],
    ["https://exa%6dple.org", "bad-host", "https://example.org"],
    ["https://example.org..", "bad-host", undefined],
    ["https://.", "bad-host", undefined],
    ["https://a..example.org", "bad-host", undefined],
    ["https://.example.org", "bad-host", undefined],
    ["https://exa mple.org", "bad-host", undefined],
    ["https://example.org ", "bad-host", "https://example.org"],
    ["https://", "bad-host", undefined],
    ["https://-a.example.org", "bad-host", undefined],
    [`https://${"a".repeat(64)}.example.org`, "bad-host", undefined],
    ["http://[::1", "bad-host", undefined],
    ["http://127.1", "not-canonical", "http://127.0.0.1"],
    ["http://0x7f.0.0.1", "not-canonical", "http://127.0.0.1"],
    ["http://2130706433", "not-canonical", "http://127.0.0.1"],
    ["http://[::0001]", "not-canonical", "http://[::1]"],
    ["http://[0:0:0:0:0:0:0:1]:8080", "not-canonical", "http://[::1]:8080"],
    ["example.org", "not-an-origin", undefined],
    ["//example.org", "not-an-origin", undefined],
    ["https//example.org", "not-an-origin", undefined],
    [" https://example.org", "not-an-origin", "https://example.org"],
    ["1http://example.org", "not-an-origin", undefined],
    ["", "not-an-origin", undefined],
    ["Null", "not-an-origin", undefined],
  ];
  it.each(rows)("%s: %s", (value, problem, canonical) => {
    const expected = canonical === undefined ? { ok: false, problem } : { ok: false, problem, canonical };
    expect(checkOrigin(value)).toEqual(expected);
  });
});

describe("checkOrigin: patterns must be one whole leftmost label", () => {
  const rows: [string, OriginProblem][] = [
    ["https://*example.org", "bad-pattern"],
    ["https://a*.example.org", "bad-pattern"],
    ["https://a.*.example.org", "bad-pattern"],
    ["https://*.*.example.org", "bad-pattern"],
    ["https://*.example.*", "bad-pattern"],
    ["https://*.example.org:*", "bad-pattern"],
    ["*.example.org", "bad-pattern"],
    ["*://example.org", "bad-pattern"],
    ["https://*", "bad-pattern"],
    ["*", "bad-pattern"],
    ["https://*.example.org/", "trailing-slash"],
    ["https://*.example.org/api", "path"],
    ["https://*.example.org:443", "default-port"],
    ["https://*.example.org:", "bad-port"],
    ["https://*.Example.org", "uppercase"],
    ["HTTPS://*.example.org", "uppercase"],
    ["https://*.example.org..", "bad-host"],
    ["https://*.0.0.1", "pattern-over-ip"],
    ["http://*.168.1.10:8080", "pattern-over-ip"],
    ["https://*.[::1]", "pattern-over-ip"],
    ["foo://*.10.0.0.1", "pattern-over-ip"],
  ];
  it.each(rows)("%s: %s", (value, problem) => {
    expect(checkOrigin(value)).toEqual({ ok: false, problem });
  });
});

describe("splitOrigin", () => {
  const rows: [string, ReturnType<typeof splitOrigin>][] = [
    ["https://example.org", { scheme: "https", host: "example.org", port: "" }],
    ["http://localhost:3000", { scheme: "http", host: "localhost", port: "3000" }],
    ["http://[::1]:8080", { scheme: "http", host: "[::1]", port: "8080" }],
    ["http://[::1]", { scheme: "http", host: "[::1]", port: "" }],
    ["https://example.org:", null],
    ["https://", null],
    ["example.org", null],
    ["://example.org", null],
  ];
  it.each(rows)("%s", (value, parts) => {
    expect(splitOrigin(value)).toEqual(parts);
  });
});

describe("OriginMatcher", () => {
  // [policy origins, request Origin, matched?]
  const rows: [string[], string, boolean][] = [
    // Exact origins are compared byte for byte.
    [["https://app.example.com"], "https://app.example.com", true],
    [["https://app.example.com"], "https://APP.example.com", false],
    [["https://app.example.com"], "https://app.example.com/", false],
    [["https://app.example.com"], "https://app.example.com:443", false],
    [["https://app.example.com"], "http://app.example.com", false],
    [["https://app.example.com"], "https://app.example.com.", false],
    [["https://app.example.com"], "https://app.example.co", false],
    [["https://app.example.com"], "https://xapp.example.com", false],
    [["http://localhost:3000"], "http://localhost:3000", true],
    [["http://localhost:3000"], "http://localhost:3001", false],
    [["http://localhost:3000"], "http://localhost", false],
    [["http://localhost:3000"], "https://localhost:3000", false],
    [["http://[::1]:8080"], "http://[::1]:8080", true],
    [["http://[::1]:8080"], "http://[::1]", false],
    [["capacitor://localhost"], "capacitor://localhost", true],
    [["capacitor://localhost"], "capacitor://localhost.evil.com", false],
    [["chrome-extension://abcdefghijklmnopabcdefghijklmnop"], "chrome-extension://abcdefghijklmnopabcdefghijklmnop", true],
    [["chrome-extension://abcdefghijklmnopabcdefghijklmnop"], "chrome-extension://abcdefghijklmnopabcdefghijklmnoq", false],

    // The classic allowlist attacks: suffix, prefix and unanchored matching.
    [["https://*.example.org", "https://example.org"], "https://evil-example.com", false],
    [["https://*.example.org", "https://example.org"], "https://evilexample.org", false],
    [["https://*.example.org", "https://example.org"], "https://example.org.evil.com", false],
    [["https://*.example.org", "https://example.org"], "https://a.example.org.evil.com", false],
    [["https://*.example.org", "https://example.org"], "https://example.orgevil.com", false],
    [["https://*.example.org", "https://example.org"], "https://exampleXorg", false],
    [["https://*.example.org", "https://example.org"], "https://evil.com/.example.org", false],
    [["https://*.example.org", "https://example.org"], "https://evil.com?.example.org", false],
    [["https://*.example.org", "https://example.org"], "https://evil.com#.example.org", false],
    [["https://*.example.org", "https://example.org"], "https://evil.com@a.example.org", false],
    [["https://*.example.org", "https://example.org"], "https://evil.com\\.example.org", false],
    [["https://*.example.org", "https://example.org"], "https://evil.com%2e.example.org", false],
    [["https://*.example.org", "https://example.org"], "https://a.example.org", true],
    [["https://*.example.org", "https://example.org"], "https://example.org", true],

    // A pattern matches one or more whole labels in front of its domain, nothing else.
    [["https://*.example.org"], "https://a.example.org", true],
    [["https://*.example.org"], "https://a.b.example.org", true],
    [["https://*.example.org"], "https://x-1.y_2.z.example.org", true],
    [["https://*.example.org"], "https://example.org", false],
    [["https://*.example.org"], "http://a.example.org", false],
    [["https://*.example.org"], "wss://a.example.org", false],
    [["https://*.example.org"], "https://aexample.org", false],
    [["https://*.example.org"], "https://a-example.org", false],
    [["https://*.example.org"], "https://a.example.org:8443", false],
    [["https://*.example.org"], "https://a.example.org:443", false],
    [["https://*.example.org"], "https://a.example.org:", false],
    [["https://*.example.org"], "https://a.example.org.", false],
    [["https://*.example.org."], "https://a.example.org.", true],
    [["https://*.example.org."], "https://a.example.org", false],
    [["http://example.com.:3999"], "http://example.com.:3999", true],
    [["http://example.com.:3999"], "http://example.com:3999", false],
    [["https://*.example.org"], "https://.example.org", false],
    [["https://*.example.org"], "https://a..example.org", false],
    [["https://*.example.org"], "https://A.example.org", false],
    [["https://*.example.org"], "https://a.EXAMPLE.org", false],
    [["https://*.example.org"], "HTTPS://a.example.org", false],
    [["https://*.example.org"], "https://a.example.org/", false],
    [["https://*.example.org"], "https://a.example.org ", false],
    [["https://*.example.org"], " https://a.example.org", false],
    [["https://*.example.org"], "https://[::1].example.org", false],
    [["https://*.example.org"], "https://*.example.org", false],
    [["https://*.example.org"], "null", false],
    [["https://*.example.org"], "", false],
    [["https://*.example.org"], `https://${"a.".repeat(1100)}example.org`, false],

    // Patterns with a port match that port only.
    [["https://*.example.org:8443"], "https://a.example.org:8443", true],
    [["https://*.example.org:8443"], "https://a.example.org", false],
    [["https://*.example.org:8443"], "https://a.example.org:8444", false],
    [["https://*.example.org:8443"], "https://a.example.org:08443", false],

    // Patterns for different schemes do not mix.
    [["https://*.example.org", "http://*.example.com"], "http://a.example.org", false],
    [["https://*.example.org", "http://*.example.com"], "https://a.example.com", false],
    [["https://*.example.org", "http://*.example.com"], "http://a.example.com", true],

    // "null" only when listed.
    [["null"], "null", true],
    [["https://app.example.com"], "null", false],
    [[], "null", false],
    [[], "https://app.example.com", false],

    // jub0bs/cors GHSA-vhxv-fg4m-p2w8: allowing foo.com and bar.com does not allow barfoo.com.
    [["https://foo.com", "https://bar.com"], "https://barfoo.com", false],
    [["https://foo.com", "https://bar.com"], "https://foobar.com", false],
    [["https://foo.com", "https://bar.com"], "https://foo.com", true],
    [["https://foo.com", "https://bar.com"], "https://bar.com", true],
    [["https://*.foo.com", "https://*.bar.com"], "https://a.barfoo.com", false],
    [["https://*.foo.com", "https://*.bar.com"], "https://barfoo.com", false],
    [["https://*.foo.com", "https://*.bar.com"], "https://a.foo.com", true],
    [["https://*.foo.com", "https://*.bar.com"], "https://a.bar.com", true],
  ];
  it.each(rows)("%j vs %s → %s", (origins, origin, expected) => {
    const m = matcher(...origins);
    // The first lookup scans the list, the second builds the set: the same answer both ways.
    expect(m.matches(origin)).toBe(expected);
    expect(m.indexed).toBe(false);
    expect(m.matches(origin)).toBe(expected);
    expect(m.indexed).toBe(true);
  });

  it("hashes no list that is looked up once, and a given set from the start", () => {
    const m = matcher("https://app.example.com");
    expect(m.matches("https://evil.example")).toBe(false);
    expect(m.indexed).toBe(false);
    expect(new OriginMatcher(new Set(["https://app.example.com"])).indexed).toBe(true);
  });

  it("stays exact with a long list of origins and patterns", () => {
    const origins: string[] = [];
    for (let i = 0; i < 2000; i++) origins.push(`https://app${i}.example.com`, `https://*.tenant${i}.example.net`);
    const m = matcher(...origins);
    expect(m.matches("https://app1999.example.com")).toBe(true);
    expect(m.matches("https://a.tenant1234.example.net")).toBe(true);
    expect(m.matches("https://app2000.example.com")).toBe(false);
    expect(m.matches("https://tenant1234.example.net")).toBe(false);
    expect(m.matches("https://a.tenant2000.example.net")).toBe(false);
  });
});

describe("isInsecure: plain-http origins beyond loopback", () => {
  const rows: [string, boolean][] = [
    ["http://example.com:6060", true],
    ["http://*.example.com:6060", true],
    ["ws://example.com", true],
    ["http://example.com.", true],
    ["https://example.com", false],
    ["wss://example.com", false],
    ["capacitor://localhost", false],
    ["http://localhost", false],
    ["http://localhost:3000", false],
    ["http://localhost.", false],
    ["http://app.localhost:3000", false],
    ["http://*.localhost:3000", false],
    ["http://*.localhost.", false],
    ["http://127.0.0.1", false],
    ["http://127.1.2.3:8080", false],
    ["http://[::1]:8080", false],
    ["http://localhost.example.com", true],
    ["http://*.localhost.example.com", true],
    ["http://128.0.0.1", true],
    ["http://[::2]", true],
  ];
  it.each(rows)("%s → %s", (origin, expected) => {
    const check = checkOrigin(origin);
    if (!check.ok) throw new Error(`test setup: ${origin} refused (${check.problem})`);
    expect(isInsecure(origin)).toBe(expected);
  });
});

describe("intersectOrigins: what both lists match, and nothing more", () => {
  const entries = (...origins: string[]) => origins.filter((origin) => checkOrigin(origin).ok);
  const probes = [
    "https://a.example.org", "https://b.a.example.org", "https://example.org", "https://x.example.com",
    "https://a.example.org:8443", "http://a.example.org", "https://app.test", "https://other.test",
  ];
  const rows: [string[], string[], string[]][] = [
    [["https://*.example.org"], ["https://*.a.example.org"], ["https://b.a.example.org"]],
    [["https://*.example.org"], ["https://a.example.org"], ["https://a.example.org"]],
    [["https://*.example.org"], ["https://*.example.org"], ["https://a.example.org", "https://b.a.example.org"]],
    [["https://*.example.org"], ["https://*.example.org:8443"], []],
    [["https://*.example.org"], ["http://*.example.org"], []],
    [["https://app.test", "https://other.test"], ["https://other.test"], ["https://other.test"]],
    [["https://app.test"], ["https://*.example.org"], []],
    [[], ["https://app.test"], []],
  ];
  it.each(rows)("%j ∩ %j", (a, b, allowed) => {
    const both = new OriginMatcher(intersectOrigins(entries(...a), entries(...b)));
    for (const probe of probes) {
      const expected = allowed.includes(probe);
      expect([probe, both.matches(probe)]).toEqual([probe, expected]);
      // Never more than either list.
      if (both.matches(probe)) expect(new OriginMatcher(entries(...a)).matches(probe) && new OriginMatcher(entries(...b)).matches(probe)).toBe(true);
    }
  });
});
