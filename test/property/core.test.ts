/**
 * Property tests of the origin and policy core against the reference model
 * in ./model.ts. Each property runs a few hundred generated cases; a failure
 * prints the seed and the shrunk counterexample.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  checkOrigin,
  compilePolicy,
  decide,
  OriginMatcher,
  parsePolicy,
  splitOrigin,
  validatePolicy,
  type CompiledPolicy,
  type Decision,
  type OriginEntry,
} from "../../src/core/index.js";
import { canonicalOrigin, pattern, policyDoc, request, requestOrigin, SCHEMES } from "./arbitraries.js";
import { modelDecide, modelPolicy, originMatches, type ModelAnswer, type ModelRequest, type PolicyDoc } from "./model.js";

const RUNS = { numRuns: 400 };

function compile(doc: PolicyDoc): CompiledPolicy {
  const result = validatePolicy(doc);
  if (!result.ok) throw new Error(`generated policy refused: ${JSON.stringify(result.errors)}`);
  return compilePolicy(result.policy);
}

function entries(list: string[]): string[] {
  for (const value of list) {
    const check = checkOrigin(value);
    if (!check.ok) throw new Error(`generated origin refused: ${value} (${check.problem})`);
  }
  return list;
}

/** The core's decision in the model's terms. */
function answerOf(decision: Decision): ModelAnswer {
  const headers: Record<string, string> = {};
  if (decision.allowed) for (const [name, value] of decision.headers) headers[name.toLowerCase()] = value;
  return { kind: decision.kind, allowed: decision.allowed, headers, vary: decision.vary } as ModelAnswer;
}

function decideCore(policy: CompiledPolicy | null, req: ModelRequest): Decision {
  return decide(policy, {
    method: req.method,
    url: new URL(req.url),
    origin: req.origin,
    requestMethod: req.requestMethod,
    requestHeaders: req.requestHeaders,
    fetchSite: req.fetchSite ?? null,
    upgrade: req.upgrade ?? null,
  });
}

/** Strings of every kind a client can put in a header, and more. */
const noise = fc.oneof(fc.string({ unit: "binary", maxLength: 40 }), fc.string({ unit: "grapheme-ascii", maxLength: 40 }), fc.string({ maxLength: 40 }));

describe("origins: serialization and parsing", () => {
  it("accepts every canonical origin as itself, and splitting it round-trips", () => {
    fc.assert(
      fc.property(canonicalOrigin, (origin) => {
        expect(checkOrigin(origin)).toEqual({ ok: true, entry: { kind: "exact", origin } });
        const parts = splitOrigin(origin)!;
        expect(`${parts.scheme}://${parts.host}${parts.port ? `:${parts.port}` : ""}`).toBe(origin);
        // For schemes with a tuple origin, the URL parser agrees that this is how a browser serializes it.
        if (["http", "https", "ws", "wss"].includes(parts.scheme)) expect(new URL(origin).origin).toBe(origin);
      }),
      RUNS,
    );
  });

  it("accepts every pattern, and its parts serialize back to it", () => {
    fc.assert(
      fc.property(pattern, (value) => {
        const check = checkOrigin(value);
        expect(check.ok).toBe(true);
        const entry = (check as { entry: OriginEntry }).entry;
        expect(entry.kind).toBe("pattern");
        if (entry.kind !== "pattern") return;
        expect(`${entry.scheme}://*.${entry.domain}${entry.port ? `:${entry.port}` : ""}`).toBe(value);
      }),
      RUNS,
    );
  });

  const variants: [string, (origin: string) => string][] = [
    ["trailing slash", (o) => `${o}/`],
    ["path", (o) => `${o}/x`],
    ["query", (o) => `${o}?x`],
    ["fragment", (o) => `${o}#x`],
    ["userinfo", (o) => o.replace("://", "://user@")],
    ["uppercase", (o) => o.replace("://", "://X")],
    ["empty port", (o) => `${o.replace(/:\d+$/, "")}:`],
    ["leading zero port", (o) => `${o.replace(/:\d+$/, "")}:080`],
  ];
  it.each(variants)("refuses an origin with a %s, and any canonical form it suggests is accepted", (_, mutate) => {
    fc.assert(
      fc.property(canonicalOrigin, (origin) => {
        const check = checkOrigin(mutate(origin));
        expect(check.ok).toBe(false);
        if (!check.ok && check.canonical !== undefined) {
          expect(checkOrigin(check.canonical).ok).toBe(true);
          expect(check.canonical).toBe(new URL(mutate(origin)).origin);
        }
      }),
      RUNS,
    );
  });

  it("refuses a default port and suggests the origin without it", () => {
    fc.assert(
      fc.property(fc.constantFrom("http", "https", "ws", "wss"), fc.array(fc.constantFrom("a", "api", "example", "org"), { minLength: 1, maxLength: 3 }), (s, labels) => {
        const origin = `${s}://${labels.join(".")}`;
        const check = checkOrigin(`${origin}:${s === "https" || s === "wss" ? 443 : 80}`);
        expect(check).toEqual({ ok: false, problem: "default-port", canonical: origin });
      }),
      RUNS,
    );
  });
});

describe("origins: matching", () => {
  const list = fc.uniqueArray(fc.oneof(canonicalOrigin, pattern), { maxLength: 6 });

  it("matches exactly what the model matches, for near misses of the listed origins", () => {
    fc.assert(
      fc.property(
        list.chain((origins) => fc.tuple(fc.constant(origins), requestOrigin({ origins }, noise))),
        ([origins, origin]) => {
          fc.pre(origin !== null);
          const matcher = new OriginMatcher(entries(origins));
          const expected = origins.some((entry) => originMatches(entry, origin!));
          // The first lookup scans the list; the second builds the set and looks there.
          expect(matcher.matches(origin!)).toBe(expected);
          expect(matcher.matches(origin!)).toBe(expected);
          expect(matcher.indexed).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("never matches an origin that is neither listed nor under a pattern, whatever the string", () => {
    const anyString = fc.oneof(noise, fc.string({ unit: "binary", maxLength: 3000 }), fc.constantFrom(...SCHEMES).map((s) => `${s}://`));
    fc.assert(
      fc.property(list, anyString, (origins, origin) => {
        const matcher = new OriginMatcher(entries(origins));
        // By a scan of the list, then by the set.
        for (const matched of [matcher.matches(origin), matcher.matches(origin)]) {
          if (matched) expect(origins.some((entry) => originMatches(entry, origin))).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("policies: the core decides exactly what the model decides", () => {
  it("accepts every policy written by the rules", () => {
    fc.assert(
      fc.property(policyDoc, (doc) => {
        const result = validatePolicy(doc);
        expect(result.ok ? [] : result.errors).toEqual([]);
      }),
      RUNS,
    );
  });

  it("answers every request (preflight or not) with the model's status, CORS headers and Vary", () => {
    const seen: Record<string, number> = {};
    fc.assert(
      fc.property(
        policyDoc.chain((doc) => fc.tuple(fc.constant(doc), fc.array(request(doc, noise), { minLength: 4, maxLength: 12 }))),
        ([doc, requests]) => {
          const compiled = compile(doc);
          const model = modelPolicy(doc);
          for (const req of requests) {
            const expected = modelDecide(model, req);
            // Twice: the second answer comes from the preflight memo and must be the same.
            expect(answerOf(decideCore(compiled, req))).toEqual(expected);
            expect(answerOf(decideCore(compiled, req))).toEqual(expected);
            const key = `${expected.kind} ${expected.allowed ? "allowed" : "refused"}`;
            seen[key] = (seen[key] ?? 0) + 1;
          }
        },
      ),
      { numRuns: 600 },
    );
    // The generators reach every outcome often, so the comparison is not vacuous.
    for (const key of ["preflight allowed", "preflight refused", "forward allowed", "forward refused"]) {
      expect(seen[key] ?? 0, key).toBeGreaterThan(50);
    }
  });

  it("fails closed without a policy", () => {
    fc.assert(
      fc.property(request({ origins: [] }, noise), (req) => {
        expect(answerOf(decideCore(null, req))).toEqual(modelDecide(null, req));
      }),
      RUNS,
    );
  });

  it("never allows an origin the policy does not name, never echoes another value, never throws", () => {
    const anything = fc.oneof(noise, fc.string({ unit: "binary", maxLength: 70_000 }).filter((s) => s.length > 0));
    fc.assert(
      fc.property(
        policyDoc,
        fc.record({ origin: anything, requestMethod: fc.option(anything), requestHeaders: fc.option(anything), method: fc.constantFrom("OPTIONS", "GET", "POST") }),
        (doc, req) => {
          const decision = decideCore(compile(doc), { ...req, url: "https://edge.test/api" });
          if (!decision.allowed) return;
          const acao = decision.headers.find(([name]) => name === "Access-Control-Allow-Origin")?.[1];
          expect(acao === "*" || acao === req.origin).toBe(true);
          expect(modelDecide(modelPolicy(doc), { ...req, url: "https://edge.test/api" }).allowed).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe("the validator never throws, it reports", () => {
  function wellFormed(result: ReturnType<typeof validatePolicy>): void {
    if (result.ok) {
      expect(() => compilePolicy(result.policy)).not.toThrow();
      return;
    }
    expect(result.errors.length).toBeGreaterThan(0);
    for (const problem of [...result.errors, ...result.warnings]) {
      expect(problem.path.startsWith("$")).toBe(true);
      expect(typeof problem.code).toBe("string");
      expect(problem.message.length).toBeGreaterThan(0);
      expect(problem.message.length).toBeLessThan(1000);
    }
  }

  it("on any JavaScript value", () => {
    const options = {
      withBoxedValues: true,
      withMap: true,
      withSet: true,
      withNullPrototype: true,
      withTypedArray: true,
      withSparseArray: true,
      withObjectString: true,
      withDate: true,
      withBigInt: true,
    };
    fc.assert(fc.property(fc.anything(options), (value) => wellFormed(validatePolicy(value))), { numRuns: 1000 });
  });

  it("on any JSON text, and any text at all", () => {
    fc.assert(fc.property(fc.oneof(fc.json(), fc.string({ unit: "binary" })), (text) => wellFormed(parsePolicy(text))), { numRuns: 1000 });
  });

  it("on policies whose fields hold anything", () => {
    const field = fc.oneof(fc.anything(), fc.array(fc.oneof(fc.string(), fc.anything())), fc.constant("*"));
    const scope = fc.record(
      { origins: field, credentials: field, methods: field, allowHeaders: field, exposeHeaders: field, maxAge: field, path: field, extra: field },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(scope, fc.oneof(fc.constant(undefined), fc.array(scope, { maxLength: 3 }), fc.anything()), (top, routes) => {
        wellFormed(validatePolicy({ ...top, routes }));
      }),
      { numRuns: 1000 },
    );
  });

  it("on valid policies with one value replaced by anything", () => {
    fc.assert(
      fc.property(policyDoc, fc.constantFrom("origins", "credentials", "methods", "allowHeaders", "exposeHeaders", "maxAge", "routes"), fc.anything(), (doc, key, value) => {
        wellFormed(validatePolicy({ ...doc, [key]: value }));
        wellFormed(parsePolicy(JSON.stringify({ ...doc, [key]: value }) ?? "null"));
      }),
      RUNS,
    );
  });
});

/** Ways to spell a path that servers may read as the same path (RFC 3986 normalization, or a server's own decoding). */
const respell: fc.Arbitrary<(path: string) => string>[] = [
  // An unreserved character escaped, hex in either case.
  fc.tuple(fc.nat(), fc.boolean()).map(([at, upper]) => (path: string) => {
    const spots = [...path].flatMap((ch, i) => (/[A-Za-z0-9._~-]/.test(ch) ? [i] : []));
    if (spots.length === 0) return path;
    const i = spots[at % spots.length]!;
    const hex = path.charCodeAt(i).toString(16).padStart(2, "0");
    return `${path.slice(0, i)}%${upper ? hex.toUpperCase() : hex}${path.slice(i + 1)}`;
  }),
  // A slash after the first escaped as %2F, %2f or %5C.
  fc.tuple(fc.nat(), fc.constantFrom("%2F", "%2f", "%5C", "%5c")).map(([at, escape]) => (path: string) => {
    const spots = [...path].flatMap((ch, i) => (ch === "/" && i > 0 ? [i] : []));
    if (spots.length === 0) return path;
    const i = spots[at % spots.length]!;
    return `${path.slice(0, i)}${escape}${path.slice(i + 1)}`;
  }),
  // A slash doubled, or a "." segment, at one of the slashes. (Not "..": the URL parser resolves it before
  // any decoding, and the edge forwards the parsed path, so "/a%2Fz/../x" is "/x" for the origin too.)
  fc.tuple(fc.nat(), fc.constantFrom("//", "/./")).map(([at, insert]) => (path: string) => {
    const spots = [...path].flatMap((ch, i) => (ch === "/" ? [i] : []));
    const i = spots[at % spots.length]!;
    return `${path.slice(0, i)}${insert}${path.slice(i + 1)}`;
  }),
  // A ;parameter, plain or escaped, at the end of a segment.
  fc.tuple(fc.nat(), fc.constantFrom(";x", "%3Bx", ";")).map(([at, param]) => (path: string) => {
    const ends = [...path, "/"].flatMap((ch, i) => (ch === "/" && i > 0 ? [i] : []));
    const i = ends[at % ends.length]!;
    return `${path.slice(0, i)}${param}${path.slice(i)}`;
  }),
];

const spelling = fc.array(fc.oneof(...respell), { minLength: 1, maxLength: 3 }).map((steps) => (path: string) => steps.reduce((p, step) => step(p), path));

/** The names a header value lists, lowercase; `*` kept as itself. */
const names = (value: string | undefined) => new Set((value ?? "").split(",").map((name) => name.trim().toLowerCase()).filter(Boolean));

/** Whether list `a` allows nothing that list `b` does not (`*` allows any name but Authorization in Allow-Headers). */
function within(a: string | undefined, b: string | undefined, notCovered: string | null): boolean {
  const inB = names(b);
  return [...names(a)].every((name) => inB.has(name) || (name !== "*" && inB.has("*") && name !== notCovered));
}

/** Whether one answer allows a page no more than another: never allowed where it is not, never a wider header. */
function noMoreThan(spelled: Decision, plain: Decision): string | null {
  if (!spelled.allowed) return null;
  if (!plain.allowed) return "allowed only when spelled";
  const a = Object.fromEntries(spelled.headers);
  const b = Object.fromEntries(plain.headers);
  if (a["Access-Control-Allow-Origin"] !== b["Access-Control-Allow-Origin"] && b["Access-Control-Allow-Origin"] !== "*") return "another origin";
  if (a["Access-Control-Allow-Credentials"] && !b["Access-Control-Allow-Credentials"]) return "credentials";
  if (!within(a["Access-Control-Allow-Methods"], b["Access-Control-Allow-Methods"], null)) return "methods";
  if (!within(a["Access-Control-Allow-Headers"], b["Access-Control-Allow-Headers"], "authorization")) return "headers";
  if (!within(a["Access-Control-Expose-Headers"], b["Access-Control-Expose-Headers"], null)) return "exposed headers";
  if (Number(a["Access-Control-Max-Age"] ?? 5) > Number(b["Access-Control-Max-Age"] ?? 5)) return "max-age";
  return null;
}

describe("routes: no spelling of a path is ever allowed more than the plain path", () => {
  const plainPath = fc.constantFrom("/", "/api", "/api/x", "/public/a", "/publicity", "/a/b/c", "/a/bc", "/other", "/admin/users");
  it("for generated policies with routes, paths, spellings and requests", () => {
    fc.assert(
      fc.property(
        policyDoc.filter((doc) => (doc.routes ?? []).length > 0).chain((doc) => fc.tuple(fc.constant(doc), request(doc, noise), plainPath, spelling)),
        ([doc, req, plain, spell]) => {
          const policy = compile(doc);
          const spelled = spell(plain);
          const at = (path: string) => decideCore(policy, { ...req, url: `https://edge.test${path}` });
          const verdict = noMoreThan(at(spelled), at(plain));
          expect({ plain, spelled, verdict }).toEqual({ plain, spelled, verdict: null });
        },
      ),
      { numRuns: 1000 },
    );
  });
});
