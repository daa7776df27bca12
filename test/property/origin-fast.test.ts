/**
 * The fast origin check against the original one. `checkOrigin` recognizes
 * the common canonical shape in one pass and hands everything else to
 * `checkOriginByParsing` (regular expressions and the URL parser, unchanged
 * from before the fast path existed). They must give the same answer, entry
 * and problem alike, for every string: canonical origins and patterns, and
 * near misses of every kind a fast path could get wrong. Run inside workerd,
 * so the URL parser is the one the edge runs.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compilePolicy, parsePolicy, validatePolicy } from "../../src/core/index.js";
import { checkOrigin, checkOriginByParsing, isInsecure, isPlainSecure, patternDomain, splitOrigin, type OriginEntry } from "../../src/core/origin.js";
import { GENERIC_SECOND_LEVEL, HOSTING, isPublicSuffix } from "../../src/core/public-suffix.js";

const RUNS = { numRuns: 20_000 };
/** Generous: 20,000 cases take about a second, more on a busy machine; this is no timing test. */
const TIMEOUT_MS = 30_000;

const scheme = fc.constantFrom("https", "http", "ws", "wss", "HTTPS", "Http", "capacitor", "chrome-extension", "file", "a+b.c-d", "1http", "", "h ttp", "xn");
const separator = fc.oneof(
  { weight: 12, arbitrary: fc.constant("://") },
  { weight: 6, arbitrary: fc.constant("://*.") },
  { weight: 1, arbitrary: fc.constantFrom(":/", ":///", "//", "://*", "://**.", "://*.*.", ":// ", "://user@", "://u:p@", "://*.x*") },
);
const label = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom("a", "app", "api", "example", "com", "org", "x-y", "_srv", "b1", "a_b", "test", "co", "uk", "localhost") },
  // Numbers and what the URL parser reads as IPv4 parts, or nearly.
  { weight: 3, arbitrary: fc.constantFrom("127", "0", "1", "255", "256", "08", "0x7f", "0x", "0X7F", "0xg", "1e5", "4294967295", "00", "09") },
  // IDNA: valid and broken punycode, and what it encodes.
  { weight: 2, arbitrary: fc.constantFrom("xn--bcher-kva", "xn--a", "xn--zz", "xn--", "XN--bcher-kva", "axn--b", "xn--ls8h", "bücher", "ü", "ß", "İ") },
  // Characters that must not pass, and label lengths around 63.
  { weight: 2, arbitrary: fc.constantFrom("-a", "a-", "-", "", "A", "aB", "a b", "%41", "a%2e", "a\tb", "a\nb", "@", "a:b", "a/b", "a\\b", "a?b", "a#b", "[::1]", "[::ffff:127.0.0.1]", "[0:0::1]", "[::1", "a".repeat(63), "b".repeat(64), `a${"-".repeat(61)}a`) },
  { weight: 2, arbitrary: fc.stringMatching(/^[a-z0-9_-]{1,8}$/) },
);
const host = fc.oneof(
  { weight: 8, arbitrary: fc.array(label, { minLength: 1, maxLength: 4 }).map((labels) => labels.join(".")) },
  // Around the 253-character limit of a name (251 for a pattern's domain).
  { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 122, max: 128 }), fc.constantFrom("b", "bc")).map(([n, last]) => `${"a.".repeat(n)}${last}`) },
  // Public suffixes, which a credentialed pattern must not sit on, and names just below them.
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom("", "", "a.", "app.x."), fc.constantFrom("github.io", "co.uk", "com.au", "ac.jp", "pages.dev", "lambda-url.us-east-1.on.aws", "co.u_", "com", "uk", "io")).map(([below, suffix]) => below + suffix) },
);
const trailingDots = fc.constantFrom("", "", "", ".", "..");
const port = fc.constantFrom("", "", "", ":8080", ":3000", ":1", ":65535", ":65536", ":99999", ":123456", ":0", ":080", ":80", ":443", ":", ":1:2", ": 80", ":8o", ":+80");
const tail = fc.constantFrom("", "", "", "", "/", "/path", "?q", "#f", " ", "\t", "%20", "@x", "\u0000");

/** Origin-like strings: mostly valid shapes, many one step away from valid. */
const originLike = fc
  .tuple(fc.constantFrom("", "", "", " ", "\t"), scheme, separator, host, trailingDots, port, tail)
  .map((parts) => parts.join(""));

/** Mostly valid origins and patterns, of the kinds policies hold. */
const plausible = fc
  .tuple(
    fc.constantFrom("https", "http", "ws", "wss", "capacitor", "chrome-extension"),
    fc.constantFrom("://", "://", "://*."),
    fc.array(fc.oneof({ weight: 6, arbitrary: fc.constantFrom("a", "app", "example", "com", "x-y", "_srv", "b1", "org") }, { weight: 1, arbitrary: label }), { minLength: 1, maxLength: 4 }),
    fc.constantFrom("", "", "", "", "", "."),
    fc.constantFrom("", "", "", ":8080", ":3000", ":443", ":80", ":65536"),
  )
  .map(([s, sep, labels, dot, p]) => `${s}${sep}${labels.join(".")}${dot}${p}`);

/** https and wss origins and patterns, which the validator's shortcut is for, some over public suffixes. */
const secure = fc
  .tuple(
    fc.constantFrom("https", "wss"),
    fc.constantFrom("://", "://", "://*."),
    fc.array(fc.constantFrom("a", "app", "example", "com", "x-y", "_srv", "b1", "org", "github", "io", "co", "uk", "pages", "dev", "1a", "0x"), { minLength: 1, maxLength: 4 }),
    fc.constantFrom("", "", "", "", "."),
  )
  .map(([s, sep, labels, dot]) => `${s}${sep}${labels.join(".")}${dot}`);

/** A valid origin or pattern with one character changed, inserted or removed. */
const nearMiss = fc
  .tuple(fc.oneof(originLike, plausible, secure), fc.nat(), fc.constantFrom("", "A", ".", ":", "/", "-", "_", "*", "0", "x", "%", " ", "ü", "@", "["), fc.boolean())
  .map(([value, at, char, replace]) => {
    const i = value.length === 0 ? 0 : at % value.length;
    return value.slice(0, i) + char + value.slice(replace ? i + 1 : i);
  });

const anything = fc.oneof(
  { weight: 6, arbitrary: secure },
  { weight: 6, arbitrary: plausible },
  { weight: 6, arbitrary: originLike },
  { weight: 4, arbitrary: nearMiss },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
);

describe("the fast origin check agrees with the original one", () => {
  it("on generated origins, patterns and near misses: same verdict, same entry, same problem and hint", () => {
    fc.assert(
      fc.property(anything, (value) => {
        expect(checkOrigin(value)).toEqual(checkOriginByParsing(value));
      }),
      RUNS,
    );
  }, TIMEOUT_MS);

  it("on the shapes that look plain but are not what they seem", () => {
    const values = [
      "https://127.1", "https://0x7f.0.0.1", "http://127.0.0.1", "https://1.2.3.4.", "https://a.0x", "https://a.08", "https://a.1e5",
      "https://xn--bcher-kva.example", "https://xn--a.example", "https://a.xn--zz", "capacitor://xn--a", "https://*.xn--a.example",
      "https://*.0x7f", "https://*.127.0.0.1", "chrome-extension://*.127", "capacitor://*.1.2", "https://[::1]", "https://[0:0::1]:8080", "https://example.com.", "https://example.com..",
      "https://*.example.com.", "https://a:443", "wss://a:443", "ws://a:80", "http://a:443", "https://a:65535", "https://a:65536",
      `https://${"a".repeat(63)}.com`, `https://${"a".repeat(64)}.com`, "https://a_b.example", "https://-a.example", "https://*.com",
      "file://host", "null", "https://*.a*.com", "https://*.", "https://.", "https://", "https://a..b",
    ];
    for (const value of values) expect([value, checkOrigin(value)]).toEqual([value, checkOriginByParsing(value)]);
  });

  it("accepts a good share of the generated values on each side, so the comparison covers both paths", () => {
    const sample = fc.sample(anything, { numRuns: 3000, seed: 1 });
    const accepted = sample.filter((value) => checkOriginByParsing(value).ok).length;
    expect(accepted).toBeGreaterThan(sample.length * 0.1);
    expect(accepted).toBeLessThan(sample.length * 0.9);
  });
});

/** isPublicSuffix as it was, splitting the domain into labels. */
function isPublicSuffixBySplitting(domain: string): boolean {
  const labels = domain.split(".");
  if (labels.length === 1) return true;
  if (HOSTING.has(domain)) return true;
  return labels.length === 2 && labels[1]!.length === 2 && GENERIC_SECOND_LEVEL.has(labels[0]!);
}

describe("the faster helpers agree with what they replaced", () => {
  const domain = fc.array(fc.constantFrom("co", "com", "uk", "github", "io", "example", "a", "", "org", "jp", "ac", "storage", "googleapis", "blob", "core", "windows", "net", "abc"), { minLength: 1, maxLength: 4 }).map((l) => l.join("."));

  it("isPublicSuffix: one label, the hosting list, and generic second levels of country domains, as before", () => {
    fc.assert(
      fc.property(domain, (value) => {
        expect(isPublicSuffix(value)).toBe(isPublicSuffixBySplitting(value));
      }),
      RUNS,
    );
  }, TIMEOUT_MS);

  /** isInsecure as it was, splitting every exact origin. */
  function isInsecureBySplitting(entry: OriginEntry): boolean {
    const loopback = (h: string) => ["localhost", "localhost."].includes(h) || /\.localhost\.?$/.test(h) || h === "[::1]" || /^127\.[0-9.]+$/.test(h);
    const insecure = (scheme: string) => scheme === "http" || scheme === "ws";
    if (entry.kind === "pattern") return insecure(entry.scheme) && !loopback(entry.domain);
    const parts = splitOrigin(entry.origin);
    return parts !== null && insecure(parts.scheme) && !loopback(parts.host);
  }

  it("isInsecure: plain http and ws, not loopback", () => {
    fc.assert(
      fc.property(originLike, (value) => {
        const check = checkOriginByParsing(value);
        if (check.ok) expect(isInsecure(value)).toBe(isInsecureBySplitting(check.entry));
      }),
      RUNS,
    );
  }, TIMEOUT_MS);
});

describe("the validator's plain shortcut agrees with checking every entry", () => {
  it("isPlainSecure: only entries that pass every check of the validator", () => {
    fc.assert(
      fc.property(anything, (value) => {
        if (!isPlainSecure(value)) return;
        const check = checkOriginByParsing(value);
        expect(check.ok).toBe(true);
        expect(isInsecure(value) || value === "null" || value.startsWith("file:")).toBe(false);
        const domain = patternDomain(value);
        if (domain !== null) expect(isPublicSuffixBySplitting(domain.replace(/\.$/, ""))).toBe(false);
      }),
      RUNS,
    );
  }, TIMEOUT_MS);

  /** Lists of generated entries, with repeats and the odd value of the wrong type. */
  const list = fc
    .tuple(
      fc.array(
        fc.oneof({ weight: 20, arbitrary: anything }, { weight: 1, arbitrary: fc.constantFrom<unknown>(5, null, true, {}, { toString: 1 }, "*", "null", ["https://a.com"], [["https://a.com"]], "https://a.com", "https://*.a.com") }),
        { maxLength: 12 },
      ),
      fc.nat(),
    )
    // One list in three repeats an entry.
    .map(([items, n]) => (items.length > 0 && n % 3 === 0 ? [...items, items[n % items.length]] : items));
  const doc = fc.record({
    origins: list,
    credentials: fc.boolean(),
    allowInsecureOriginsWithCredentials: fc.boolean(),
    routes: fc.array(fc.record({ path: fc.constantFrom("/a/*", "/b"), credentials: fc.boolean(), origins: fc.option(list, { nil: undefined }) }, { requiredKeys: ["path", "credentials"] }), { maxLength: 2 }),
  });

  it("validatePolicy and parsePolicy, with warnings or without: the same errors, warnings and policy, and the compiled policy matches the same origins", () => {
    fc.assert(
      fc.property(doc, fc.array(anything, { maxLength: 5 }), (input, probes) => {
        const fast = validatePolicy(input);
        expect(fast).toEqual(validatePolicy(input, { plainShortcut: false }));
        // From JSON text, lists are checked by built-ins alone.
        expect(parsePolicy(JSON.stringify(input))).toEqual(fast);
        // Errors only, as the edge asks: the very same errors and policy.
        expect(parsePolicy(JSON.stringify(input), { warnings: false })).toEqual({ ...fast, warnings: [] });
        if (!fast.ok) return;
        const slow = validatePolicy(input, { plainShortcut: false });
        const [a, b] = [compilePolicy(fast.policy), compilePolicy((slow as typeof fast).policy)];
        for (const probe of [...probes, ...(Array.isArray(input.origins) ? input.origins.filter((o): o is string => typeof o === "string") : [])]) {
          for (const [x, y] of [[a.rules, b.rules], ...a.routes.map((route, i) => [route.rules, b.routes[i]!.rules] as const)] as const) {
            const match = (rules: typeof x) => rules.origins === "*" || rules.origins.matches(probe);
            expect([probe, match(x)]).toEqual([probe, match(y)]);
          }
        }
      }),
      { numRuns: 3000 },
    );
  }, TIMEOUT_MS);

  it("takes the shortcut for a good share of the generated entries, and not for all", () => {
    const sample = fc.sample(anything, { numRuns: 3000, seed: 2 });
    const plain = sample.filter(isPlainSecure).length;
    expect(plain).toBeGreaterThan(sample.length * 0.05);
    expect(plain).toBeLessThan(sample.length * 0.9);
  });
});
