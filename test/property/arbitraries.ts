/**
 * fast-check generators for policies, origins and requests. Values are drawn
 * from small alphabets so that generated request origins often hit (or
 * nearly hit) the generated policy's entries: that is where the bugs live.
 */
import fc from "fast-check";
import type { ModelRequest, PolicyDoc } from "./model.js";

export const SCHEMES = ["https", "http", "wss", "capacitor", "chrome-extension"] as const;
const DEFAULT_PORTS: Record<string, string> = { http: "80", https: "443", ws: "80", wss: "443" };

export const label = fc.constantFrom("a", "b", "app", "api", "example", "acme", "x-y", "_srv", "b1", "evil", "org", "com");
export const scheme = fc.constantFrom(...SCHEMES);
export const port = fc.constantFrom("", "", "8080", "3000", "8443");
/** A registrable domain that is not a public suffix, for patterns. */
export const patternDomain = fc
  .tuple(fc.array(label, { maxLength: 1 }), fc.constantFrom("example", "acme", "b1"), fc.constantFrom("org", "com", "test"))
  .map(([sub, name, tld]) => [...sub, name, tld].join("."));

const withPort = (origin: string, p: string) => (p === "" ? origin : `${origin}:${p}`);

/** A canonical serialized origin, as a browser sends it and a policy lists it. */
export const canonicalOrigin = fc
  .tuple(scheme, fc.array(label, { minLength: 1, maxLength: 3 }), port)
  .filter(([s, , p]) => DEFAULT_PORTS[s] !== p)
  .map(([s, labels, p]) => withPort(`${s}://${labels.join(".")}`, p));

/** A subdomain pattern `scheme://*.domain[:port]`. */
export const pattern = fc
  .tuple(scheme, patternDomain, port)
  .filter(([s, , p]) => DEFAULT_PORTS[s] !== p)
  .map(([s, domain, p]) => withPort(`${s}://*.${domain}`, p));

/**
 * Makes a document valid where credentials are on: no `*` or `null` where
 * they are refused, and no plain-http origin unless the document allows them
 * (the generated hosts are never loopback).
 */
function credentialsSafe(doc: PolicyDoc): PolicyDoc {
  const offending = (value: string) => value === "*" || value === "null" || (value.startsWith("http://") && !doc.allowInsecureOriginsWithCredentials);
  const clean = (value: string[] | "*" | undefined) => (Array.isArray(value) ? value.filter((item) => !offending(item)) : value === "*" ? [] : value);
  const fields = ["origins", "methods", "allowHeaders", "exposeHeaders"] as const;
  const top = doc as Record<string, unknown>;
  if (doc.credentials) for (const field of fields) top[field] = clean(doc[field]);
  for (const route of doc.routes ?? []) {
    if (!(route.credentials ?? doc.credentials)) continue;
    for (const field of fields) {
      const effective = route[field] ?? doc[field];
      const cleaned = clean(effective);
      if (JSON.stringify(cleaned) !== JSON.stringify(effective)) (route as Record<string, unknown>)[field] = cleaned;
    }
  }
  return doc;
}

const unique = <T>(arb: fc.Arbitrary<T>, maxLength: number, minLength = 0) => fc.uniqueArray(arb, { minLength, maxLength });

const ruleFields = {
  origins: fc.oneof(
    { weight: 2, arbitrary: fc.constant("*" as const) },
    { weight: 1, arbitrary: fc.constant([]) },
    { weight: 8, arbitrary: unique(fc.oneof(canonicalOrigin, pattern, fc.constant("null")), 5, 1) },
  ),
  credentials: fc.boolean(),
  methods: unique(fc.constantFrom("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "X-CUSTOM", "*"), 5, 1),
  allowHeaders: unique(fc.constantFrom("Content-Type", "Authorization", "X-Requested-With", "x-custom", "*"), 4),
  exposeHeaders: unique(fc.constantFrom("X-Request-Id", "ETag", "*"), 2),
  maxAge: fc.integer({ min: 0, max: 86400 }),
};

const routePath = fc.constantFrom("/public/*", "/api", "/api/*", "/", "/a/b/*");

/** A valid policy document, per the rules (the tests also check the validator agrees). */
export const policyDoc: fc.Arbitrary<PolicyDoc> = fc
  .record(
    {
      ...ruleFields,
      allowInsecureOriginsWithCredentials: fc.boolean(),
      routes: fc.array(fc.record({ path: routePath, ...ruleFields }, { requiredKeys: ["path"] }), { maxLength: 3 }),
    },
    { requiredKeys: ["origins"] },
  )
  .map((doc) => credentialsSafe(structuredClone(doc) as PolicyDoc));

/** Every origin the document names, with the patterns' stars filled in by labels. */
function originsNamed(doc: PolicyDoc, fill: string[]): string[] {
  const all = [doc.origins, ...(doc.routes ?? []).map((route) => route.origins)];
  const named: string[] = [];
  for (const list of all) {
    if (!Array.isArray(list)) continue;
    for (const entry of list) named.push(entry.replace("*", fill.join(".")));
  }
  return named;
}

const mutations: ((origin: string) => string)[] = [
  (o) => o.toUpperCase(),
  (o) => `${o}/`,
  (o) => `${o}.evil.com`,
  (o) => o.replace("://", "://evil"),
  (o) => o.replace("://", "://evil."),
  (o) => o.replace("://", "://."),
  (o) => o.replace(/^[a-z-]+:/, (s) => (s === "https:" ? "http:" : "https:")),
  (o) => `${o}:443`,
  (o) => `${o}:8080`,
  (o) => o.slice(0, -1),
  (o) => `${o}.`,
  (o) => o.replace(/\.[^.]*$/, ""),
  (o) => o.replace(/:\d+$/, ""),
  (o) => ` ${o}`,
  (o) => `${o}, ${o}`,
  (o) => o.replace("*.", ""),
];

/** Request origins for a document: named ones, near misses, and noise. */
export function requestOrigin(doc: PolicyDoc, noise: fc.Arbitrary<string>): fc.Arbitrary<string | null> {
  const named = fc.array(label, { minLength: 1, maxLength: 3 }).map((fill) => originsNamed(doc, fill));
  const pick = named.chain((list) => (list.length === 0 ? canonicalOrigin : fc.constantFrom(...list)));
  return fc.oneof(
    { weight: 4, arbitrary: pick },
    { weight: 4, arbitrary: fc.tuple(pick, fc.constantFrom(...mutations)).map(([o, mutate]) => mutate(o)) },
    { weight: 2, arbitrary: canonicalOrigin },
    { weight: 1, arbitrary: fc.constantFrom("null", "", "*") },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 2, arbitrary: noise },
  );
}

export const method = fc.oneof(fc.constant("OPTIONS"), fc.constantFrom("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"));
export const requestMethod = fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "X-CUSTOM", "get", "put", "TRACE", "", "GET ", "*");
const headerName = fc.constantFrom("content-type", "Content-Type", "authorization", "AUTHORIZATION", "x-requested-with", "x-custom", "x-other", "", "bad name", "bad;name", "*");
export const requestHeaders = fc
  .tuple(fc.array(headerName, { maxLength: 4 }), fc.constantFrom(",", ", ", " ,", ",,", "\t,", ","))
  .map(([names, sep]) => names.join(sep));

export const path = fc.constantFrom("/", "/api", "/api/x", "/public/a", "/publicity", "/a/b/c", "/a/bc", "/other");

/** Every value of one list field anywhere in the document. */
function named(doc: PolicyDoc, field: "methods" | "allowHeaders"): string[] {
  const lists = [doc[field], ...(doc.routes ?? []).map((route) => route[field])];
  return [...new Set(lists.flatMap((list) => list ?? []))];
}

/** A request against the document's host `edge.test`, with noise of the given kind in its CORS headers. */
export function request(doc: PolicyDoc, noise: fc.Arbitrary<string>, host = "edge.test"): fc.Arbitrary<ModelRequest> {
  const methods = named(doc, "methods");
  const headers = named(doc, "allowHeaders");
  const listedMethod = methods.length > 0 ? fc.constantFrom(...methods) : requestMethod;
  const listedHeaders = fc.subarray(headers).map((names) => names.join(", ").toLowerCase());
  return fc.record({
    method,
    url: path.map((p) => `https://${host}${p}`),
    origin: fc.oneof({ weight: 10, arbitrary: requestOrigin(doc, noise) }, { weight: 1, arbitrary: fc.constant(`https://${host}`) }),
    requestMethod: fc.oneof(fc.constant(null), listedMethod, listedMethod, requestMethod, noise),
    requestHeaders: fc.oneof(fc.constant(null), listedHeaders, listedHeaders, requestHeaders, noise),
  });
}
