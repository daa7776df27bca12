/**
 * Fuzzing the CORS request headers at the Worker, inside workerd: random
 * bytes, control characters, CR/LF, values up to 64 KiB and repeated headers
 * in Origin, Access-Control-Request-Method, Access-Control-Request-Headers
 * (and Vary). Whatever arrives, the edge never answers 500, never allows an
 * origin the policy does not, never echoes an unvalidated request value into
 * a response header, and never copies the request's Vary.
 *
 * The Headers API refuses some values (CR, LF, NUL, code points above 0xFF):
 * a client cannot send those through workerd at all, so they are fuzzed at
 * the core's decide() instead.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compilePolicy, decide, validatePolicy } from "../../src/core/index.js";
import { EXAMPLE_POLICY, putPolicy, received, send, uniqueHost } from "../worker/helpers.js";
import { modelDecide, modelPolicy, type ModelAnswer, type ModelRequest, type PolicyDoc } from "../property/model.js";

const FUZZED = ["Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers", "Vary", "Sec-Fetch-Site"] as const;
type Fuzzed = (typeof FUZZED)[number];

const NEAR = ["https://app.example.com", "https://a.example.org", "http://localhost:3000", "null", "PUT", "GET", "content-type", "Authorization", "Origin", "same-origin", "cross-site", "none"];

/** ASCII, weighted towards the characters that break parsers. */
const asciiChar = fc
  .oneof(
    { weight: 3, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
    { weight: 2, arbitrary: fc.constantFrom(0x00, 0x09, 0x0a, 0x0d, 0x0b, 0x0c, 0x1b, 0x7f, 0x2c, 0x3a, 0x2a, 0x22, 0x5c) },
    { weight: 1, arbitrary: fc.integer({ min: 0x00, max: 0x7f }) },
  )
  .map((code) => String.fromCharCode(code));
/** Any byte (obs-text included). */
const byteChar = fc.oneof(asciiChar, fc.integer({ min: 0x80, max: 0xff }).map((code) => String.fromCharCode(code)));
const wideChar = fc.constantFrom("\u0100", "\u2028", "\ud83d\ude00", "\ufeff", "\u0130", "\u212a");

// Mostly ASCII: workerd warns on stderr for every non-ASCII header it sends on.
const small = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit: asciiChar, maxLength: 64 }) },
  { weight: 1, arbitrary: fc.string({ unit: fc.oneof({ weight: 10, arbitrary: byteChar }, { weight: 1, arbitrary: wideChar }), maxLength: 64 }) },
);
const nearMiss = fc.tuple(fc.constantFrom(...NEAR), small, fc.boolean()).map(([near, extra, before]) => (before ? extra + near : near + extra));
/** Up to 64 KiB: a fuzzed chunk repeated, or a valid-looking value padded out. */
const large = fc
  .tuple(fc.oneof(small, nearMiss), fc.integer({ min: 1024, max: 64 * 1024 }))
  .map(([chunk, size]) => (chunk.length === 0 ? "a" : chunk).repeat(Math.ceil(size / Math.max(chunk.length, 1))).slice(0, size));
const value = fc.oneof({ weight: 6, arbitrary: small }, { weight: 4, arbitrary: nearMiss }, { weight: 1, arbitrary: large });

/** Each fuzzed header absent, sent once, or repeated (the Headers API joins repeats with ", "). */
const fuzzedHeaders = fc.record(
  Object.fromEntries(FUZZED.map((name) => [name, fc.oneof(fc.constant([] as string[]), fc.array(value, { minLength: 1, maxLength: 3 }))])) as Record<Fuzzed, fc.Arbitrary<string[]>>,
);
const fuzzRequest = fc.record({
  method: fc.constantFrom("OPTIONS", "OPTIONS", "GET", "POST", "PUT"),
  path: fc.constantFrom("/api/x", "/public/x", "/"),
  headers: fuzzedHeaders,
});

const POLICY = modelPolicy(EXAMPLE_POLICY as PolicyDoc);
/** Every response header value the example policy itself produces. */
const POLICY_VALUES = new Set([
  "true",
  "GET, POST, PUT, DELETE",
  "GET, HEAD",
  "Content-Type, Authorization",
  "X-Request-Id",
  "600",
  "*",
  "Origin",
  "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
  "Access-Control-Request-Method, Access-Control-Request-Headers",
]);
/** The origin server's own headers, by the shape of their values. */
const ORIGIN_HEADER_SHAPES: Record<string, RegExp> = {
  "content-type": /^(application\/json|text\/plain; charset=utf-8)$/,
  "content-length": /^\d+$/,
  date: /^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$/,
  connection: /^(keep-alive|close)$/,
  "keep-alive": /^timeout=\d+$/,
  "transfer-encoding": /^chunked$/,
};

/** A header value as Node reads it back: workerd sends non-ASCII as UTF-8, Node decodes bytes as Latin-1. */
function onTheWire(value: string | null): string | undefined {
  if (!value) return undefined;
  return String.fromCharCode(...new TextEncoder().encode(value));
}

function build(headers: Record<Fuzzed, string[]>): Headers | null {
  try {
    const out = new Headers();
    for (const name of FUZZED) for (const v of headers[name]) out.append(name, v);
    return out;
  } catch {
    return null;
  }
}

/** Node's HTTP parser, like many origin servers, answers 400 to control characters in a header value. */
function originRefuses(sent: Headers): boolean {
  return FUZZED.some((name) => /[\x00-\x08\x0b-\x1f\x7f]/.test(sent.get(name) ?? ""));
}

function checkAnswer(res: Response, sent: Headers, req: ModelRequest): ModelAnswer {
  const expected = modelDecide(POLICY, req);
  expect(res.status).not.toBe(500);
  // A forwarded request gets the origin's own answer, stamped.
  const refusedAtEdge = expected.kind === "blocked" || (expected.kind === "preflight" && !expected.allowed);
  if (!refusedAtEdge && expected.kind !== "preflight" && originRefuses(sent)) {
    // Node answers 400 and drops the connection, which workerd may report as lost first: the edge's 502.
    expect([400, 502]).toContain(res.status);
  } else {
    expect(res.status).toBe(refusedAtEdge ? 403 : expected.kind === "preflight" ? 204 : 200);
  }
  const cors: Record<string, string> = {};
  for (const [name, v] of res.headers) if (name.startsWith("access-control-")) cors[name] = v;
  expect(cors).toEqual(expected.headers);
  // Never the request's Vary: exactly the edge's own.
  expect(res.headers.get("Vary")).toBe(expected.vary);
  const requestValues = FUZZED.map((name) => sent.get(name)).filter((v): v is string => v !== null && v.length >= 3);
  for (const [name, v] of res.headers) {
    if (name === "access-control-allow-origin" && v === req.origin && expected.allowed) continue; // validated: the policy allows it
    if (name.startsWith("access-control-") || name === "vary") {
      expect(POLICY_VALUES.has(v), `${name}: ${v}`).toBe(true);
      continue;
    }
    const shape = ORIGIN_HEADER_SHAPES[name];
    expect(shape, `unexpected response header ${name}`).toBeDefined();
    expect(v).toMatch(shape!);
    for (const sentValue of requestValues) expect(v.includes(sentValue), `${name} echoes a request value`).toBe(false);
  }
  return expected;
}

/** What the model sees of a request: the CORS headers as the Headers API built them. */
function modelRequest(method: string, url: string, built: Headers): ModelRequest {
  return {
    method,
    url,
    origin: built.get("Origin"),
    requestMethod: built.get("Access-Control-Request-Method"),
    requestHeaders: built.get("Access-Control-Request-Headers"),
    fetchSite: built.get("Sec-Fetch-Site"),
    upgrade: null,
  };
}

describe("fuzzing the CORS request headers at the Worker", () => {
  it("never 500, never a wrong Allow-Origin, never an echo, never the request's Vary", async () => {
    const host = uniqueHost();
    await putPolicy(host, EXAMPLE_POLICY);
    const tag = crypto.randomUUID();
    const forwarded: string[] = [];
    let sent = 0;
    let refusedByHeadersApi = 0;
    await fc.assert(
      fc.asyncProperty(fuzzRequest, async ({ method, path, headers }) => {
        const built = build(headers);
        if (built === null) {
          refusedByHeadersApi += 1;
          return;
        }
        const id = `${tag}-${(sent += 1)}`;
        const url = `https://${host}${path}?tag=${id}`;
        const res = await send(url, { method, headers: built, body: method === "POST" ? "payload" : null });
        const expected = checkAnswer(res, built, modelRequest(method, url, built));
        if (expected.kind === "forward" && res.status === 200) forwarded.push(id);
        // What the origin received: the request's own headers, unchanged. Only for plain values sent once:
        // how repeated and empty header lines travel is up to workerd and Node, not the edge.
        const plain = FUZZED.every((name) => headers[name].length === 0 || (headers[name].length === 1 && /^[\t\x20-\x7e\x80-\uffff]+$/.test(built.get(name) ?? "")));
        if (expected.kind === "forward" && res.status === 200 && plain) {
          const echo = (await res.json()) as { headers: Record<string, string> };
          for (const name of FUZZED) expect(echo.headers[name.toLowerCase()], name).toBe(onTheWire(built.get(name)));
        }
      }),
      { numRuns: 400 },
    );
    expect(sent).toBeGreaterThan(100);
    expect(refusedByHeadersApi).toBeGreaterThan(0);
    const reached = (await received("/")).map((r) => new URL(r.url, "http://origin.test").searchParams.get("tag") ?? "");
    expect(reached.filter((id) => id.startsWith(tag)).sort()).toEqual(forwarded.sort());
  });

  it("handles 64 KiB values in every CORS header at once", async () => {
    const host = uniqueHost();
    await putPolicy(host, EXAMPLE_POLICY);
    const big = (unit: string) => unit.repeat(Math.ceil(65536 / unit.length)).slice(0, 65536);
    const cases: [string, Record<string, string>][] = [
      ["listed origin padded", { Origin: big("https://app.example.com") }],
      ["a deep pattern subdomain", { Origin: `https://${big("a.").slice(0, 65000)}example.org` }],
      ["commas", { Origin: "https://app.example.com", "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": big(",") }],
      ["many allowed names", { Origin: "https://app.example.com", "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": big("content-type,") }],
      ["spaces and tabs", { Origin: "https://app.example.com", "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": big(" \t") }],
      ["a long method", { Origin: "https://app.example.com", "Access-Control-Request-Method": big("PUT") }],
      ["a long Vary", { Origin: "https://app.example.com", Vary: big("Origin, ") }],
    ];
    for (const [name, headers] of cases) {
      for (const method of ["OPTIONS", "GET"]) {
        const built = new Headers(headers);
        const url = `https://${host}/api/x`;
        const res = await send(url, { method, headers: built });
        expect(checkAnswer(res, built, modelRequest(method, url, built)), name).toBeDefined();
        await res.body?.cancel();
      }
    }
  });
});

describe("fuzzing decide() with values the Headers API refuses", () => {
  const compiled = (() => {
    const result = validatePolicy(EXAMPLE_POLICY);
    if (!result.ok) throw new Error("example policy refused");
    return compilePolicy(result.policy);
  })();
  const raw = fc.string({ unit: fc.oneof(byteChar, wideChar, fc.constantFrom("\r", "\n", "\0", "\r\n")), maxLength: 80 });
  const rawValue = fc.oneof(raw, nearMiss.map((v) => `${v}\r\nX-Injected: 1`), nearMiss.map((v) => `${v}\0`));

  it("never throws, never allows an origin the model does not, and sets Allow-Origin to * or the origin itself", () => {
    fc.assert(
      fc.property(
        fc.record({
          method: fc.constantFrom("OPTIONS", "GET"),
          origin: fc.option(rawValue),
          requestMethod: fc.option(rawValue),
          requestHeaders: fc.option(rawValue),
          path: fc.constantFrom("/api/x", "/public/x"),
        }),
        ({ method, origin, requestMethod, requestHeaders, path }) => {
          const url = `https://edge.test${path}`;
          const decision = decide(compiled, { method, url: new URL(url), origin, requestMethod, requestHeaders });
          const expected = modelDecide(POLICY, { method, url, origin, requestMethod, requestHeaders });
          expect(decision.allowed).toBe(expected.allowed);
          if (!decision.allowed) return;
          for (const [name, v] of decision.headers) {
            expect(/[\r\n\0]/.test(v), name).toBe(false);
            if (name === "Access-Control-Allow-Origin") expect(v === "*" || v === origin).toBe(true);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
