import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { CompiledPolicy } from "../../src/core/index.js";
import { CANDIDATE_PREFIX, PolicyStore } from "../../src/worker/policy-store.js";
import { putPolicy, send, uniqueHost } from "./helpers.js";

const TTL = 30_000;
const A = { origins: ["https://a.test"] };
const B = { origins: ["https://b.test"] };

/** The real local KV, wrapped so a test can count reads and make them fail or hang. */
function wrappedKv(real: KVNamespace = env.CORS_POLICY) {
  const state = { reads: [] as string[], mode: "ok" as "ok" | "throw" | "hang" };
  const kv = {
    get(key: string, options: unknown) {
      state.reads.push(key);
      if (state.mode === "throw") return Promise.reject(new Error("KV is down"));
      if (state.mode === "hang") return new Promise(() => {});
      return real.get(key, options as KVNamespaceGetOptions<"text">);
    },
  } as unknown as KVNamespace;
  return { kv, state };
}

type Bounds = { maxSlots?: number; maxHeldTexts?: number; maxHeldTextBytes?: number };

/** A store on a clock the test moves by hand, and the background work it started. */
function storeOnClock(kv: KVNamespace, bounds: Bounds = {}) {
  const clock = { now: 1_000_000 };
  const pending: Promise<unknown>[] = [];
  const store = new PolicyStore({ now: () => clock.now, kvTimeoutMs: 50, ...bounds });
  const options = () => ({ kv, ttlMs: TTL, waitUntil: (p: Promise<unknown>) => void pending.push(p) });
  const policyFor = (host: string) => store.policyFor(host, options());
  const peek = (host: string) => store.peek(host, options);
  const candidateFor = (host: string, mayRead?: boolean) => store.candidateFor(host, options, mayRead);
  const settle = () => Promise.all(pending.splice(0));
  return { clock, policyFor, peek, candidateFor, settle, pending, store };
}

function allows(policy: CompiledPolicy | null, origin: string): boolean {
  if (!policy || policy.rules.origins === "*") return policy !== null;
  return policy.rules.origins.matches(origin);
}

function warnings(spy: ReturnType<typeof vi.spyOn>): Record<string, unknown>[] {
  return spy.mock.calls.map((call: unknown[]) => JSON.parse(String(call[0])) as Record<string, unknown>);
}

afterEach(() => vi.restoreAllMocks());

describe("policy store", () => {
  it("reads the hostname's own key, lowercased, before the default key", async () => {
    const host = uniqueHost();
    await putPolicy(host, A);
    const { kv, state } = wrappedKv();
    const { policyFor } = storeOnClock(kv);
    expect(allows(await policyFor(host.toUpperCase()), "https://a.test")).toBe(true);
    expect(state.reads).toEqual([host]);
  });

  it("falls back to the default key when the hostname has none", async () => {
    const isolated = wrappedKv(memoryKv({ default: JSON.stringify(B) }));
    const { policyFor } = storeOnClock(isolated.kv);
    expect(allows(await policyFor("api.test"), "https://b.test")).toBe(true);
    expect(isolated.state.reads).toEqual(["api.test", "default"]);
  });

  it("fails closed when neither the hostname nor default has a policy", async () => {
    const { kv } = wrappedKv(memoryKv({}));
    const { policyFor } = storeOnClock(kv);
    expect(await policyFor("api.test")).toBeNull();
  });

  it("serves from memory within the TTL: one KV read per key, however many requests", async () => {
    const host = uniqueHost();
    await putPolicy(host, A);
    const { kv, state } = wrappedKv();
    const { clock, policyFor } = storeOnClock(kv);
    const first = await Promise.all(Array.from({ length: 50 }, () => policyFor(host)));
    clock.now += TTL - 1;
    for (let i = 0; i < 50; i++) expect(await policyFor(host)).toBe(first[0]);
    expect(state.reads).toEqual([host]);
  });

  it("puts a changed policy in effect after the TTL, refreshing behind the answer", async () => {
    const host = uniqueHost();
    await putPolicy(host, A);
    const { kv, state } = wrappedKv();
    const { clock, policyFor, settle } = storeOnClock(kv);
    expect(allows(await policyFor(host), "https://a.test")).toBe(true);
    await putPolicy(host, B);
    clock.now += TTL - 1;
    expect(allows(await policyFor(host), "https://b.test")).toBe(false);
    clock.now += 2;
    // The first request after the TTL is answered at once from memory; the read happens behind it.
    expect(allows(await policyFor(host), "https://a.test")).toBe(true);
    await settle();
    expect(allows(await policyFor(host), "https://b.test")).toBe(true);
    expect(state.reads).toEqual([host, host]);
  });

  it.each([
    ["KV throws", "throw", "KV read failed: KV is down"],
    ["KV hangs past the timeout", "hang", "KV read failed: no answer within 50 ms"],
  ] as const)("keeps the last good policy when %s, and logs it once per reload", async (_, mode, reason) => {
    const host = uniqueHost();
    await putPolicy(host, A);
    const { kv, state } = wrappedKv();
    const { clock, policyFor, settle } = storeOnClock(kv);
    const good = await policyFor(host);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    state.mode = mode;
    clock.now += TTL + 1;
    expect(await policyFor(host)).toBe(good);
    expect(await policyFor(host)).toBe(good);
    await settle();
    expect(await policyFor(host)).toBe(good);
    expect(warnings(warn)).toEqual([{ level: "warn", event: "policy-reload-failed", key: host, reason, keeping: "last good policy" }]);
  });

  it.each([
    ["not JSON", "{ origins: [", "stored policy is not valid", "$: not valid JSON"],
    ["invalid", JSON.stringify({ origins: "*", credentials: true }), "stored policy is not valid", "$.origins: origins"],
  ])("keeps the last good policy when the stored one is %s, and says why", async (_, stored, reason, firstError) => {
    const host = uniqueHost();
    await putPolicy(host, A);
    const { kv } = wrappedKv();
    const { clock, policyFor, settle } = storeOnClock(kv);
    const good = await policyFor(host);
    await putPolicy(host, stored);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    clock.now += TTL + 1;
    await policyFor(host);
    await settle();
    expect(await policyFor(host)).toBe(good);
    const [line] = warnings(warn);
    expect(line).toMatchObject({ event: "policy-reload-failed", key: host, reason, keeping: "last good policy" });
    expect(String((line?.errors as string[])[0])).toContain(firstError);
  });

  it("peek answers as policyFor does once every key it needs is loaded, a stale one refreshed behind; undefined before, without reading KV", async () => {
    const values = { "own.test": JSON.stringify(A), default: JSON.stringify(B) };
    const isolated = wrappedKv(memoryKv(values));
    const { clock, policyFor, peek, settle, pending } = storeOnClock(isolated.kv);
    expect(peek("own.test")).toBeUndefined();
    const own = await policyFor("own.test");
    expect(peek("OWN.test")).toBe(own);
    expect(peek("other.test")).toBeUndefined();
    const fallback = await policyFor("other.test");
    expect(allows(fallback, "https://b.test")).toBe(true);
    expect(peek("other.test")).toBe(fallback);
    expect(isolated.state.reads).toEqual(["own.test", "other.test", "default"]);
    values["own.test"] = JSON.stringify(B);
    clock.now += TTL + 1;
    expect(peek("own.test")).toBe(own); // stale: answered from memory, refreshed behind
    expect(peek("own.test")).toBe(own); // one refresh at a time
    expect(peek("other.test")).toBe(fallback);
    expect(pending).toHaveLength(3);
    await settle();
    expect(isolated.state.reads).toEqual(["own.test", "other.test", "default", "own.test", "other.test", "default"]);
    expect(allows(peek("own.test")!, "https://b.test")).toBe(true); // fresh again, from the new read
    expect(pending).toEqual([]);
  });

  it("peek fails closed (null) where policyFor does: no key at all, or a first load that failed, until it is time to read again", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const empty = storeOnClock(memoryKv({}));
    expect(await empty.policyFor("api.test")).toBeNull();
    expect(empty.peek("api.test")).toBeNull();
    const { kv, state } = wrappedKv(memoryKv({ default: JSON.stringify(A) }));
    state.mode = "throw";
    const failing = storeOnClock(kv);
    expect(await failing.policyFor("api.test")).toBeNull();
    expect(failing.peek("api.test")).toBeNull();
    expect(warn).toHaveBeenCalled();
    failing.clock.now += TTL + 1;
    expect(failing.peek("api.test")).toBeUndefined(); // nothing good to answer with: policyFor waits for the read
    expect(failing.pending).toEqual([]);
  });

  it("fails closed, and logs it, when no good policy was ever loaded", async () => {
    const host = uniqueHost();
    await putPolicy(host, { origins: ["https://A.test"] });
    const { kv } = wrappedKv();
    const { policyFor } = storeOnClock(kv);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    expect(await policyFor(host)).toBeNull();
    expect(warnings(warn)[0]).toMatchObject({ key: host, keeping: "nothing (failing closed)" });
  });
});

describe("keys evicted from the compiled slots, held as the text KV gave", () => {
  const textA = JSON.stringify(A);

  it("answers an evicted key again from its held text, own policy or absent, without reading KV", async () => {
    const { kv, state } = wrappedKv(memoryKv({ "one.test": textA, default: JSON.stringify(B) }));
    const { policyFor, store } = storeOnClock(kv, { maxSlots: 2 });
    expect(allows(await policyFor("stray.test"), "https://b.test")).toBe(true); // absent: default's
    expect(allows(await policyFor("one.test"), "https://a.test")).toBe(true); // stray.test goes, held as absent
    expect(store.heldTexts).toBe(1);
    expect(store.peek("stray.test", () => { throw new Error("no read"); })).toBeUndefined(); // not compiled: peek leaves it to policyFor
    expect(allows(await policyFor("stray.test"), "https://b.test")).toBe(true); // one.test goes, held as its text
    expect(allows(await policyFor("one.test"), "https://a.test")).toBe(true);
    expect(allows(await policyFor("one.test"), "https://b.test")).toBe(false);
    expect(store.size).toBe(2);
    expect(state.reads).toEqual(["stray.test", "default", "one.test"]);
  });

  it("reloads a held text past its expiry behind the answer: one read, the answer from the text", async () => {
    const values = { "one.test": textA, "two.test": textA, "three.test": textA };
    const { kv, state } = wrappedKv(memoryKv(values));
    const { clock, policyFor, settle } = storeOnClock(kv, { maxSlots: 2 });
    for (const host of ["one.test", "two.test", "three.test"]) await policyFor(host); // one.test goes
    values["one.test"] = JSON.stringify(B);
    clock.now += TTL + 1;
    const answers = await Promise.all([policyFor("one.test"), policyFor("one.test")]);
    // Both from the held text (A), not from the read that B would have come from.
    for (const answer of answers) expect(allows(answer, "https://a.test") && !allows(answer, "https://b.test")).toBe(true);
    await settle();
    expect(allows(await policyFor("one.test"), "https://b.test")).toBe(true);
    expect(state.reads).toEqual(["one.test", "two.test", "three.test", "one.test"]);
  });

  it.each([
    ["count", { maxHeldTexts: 2 }],
    ["total length", { maxHeldTextBytes: 2 * ("k1.test".length + textA.length) }],
  ])("holds texts within their own bound (%s), the least recently used out first", async (_, bounds) => {
    const hosts = ["k1.test", "k2.test", "k3.test", "k4.test", "k5.test"];
    const { kv, state } = wrappedKv(memoryKv(Object.fromEntries(hosts.map((host) => [host, textA]))));
    const { policyFor, store } = storeOnClock(kv, { maxSlots: 2, ...bounds });
    for (const host of hosts) await policyFor(host); // compiled: k4, k5; held: k2, k3; k1 gone
    expect(store.heldTexts).toBe(2);
    for (const host of ["k3.test", "k2.test", "k1.test"]) expect(allows(await policyFor(host), "https://a.test")).toBe(true);
    expect(state.reads).toEqual([...hosts, "k1.test"]);
    expect(store.heldTexts).toBe(2);
  });

  it("never evicts default, even while held texts churn", async () => {
    const values: Record<string, string> = { default: JSON.stringify(B) };
    for (let i = 0; i < 20; i++) values[`own${i}.test`] = textA;
    const { kv, state } = wrappedKv(memoryKv(values));
    const { policyFor, store } = storeOnClock(kv, { maxSlots: 2, maxHeldTexts: 3 });
    await policyFor("stray.test");
    for (let i = 0; i < 20; i++) await policyFor(`own${i}.test`);
    expect(allows(await policyFor("another-stray.test"), "https://b.test")).toBe(true);
    expect(state.reads.filter((key) => key === "default")).toEqual(["default"]);
    expect(store.heldTexts).toBe(3);
  });

  it("holds only good values: a key that never loaded one is read again and fails closed, never taken for absent", async () => {
    const { kv, state } = wrappedKv(memoryKv({ "bad.test": JSON.stringify({ origins: "*", credentials: true }), "one.test": textA, default: JSON.stringify(B) }));
    const { policyFor, store } = storeOnClock(kv, { maxSlots: 2 });
    vi.spyOn(console, "warn").mockImplementation(() => {});
    expect(await policyFor("bad.test")).toBeNull();
    await policyFor("one.test");
    await policyFor("stray.test"); // with default, pushes out bad.test (not held) and one.test (held)
    expect(store.heldTexts).toBe(1);
    expect(await policyFor("bad.test")).toBeNull(); // not default's B
    expect(state.reads.filter((key) => key === "bad.test")).toEqual(["bad.test", "bad.test"]);
  });

  it("holds the last good text when KV now holds a bad one, and answers by it after eviction", async () => {
    const values: Record<string, string> = { "one.test": textA, "two.test": textA, "three.test": textA };
    const { kv, state } = wrappedKv(memoryKv(values));
    const { clock, policyFor, settle } = storeOnClock(kv, { maxSlots: 2 });
    vi.spyOn(console, "warn").mockImplementation(() => {});
    await policyFor("one.test");
    values["one.test"] = "{ origins: [";
    clock.now += TTL + 1;
    await policyFor("one.test");
    await settle(); // the reload fails: A is kept, for another TTL
    for (const host of ["two.test", "three.test"]) await policyFor(host); // one.test goes
    expect(allows(await policyFor("one.test"), "https://a.test")).toBe(true);
    expect(state.reads).toEqual(["one.test", "one.test", "two.test", "three.test"]);
  });

  it("rebuilds a candidate's evicted key from its held text too, without a read behind it", async () => {
    const { kv, state } = wrappedKv(memoryKv({ "one.test": textA, "two.test": textA, "three.test": textA }));
    const { policyFor, candidateFor, settle, pending } = storeOnClock(kv, { maxSlots: 2 });
    await policyFor("one.test");
    expect(candidateFor("one.test")).toBeNull();
    await settle(); // no candidate stored: absent
    await policyFor("two.test"); // one.test goes
    await policyFor("three.test"); // the candidate's key goes, held as absent
    await policyFor("one.test");
    expect(candidateFor("one.test")).toBeNull();
    expect(pending).toEqual([]);
    expect(state.reads).toEqual(["one.test", `${CANDIDATE_PREFIX}one.test`, "two.test", "three.test"]);
  });
});

describe("report-only candidates in the store", () => {
  /** A policy over 16 KiB, the size of a first read: an allowlist, not a tenant's policy. */
  const BIG = { origins: [...Array.from({ length: 1_000 }, (_, i) => `https://h${i}.a.test`), "https://a.test"] };

  it("a request that has just loaded a big policy leaves the candidate's read to a later one, and still gets what is in memory", async () => {
    const values = { "one.test": JSON.stringify(BIG), [`${CANDIDATE_PREFIX}one.test`]: JSON.stringify(B) };
    const { kv, state } = wrappedKv(memoryKv(values));
    const { clock, policyFor, candidateFor, settle, pending } = storeOnClock(kv);
    await policyFor("one.test");
    expect(candidateFor("one.test", true)).toBeNull();
    expect(pending).toEqual([]);
    expect(candidateFor("one.test")).toBeNull(); // the next request starts the read
    await settle();
    const candidate = candidateFor("one.test", true);
    expect(allows(candidate, "https://b.test")).toBe(true); // in memory: compared even by a request that loaded
    clock.now += TTL + 1;
    expect(candidateFor("one.test", true)).toBe(candidate); // stale: kept, its refresh left to a later request
    expect(pending).toEqual([]);
    expect(state.reads).toEqual(["one.test", `${CANDIDATE_PREFIX}one.test`]);
    expect(candidateFor("one.test")).toBe(candidate);
    await settle();
    expect(state.reads).toEqual(["one.test", `${CANDIDATE_PREFIX}one.test`, `${CANDIDATE_PREFIX}one.test`]);
  });

  it("a request that has just loaded a small policy reads its candidate too", async () => {
    const { kv, state } = wrappedKv(memoryKv({ "one.test": JSON.stringify(A), [`${CANDIDATE_PREFIX}one.test`]: JSON.stringify(B) }));
    const { policyFor, candidateFor, settle } = storeOnClock(kv);
    await policyFor("one.test");
    expect(candidateFor("one.test", true)).toBeNull();
    await settle();
    expect(state.reads).toEqual(["one.test", `${CANDIDATE_PREFIX}one.test`]);
    expect(allows(candidateFor("one.test", true), "https://b.test")).toBe(true);
  });

  it("a candidate whose first read fails is logged as no candidate to compare, not as failing closed", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const { kv, state } = wrappedKv(memoryKv({ "one.test": JSON.stringify(A) }));
    const { policyFor, candidateFor, settle } = storeOnClock(kv);
    await policyFor("one.test");
    state.mode = "throw";
    expect(candidateFor("one.test")).toBeNull();
    await settle();
    expect(warnings(warn)).toEqual([
      expect.objectContaining({ key: `${CANDIDATE_PREFIX}one.test`, reason: "KV read failed: KV is down", keeping: "nothing (no candidate to compare)" }),
    ]);
  });
});

describe("the worker and its policy", () => {
  it("fails closed on an invalid policy: preflights refused, requests forwarded without CORS headers", async () => {
    const host = uniqueHost();
    await putPolicy(host, { origins: ["https://a.test/"] });
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const preflight = await send(`https://${host}/x`, { method: "OPTIONS", headers: { Origin: "https://a.test", "Access-Control-Request-Method": "GET" } });
    expect(preflight.status).toBe(403);
    const actual = await send(`https://${host}/x`, { headers: { Origin: "https://a.test" } });
    expect(actual.status).toBe(200);
    expect(actual.headers.get("Access-Control-Allow-Origin")).toBeNull();
    expect(actual.headers.get("Vary")).toBe("Origin");
  });

  it("keeps serving the last good policy when KV fails", async () => {
    const host = uniqueHost();
    await putPolicy(host, A);
    const { kv, state } = wrappedKv();
    const request = () => send(`https://${host}/x`, { headers: { Origin: "https://a.test" } }, { CORS_POLICY: kv, POLICY_TTL_SECONDS: "0" });
    expect((await request()).headers.get("Access-Control-Allow-Origin")).toBe("https://a.test");
    state.mode = "throw";
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const res = await request();
    expect(res.status).toBe(200);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe("https://a.test");
    expect(state.reads.length).toBeGreaterThan(1);
  });

  it("takes a changed policy into effect after POLICY_TTL_SECONDS", async () => {
    const host = uniqueHost();
    await putPolicy(host, A);
    const request = (origin: string) => send(`https://${host}/x`, { headers: { Origin: origin } }, { POLICY_TTL_SECONDS: "1" });
    expect((await request("https://a.test")).headers.get("Access-Control-Allow-Origin")).toBe("https://a.test");
    await putPolicy(host, B);
    expect((await request("https://b.test")).headers.get("Access-Control-Allow-Origin")).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await request("https://b.test"); // answered from memory; the refresh runs behind it
    expect((await request("https://b.test")).headers.get("Access-Control-Allow-Origin")).toBe("https://b.test");
  });

  it("logs every refusal with the rule that refused it when CORS_DEBUG is set", async () => {
    const host = uniqueHost();
    await putPolicy(host, { origins: ["https://a.test"], methods: ["GET"] });
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const preflight = { method: "OPTIONS", headers: { Origin: "https://a.test", "Access-Control-Request-Method": "PUT" } };
    const debugLines = () => log.mock.calls.map((call) => JSON.parse(String(call[0]))).filter((line) => line.event === "cors-refused");
    await send(`https://${host}/x`, preflight, { CORS_DEBUG: "" });
    // Without CORS_DEBUG only the aggregated telemetry line (test/worker/telemetry.test.ts) is logged.
    expect(debugLines()).toEqual([]);
    await send(`https://${host}/x`, preflight, { CORS_DEBUG: "1" });
    expect(debugLines()[0]).toEqual({
      level: "info",
      event: "cors-refused",
      origin: "https://a.test",
      method: "OPTIONS",
      requestMethod: "PUT",
      path: "/x",
      rule: "method",
      field: "$.methods",
      reason: "method PUT is not listed in $.methods",
    });
  });
});

/** An in-memory KV for cases that the shared local KV cannot isolate (the default key). */
function memoryKv(values: Record<string, string>): KVNamespace {
  const get = async (key: string) => {
    const value = values[key];
    return value === undefined ? null : new Blob([value]).stream();
  };
  return { get } as unknown as KVNamespace;
}

