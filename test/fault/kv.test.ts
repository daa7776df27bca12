/**
 * Faults in the policy's path: KV throwing, KV slow beyond the worker's
 * bound, values that are not JSON, not valid or far too large, a policy
 * changing under load, and hostile hostnames. For each: the answer, that
 * nothing is lost, and the log line an operator sees. (The store's own
 * behaviour on a fake clock is in test/worker/policy-store.test.ts.)
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { MAX_POLICY_BYTES, type CompiledPolicy } from "../../src/core/index.js";
import { CANDIDATE_PREFIX, KV_TIMEOUT_MS, PolicyStore } from "../../src/worker/policy-store.js";
import { corsHeaders, putPolicy, send, uniqueHost, uniquePath } from "../worker/helpers.js";
import { bytesOf, logLines, sha256 } from "./helpers.js";

const A = { origins: ["https://a.test"], exposeHeaders: ["X-A"] };
const B = { origins: ["https://a.test", "https://b.test"], exposeHeaders: ["X-B"] };

type Mode = "ok" | "throw" | "slow";

/** The real local KV, wrapped so that a test can make reads fail or answer late. */
function faultyKv(slowMs = KV_TIMEOUT_MS + 1000) {
  const state = { mode: "ok" as Mode, reads: 0 };
  const kv = {
    async get(key: string, options: KVNamespaceGetOptions<"text">) {
      state.reads += 1;
      if (state.mode === "throw") throw new Error("KV is down");
      if (state.mode === "slow") await new Promise((resolve) => setTimeout(resolve, slowMs));
      return env.CORS_POLICY.get(key, options);
    },
  } as unknown as KVNamespace;
  return { kv, state };
}

/** A POST through the worker whose body the origin echoes back as a length and a hash. */
async function post(host: string, origin: string, overrides: Partial<Env> = {}, size = 50_000) {
  const body = bytesOf(size);
  const res = await send(`https://${host}${uniquePath()}`, { method: "POST", body, headers: { Origin: origin } }, overrides);
  const echo = (await res.json()) as { bodyBytes: number; bodySha256: string };
  return { res, echo, expected: { bodyBytes: size, bodySha256: await sha256(body) } };
}

function preflight(host: string, origin: string, overrides: Partial<Env> = {}) {
  return send(`https://${host}/x`, { method: "OPTIONS", headers: { Origin: origin, "Access-Control-Request-Method": "POST" } }, overrides);
}

afterEach(() => vi.restoreAllMocks());

describe("KV failing before any good policy was loaded", () => {
  it("fails closed: preflights refused, requests forwarded whole without CORS headers, one log line", async () => {
    const host = uniqueHost();
    await putPolicy(host, A);
    const { kv, state } = faultyKv();
    state.mode = "throw";
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const refused = await preflight(host, "https://a.test", { CORS_POLICY: kv });
    expect(refused.status).toBe(403);
    expect(corsHeaders(refused)).toEqual({ vary: "Origin, Access-Control-Request-Method, Access-Control-Request-Headers" });
    const { res, echo, expected } = await post(host, "https://a.test", { CORS_POLICY: kv });
    expect(res.status).toBe(200);
    expect(corsHeaders(res)).toEqual({ vary: "Origin" });
    expect(echo).toMatchObject(expected);
    // Both requests came within one retry interval: one read, one line.
    expect(state.reads).toBe(1);
    expect(logLines(warn)).toEqual([
      { level: "warn", event: "policy-reload-failed", key: host, reason: "KV read failed: KV is down", keeping: "nothing (failing closed)" },
    ]);
  });
});

describe("KV slower than the worker's bound", () => {
  it("gives up on the first read after the bound, fails closed and says so", async () => {
    const host = uniqueHost();
    await putPolicy(host, A);
    const { kv, state } = faultyKv();
    state.mode = "slow";
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const { res, echo, expected } = await post(host, "https://a.test", { CORS_POLICY: kv });
    expect(res.status).toBe(200);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBeNull();
    expect(echo).toMatchObject(expected);
    expect(logLines(warn)).toEqual([
      {
        level: "warn",
        event: "policy-reload-failed",
        key: host,
        reason: `KV read failed: no answer within ${KV_TIMEOUT_MS} ms`,
        keeping: "nothing (failing closed)",
      },
    ]);
  });

  it("answers from the last good policy at once while the slow refresh runs behind", async () => {
    const host = uniqueHost();
    await putPolicy(host, A);
    const { kv, state } = faultyKv();
    const ttl0 = { CORS_POLICY: kv, POLICY_TTL_SECONDS: "0" };
    expect((await preflight(host, "https://a.test", ttl0)).status).toBe(204);
    state.mode = "slow";
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const { res, echo, expected } = await post(host, "https://a.test", ttl0);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe("https://a.test");
    expect(echo).toMatchObject(expected);
    // The candidate's key (none stored) is read beside the policy's, through the same slow KV, and says so too.
    expect(logLines(warn)).toEqual(
      [host, `${CANDIDATE_PREFIX}${host}`].map((key) => ({
        level: "warn",
        event: "policy-reload-failed",
        key,
        reason: `KV read failed: no answer within ${KV_TIMEOUT_MS} ms`,
        keeping: "last good policy",
      })),
    );
  });
});

describe("a stored value read in large pieces", () => {
  // The store reads 16 KiB first, then four times more each time, up to the limit: values at each edge load whole.
  it.each([16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1, (16 + 64) * 1024, MAX_POLICY_BYTES])("a policy of %i bytes loads whole", async (size) => {
    const host = uniqueHost();
    // The origins come last: a value cut anywhere would not parse, and the edge would fail closed.
    const head = '{"$schema": "';
    const tail = '", "origins": ["https://a.test"]}';
    const text = `${head}${"x".repeat(size - head.length - tail.length)}${tail}`;
    expect(text.length).toBe(size);
    await putPolicy(host, text);
    const res = await send(`https://${host}/x`, { headers: { Origin: "https://a.test" } });
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe("https://a.test");
  });

  it("a policy one byte over the limit is refused by its size", async () => {
    const host = uniqueHost();
    const head = '{"$schema": "';
    const tail = '", "origins": ["https://a.test"]}';
    await putPolicy(host, `${head}${"x".repeat(MAX_POLICY_BYTES + 1 - head.length - tail.length)}${tail}`);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const res = await send(`https://${host}/x`, { headers: { Origin: "https://a.test" } });
    expect(res.headers.get("Access-Control-Allow-Origin")).toBeNull();
    expect(logLines(warn)[0]).toMatchObject({ event: "policy-reload-failed", key: host, reason: `stored policy is larger than ${MAX_POLICY_BYTES} bytes` });
  });
});

describe("a stored value that cannot be used", () => {
  it.each([
    ["empty", "", ["$: not valid JSON"]],
    ["not JSON", '{"origins": ["https://a.test"', ["$: not valid JSON"]],
    ["JSON but not an object", "[1, 2]", ["$: policy must be a JSON object"]],
    [
      "a policy failing validation in four places",
      JSON.stringify({ origins: ["https://A.test", "http://x.test:80"], credentials: "yes", maxAge: -1 }),
      ["$.origins[0]: ", "$.origins[1]: ", "$.credentials: ", "$.maxAge: "],
    ],
  ])("%s: keeps the last good policy and logs every problem with its path", async (_, stored, errors) => {
    const host = uniqueHost();
    await putPolicy(host, A);
    const ttl0 = { POLICY_TTL_SECONDS: "0" };
    expect((await preflight(host, "https://a.test", ttl0)).status).toBe(204);
    await putPolicy(host, stored);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const { res, echo, expected } = await post(host, "https://a.test", ttl0);
    expect(res.headers.get("Access-Control-Expose-Headers")).toBe("X-A");
    expect(echo).toMatchObject(expected);
    const [line, ...rest] = logLines(warn);
    expect(rest).toEqual([]);
    expect(line).toMatchObject({ event: "policy-reload-failed", key: host, reason: "stored policy is not valid", keeping: "last good policy" });
    const logged = line?.errors as string[];
    expect(logged).toHaveLength(errors.length);
    errors.forEach((start, index) => expect(logged[index]!.startsWith(start)).toBe(true));
  });

  it("refuses a 25 MiB value without parsing it, keeps the last good policy and logs the size", async () => {
    const host = uniqueHost();
    await putPolicy(host, A);
    const ttl0 = { POLICY_TTL_SECONDS: "0" };
    expect((await preflight(host, "https://a.test", ttl0)).status).toBe(204);
    const size = 25 * 1024 * 1024;
    // Valid JSON all the way: only the size is wrong.
    const head = '{"origins": ["https://a.test"], "exposeHeaders": ["X-';
    const huge = `${head}${"A".repeat(size - head.length - 3)}"]}`;
    expect(huge.length).toBe(size);
    await putPolicy(host, huge);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const parse = vi.spyOn(JSON, "parse");
    const res = await send(`https://${host}/x`, { headers: { Origin: "https://a.test" } }, ttl0);
    expect(res.headers.get("Access-Control-Expose-Headers")).toBe("X-A");
    expect(parse.mock.calls.filter(([text]) => String(text).length > MAX_POLICY_BYTES)).toEqual([]);
    const [line] = logLines(warn);
    // The store stops reading at the limit: the rest of the value is never downloaded.
    expect(line).toEqual({ level: "warn", event: "policy-reload-failed", key: host, reason: `stored policy is larger than ${MAX_POLICY_BYTES} bytes`, keeping: "last good policy" });
  });
});

describe("the policy changing in the middle of load", () => {
  it("answers every request by the old or the new policy, never a mix, never 500, bodies whole", async () => {
    const host = uniqueHost();
    await putPolicy(host, A);
    const ttl0 = { POLICY_TTL_SECONDS: "0" };
    const total = 240;
    let started = 0;
    const results: { origin: string; status: number; acao: string | null; expose: string | null; echoOk: boolean }[] = [];
    const expected = { bodyBytes: 2048, bodySha256: await sha256(bytesOf(2048)) };
    async function worker() {
      while (started < total) {
        const n = started++;
        if (n === total / 2) await putPolicy(host, B);
        const origin = n % 2 === 0 ? "https://a.test" : "https://b.test";
        const { res, echo } = await post(host, origin, ttl0, 2048);
        results.push({
          origin,
          status: res.status,
          acao: res.headers.get("Access-Control-Allow-Origin"),
          expose: res.headers.get("Access-Control-Expose-Headers"),
          echoOk: echo.bodyBytes === expected.bodyBytes && echo.bodySha256 === expected.bodySha256,
        });
      }
    }
    await Promise.all(Array.from({ length: 16 }, worker));
    expect(results).toHaveLength(total);
    const answers = new Set(results.map((r) => `${r.status} ${r.origin} ${r.acao} ${r.expose} ${r.echoOk}`));
    const possible = new Set([
      "200 https://a.test https://a.test X-A true", // A
      "200 https://b.test null null true", // A
      "200 https://a.test https://a.test X-B true", // B
      "200 https://b.test https://b.test X-B true", // B
    ]);
    expect([...answers].filter((answer) => !possible.has(answer))).toEqual([]);
    // Both policies were seen, and B stays once it is in.
    expect(answers.has("200 https://b.test https://b.test X-B true")).toBe(true);
    const after = await post(host, "https://b.test", ttl0);
    expect(after.res.headers.get("Access-Control-Expose-Headers")).toBe("X-B");
  });
});

describe("hostile hostnames", () => {
  function countingKv(values: Record<string, string>) {
    const reads: string[] = [];
    const get = async (key: string) => {
      reads.push(key);
      const value = values[key];
      return value === undefined ? null : new Blob([value]).stream();
    };
    const kv = { get } as unknown as KVNamespace;
    return { kv, reads };
  }

  it("cannot grow the policy store without bound; the keys in use stay in memory", async () => {
    const { kv, reads } = countingKv({ "api.test": JSON.stringify(A), default: JSON.stringify(B) });
    const store = new PolicyStore({ maxSlots: 100, maxHeldTexts: 300 });
    const options = { kv, ttlMs: 60_000, waitUntil: () => {} };
    const real = await store.policyFor("api.test", options);
    for (let i = 0; i < 1000; i++) {
      // Every hostile hostname falls back to default, which so stays recently used.
      expect(await store.policyFor(`h${i}.attacker.test`, options)).not.toBeNull();
      if (i % 50 === 0) expect(await store.policyFor("api.test", options)).toBe(real);
      expect(store.size).toBeLessThanOrEqual(100);
      expect(store.heldTexts).toBeLessThanOrEqual(300);
    }
    expect(reads.filter((key) => key === "default")).toEqual(["default"]);
    expect(reads.filter((key) => key === "api.test")).toEqual(["api.test"]);
  });

  it("forgets the least recently used key first", async () => {
    const { kv, reads } = countingKv({ "one.test": JSON.stringify(A), "two.test": JSON.stringify(A), "three.test": JSON.stringify(A) });
    // No texts held, so that a forgotten key shows as a read (held texts: test/worker/policy-store.test.ts).
    const store = new PolicyStore({ maxSlots: 2, maxHeldTexts: 0 });
    const options = { kv, ttlMs: 60_000, waitUntil: () => {} };
    await store.policyFor("one.test", options);
    await store.policyFor("two.test", options);
    await store.policyFor("one.test", options);
    await store.policyFor("three.test", options); // two.test goes
    await store.policyFor("one.test", options);
    await store.policyFor("two.test", options); // read again
    expect(reads).toEqual(["one.test", "two.test", "three.test", "two.test"]);
  });

  it("never forgets default, however many hostnames with keys of their own come after it", async () => {
    const values: Record<string, string> = { default: JSON.stringify(B) };
    for (let i = 0; i < 50; i++) values[`own${i}.test`] = JSON.stringify(A);
    const { kv, reads } = countingKv(values);
    const store = new PolicyStore({ maxSlots: 3, maxHeldTexts: 0 });
    const options = { kv, ttlMs: 60_000, waitUntil: () => {} };
    await store.policyFor("stray.test", options); // no key of its own: reads default
    for (let i = 0; i < 50; i++) await store.policyFor(`own${i}.test`, options); // never touch default
    expect(store.size).toBeLessThanOrEqual(3);
    expect(allowsB(await store.policyFor("another-stray.test", options))).toBe(true);
    expect(reads.filter((key) => key === "default")).toEqual(["default"]);
    // The other keys still go least recently used first.
    expect(reads.filter((key) => key === "own0.test")).toEqual(["own0.test"]);
    await store.policyFor("own0.test", options);
    expect(reads.filter((key) => key === "own0.test")).toEqual(["own0.test", "own0.test"]);
  });
});

function allowsB(policy: CompiledPolicy | null): boolean {
  return policy !== null && policy.rules.origins !== "*" && policy.rules.origins.matches("https://b.test");
}
