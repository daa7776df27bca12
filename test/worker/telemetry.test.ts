/**
 * Decision telemetry and report-only candidates, in workerd: the exact
 * Analytics Engine data points (through a binding the test controls), every
 * kind of disagreement, bounded and count-preserving log aggregation.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { CANDIDATE_PREFIX, PolicyStore } from "../../src/worker/policy-store.js";
import { LOG_INTERVAL_MS, Telemetry, type CorsEvent } from "../../src/worker/telemetry.js";
import { corsHeaders, putPolicy, received, send, uniqueHost, uniquePath } from "./helpers.js";

const A = "https://a.test";
const B = "https://b.test";

interface Point {
  indexes?: string[];
  blobs?: (string | null)[];
  doubles?: number[];
}

/** An Analytics Engine binding that keeps what it is given. */
function dataset(): { points: Point[]; binding: { writeDataPoint(point: Point): void } } {
  const points: Point[] = [];
  return { points, binding: { writeDataPoint: (point) => points.push(point) } };
}

/** The events of the data points, by name. */
function events(points: Point[]): Record<string, string | null>[] {
  return points.map(({ blobs = [] }) => {
    const [kind, host, route, origin, method, rule, field] = blobs;
    return { kind: kind!, host: host!, route: route!, origin: origin!, method: method!, rule: rule!, field: field! };
  });
}

describe("Analytics Engine data points", () => {
  it("one per refusal: the host as index, the event's fields as blobs, a count of 1", async () => {
    const host = uniqueHost();
    await putPolicy(host, { origins: [A], routes: [{ path: "/admin/*", origins: [B] }] });
    const { points, binding } = dataset();
    const env = { CORS_EVENTS: binding } as unknown as Partial<Env>;
    await send(`https://${host}/admin/x`, { method: "OPTIONS", headers: { Origin: A, "Access-Control-Request-Method": "PUT" } }, env);
    await send(`https://${host}/x`, { headers: { Origin: A } }, env);
    expect(points).toEqual([
      { indexes: [host], blobs: ["refused", host, "$.routes[0]", A, "OPTIONS", "origin", "$.routes[0].origins", "/admin/x"], doubles: [1] },
    ]);
  });

  it("a binding that throws never fails the request", async () => {
    const host = uniqueHost();
    await putPolicy(host, { origins: [A] });
    const broken = { writeDataPoint: () => { throw new Error("dataset gone"); } };
    const res = await send(`https://${host}/x`, { headers: { Origin: B } }, { CORS_EVENTS: broken } as unknown as Partial<Env>);
    expect(res.status).toBe(200);
  });
});

describe("report-only candidates", () => {
  /** Enforced and candidate policies on a fresh host, the candidate loaded (the first request loads it behind its answer). */
  async function hostWith(enforced: unknown, candidate: unknown): Promise<string> {
    const host = uniqueHost();
    await putPolicy(host, enforced);
    if (candidate !== undefined) await putPolicy(`${CANDIDATE_PREFIX}${host}`, candidate);
    await send(`https://${host}/warm-up`);
    return host;
  }

  const preflightPut = { method: "OPTIONS", headers: { Origin: A, "Access-Control-Request-Method": "PUT" } };
  const rows: [string, unknown, unknown, RequestInit, Record<string, string | null>[]][] = [
    ["allowed → refused", { origins: [A] }, { origins: [B] }, { headers: { Origin: A } }, [{ kind: "candidate-allowed-to-refused", route: "$", rule: "origin", field: "$.origins" }]],
    ["refused → allowed", { origins: [B] }, { origins: [A, B] }, { headers: { Origin: A } }, [
      { kind: "refused", route: "$", rule: "origin", field: "$.origins" },
      { kind: "candidate-refused-to-allowed", route: "$", rule: "origin", field: "$.origins" },
    ]],
    ["methods change", { origins: [A], methods: ["GET", "PUT"] }, { origins: [A], methods: ["PUT"] }, preflightPut, [{ kind: "candidate-headers", route: "$", rule: "methods", field: null }]],
    ["a method refused", { origins: [A], methods: ["PUT"] }, { origins: [A], methods: ["PATCH"] }, preflightPut, [{ kind: "candidate-allowed-to-refused", route: "$", rule: "method", field: "$.methods" }]],
    ["allowed headers change", { origins: [A], methods: ["PUT"], allowHeaders: ["X-A"] }, { origins: [A], methods: ["PUT"] }, preflightPut, [{ kind: "candidate-headers", route: "$", rule: "allowHeaders", field: null }]],
    ["max-age changes", { origins: [A], methods: ["PUT"], maxAge: 600 }, { origins: [A], methods: ["PUT"], maxAge: 60 }, preflightPut, [{ kind: "candidate-headers", route: "$", rule: "maxAge", field: null }]],
    ["credentials change", { origins: [A], credentials: true, blockCrossOriginWrites: true }, { origins: [A], blockCrossOriginWrites: true }, { headers: { Origin: A } }, [{ kind: "candidate-headers", route: "$", rule: "credentials", field: null }]],
    ["exposed headers change", { origins: [A], exposeHeaders: ["X-Id"] }, { origins: [A], exposeHeaders: ["X-Id", "ETag"] }, { headers: { Origin: A } }, [{ kind: "candidate-headers", route: "$", rule: "exposeHeaders", field: null }]],
    ["a route's own rules", { origins: [A] }, { origins: [A], routes: [{ path: "/x/*", origins: [B] }] }, { headers: { Origin: A } }, [{ kind: "candidate-allowed-to-refused", route: "$.routes[0]", rule: "origin", field: "$.routes[0].origins" }]],
    ["a write the candidate would block", { origins: [A] }, { origins: [A], blockCrossOriginWrites: true }, { method: "POST", body: "x", headers: { Origin: B } }, [
      { kind: "refused", route: "$", rule: "origin", field: "$.origins" },
      { kind: "candidate-blocked", route: "$", rule: "cross-origin-write", field: "$.blockCrossOriginWrites" },
    ]],
    ["the same answer: nothing", { origins: [A], methods: ["PUT"] }, { origins: [A, B], methods: ["PUT"] }, preflightPut, []],
  ];

  it.each(rows)("%s: the event, and an answer exactly as without the candidate", async (_name, enforced, candidate, init, expected) => {
    const withCandidate = await hostWith(enforced, candidate);
    const without = await hostWith(enforced, undefined);
    const { points, binding } = dataset();
    const env = { CORS_EVENTS: binding } as unknown as Partial<Env>;
    const path = `/x/${crypto.randomUUID()}`;
    const answered = await send(`https://${withCandidate}${path}`, init, env);
    expect(events(points)).toEqual(expected.map((event) => ({ host: withCandidate, origin: (init.headers as Record<string, string>).Origin, method: init.method ?? "GET", ...event })));
    const plain = await send(`https://${without}${path}`, init);
    expect([answered.status, corsHeaders(answered)]).toEqual([plain.status, corsHeaders(plain)]);
  });

  it("an invalid candidate never affects traffic, and is logged as a policy is", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      const host = await hostWith({ origins: [A] }, { origins: "*", credentials: true });
      const { points, binding } = dataset();
      const res = await send(`https://${host}/x`, { headers: { Origin: A } }, { CORS_EVENTS: binding } as unknown as Partial<Env>);
      expect(corsHeaders(res)).toMatchObject({ "access-control-allow-origin": A });
      expect(points).toEqual([]);
      const lines = warn.mock.calls.map((call) => JSON.parse(String(call[0])));
      expect(lines).toContainEqual(expect.objectContaining({ event: "policy-reload-failed", key: `${CANDIDATE_PREFIX}${host}`, reason: "stored policy is not valid" }));
    } finally {
      warn.mockRestore();
    }
  });

  it("a candidate that changes mid-load is compared as it is at each moment", async () => {
    const host = uniqueHost();
    await putPolicy(host, { origins: [A] });
    await putPolicy(`${CANDIDATE_PREFIX}${host}`, { origins: [A] });
    const { points, binding } = dataset();
    const env = { CORS_EVENTS: binding, POLICY_TTL_SECONDS: "0" } as unknown as Partial<Env>;
    await send(`https://${host}/warm-up`, {}, env);
    const path = uniquePath();
    for (let i = 0; i < 3; i++) await send(`https://${host}${path}`, { headers: { Origin: A } }, env);
    expect(points).toEqual([]);
    await putPolicy(`${CANDIDATE_PREFIX}${host}`, { origins: [B] });
    // With a TTL of 0 every request refreshes behind its answer: the next one sees the new candidate.
    for (let i = 0; i < 3; i++) await send(`https://${host}${path}`, { headers: { Origin: A } }, env);
    expect(events(points).map((event) => event.kind)).toEqual(["candidate-allowed-to-refused", "candidate-allowed-to-refused"]);
    expect(await received(path)).toHaveLength(6);
  });

  it.each([
    ["a tenant's small policy: the request that loads it reads the candidate too", 1, 1],
    ["a big policy (over 16 KiB): the request that loads it leaves the candidate to the next one", 1_000, 2],
  ])("%s", async (_name, listed, readBy) => {
    const host = uniqueHost();
    await putPolicy(host, { origins: [...Array.from({ length: listed }, (_, i) => `https://h${i}.a.test`), A] });
    await putPolicy(`${CANDIDATE_PREFIX}${host}`, { origins: [B] });
    const reads: string[] = [];
    const counted = {
      get: (key: string, options: unknown) => (reads.push(key), env.CORS_POLICY.get(key, options as KVNamespaceGetOptions<"stream">)),
    } as unknown as KVNamespace;
    const { points, binding } = dataset();
    const overrides = { CORS_POLICY: counted, CORS_EVENTS: binding } as unknown as Partial<Env>;
    const path = uniquePath();
    for (let request = 1; request <= 3; request++) {
      await send(`https://${host}${path}`, { headers: { Origin: A } }, overrides);
      expect(reads).toEqual(request < readBy ? [host] : [host, `${CANDIDATE_PREFIX}${host}`]);
    }
    // Compared from the request after the one that read it.
    expect(events(points).map((event) => event.kind)).toEqual(Array(3 - readBy).fill("candidate-allowed-to-refused"));
    expect(await received(path)).toHaveLength(3);
  });

  it("the candidate of default applies to a host without its own key, and is never waited for", async () => {
    // A store of its own over a KV of its own: "default" in the shared test KV would reach other tests.
    const values = new Map([["default", { origins: [A] }], [`${CANDIDATE_PREFIX}default`, { origins: [B] }]]);
    const kv = {
      get: async (key: string) => (values.has(key) ? new Response(JSON.stringify(values.get(key))).body : null),
    } as unknown as KVNamespace;
    const store = new PolicyStore();
    const pending: Promise<unknown>[] = [];
    const options = { kv, ttlMs: 30_000, waitUntil: (p: Promise<unknown>) => pending.push(p) };
    const policy = await store.policyFor("no-key-of-its-own.test", options);
    expect(policy).not.toBeNull();
    expect(store.candidateFor("no-key-of-its-own.test", () => options)).toBeNull();
    await Promise.all(pending);
    const candidate = store.candidateFor("no-key-of-its-own.test", () => options);
    expect(candidate?.rules.origins).not.toBe("*");
    expect(candidate && candidate.rules.origins !== "*" && candidate.rules.origins.matches(B)).toBe(true);
  });
});

describe("log aggregation", () => {
  function clockedTelemetry(maxKeys?: number) {
    const clock = { now: 1_000_000 };
    const telemetry = new Telemetry({ now: () => clock.now, ...(maxKeys ? { maxKeys } : {}) });
    const flushes: Promise<unknown>[] = [];
    const lines = () => log.mock.calls.map((call) => JSON.parse(String(call[0])) as Record<string, unknown>);
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    return { clock, telemetry, flushes, lines, log };
  }
  const event = (origin: string, host = "api.test"): CorsEvent => ({ kind: "refused", host, route: "$", origin, method: "GET", path: "/x", rule: "origin", field: "$.origins" });
  const counted = (lines: Record<string, unknown>[]) => lines.reduce((sum, line) => sum + Number(line.count), 0);

  it("10,000 events from 10,000 origins: a bounded number of lines, and the counts add up", async () => {
    const { telemetry, flushes, lines, log } = clockedTelemetry();
    try {
      for (let i = 0; i < 10_000; i++) telemetry.record(event(`https://evil-${i}.test`), { waitUntil: (p) => flushes.push(p) });
      // Nothing on the request's own path: lines come only from the flush that waitUntil carries.
      expect(log).not.toHaveBeenCalled();
      await Promise.all(flushes);
      expect(lines().length).toBeLessThanOrEqual(501);
      expect(lines().filter((line) => line.event === "cors-events-overflow")).toHaveLength(1);
      expect(counted(lines())).toBe(10_000);
    } finally {
      log.mockRestore();
    }
  });

  it("one distinct event is logged at most once a minute, with its count since its last line", async () => {
    const { clock, telemetry, flushes, lines, log } = clockedTelemetry();
    try {
      const record = (n: number) => {
        for (let i = 0; i < n; i++) telemetry.record(event(A), { waitUntil: (p) => flushes.push(p) });
      };
      record(1);
      await Promise.all(flushes);
      record(99);
      await Promise.all(flushes);
      expect(lines().map((line) => line.count)).toEqual([1]);
      clock.now += LOG_INTERVAL_MS;
      record(1);
      await Promise.all(flushes);
      expect(lines().map((line) => line.count)).toEqual([1, 100]);
      expect(lines()[0]).toEqual({ level: "info", event: "cors-event", kind: "refused", host: "api.test", route: "$", origin: A, method: "GET", rule: "origin", field: "$.origins", path: "/x", count: 1 });
    } finally {
      log.mockRestore();
    }
  });

  it("a key quiet for a minute makes room for another; overflow is counted, then logged once a minute", async () => {
    const { clock, telemetry, flushes, lines, log } = clockedTelemetry(2);
    try {
      const record = (origin: string) => telemetry.record(event(origin), { waitUntil: (p) => flushes.push(p) });
      record(A);
      record(B);
      record("https://c.test");
      await Promise.all(flushes);
      expect(lines().map((line) => [line.event, line.origin ?? null, line.count])).toEqual([
        ["cors-event", A, 1],
        ["cors-event", B, 1],
        ["cors-events-overflow", null, 1],
      ]);
      clock.now += LOG_INTERVAL_MS;
      record(B);
      await Promise.all(flushes);
      clock.now += LOG_INTERVAL_MS;
      record("https://c.test");
      await Promise.all(flushes);
      expect(counted(lines())).toBe(5);
      expect(lines().at(-1)).toMatchObject({ event: "cors-event", origin: "https://c.test", count: 1 });
    } finally {
      log.mockRestore();
    }
  });
});
