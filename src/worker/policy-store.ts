/**
 * Policies from KV, kept validated and compiled in isolate memory.
 *
 * Each KV key has a slot. A fresh slot answers from memory; a stale one still
 * answers from memory while one background read refreshes it, so in the steady
 * state no request waits on KV. A read that fails, or a stored policy that is
 * not valid, keeps the last good policy and is logged once per reload. Slots
 * are bounded: on a wildcard route any client can pick the hostname.
 */
import { CANDIDATE_PREFIX, candidateKey, compilePolicy, MAX_POLICY_BYTES, parsePolicy, type CompiledPolicy } from "../core/index.js";

export { CANDIDATE_PREFIX };
import { logWarning } from "./log.js";

/** What a KV key holds: a policy, or nothing at all. */
type Stored = { policy: CompiledPolicy } | "absent";

interface Slot {
  /** The last good value; null when none was ever loaded. */
  value: Stored | null;
  /** When to read KV again (ms since the epoch). */
  expires: number;
  loading: Promise<void> | null;
}

export interface StoreOptions {
  kv: KVNamespace;
  ttlMs: number;
  /** `waitUntil` of the request that triggers a background refresh. */
  waitUntil: (promise: Promise<unknown>) => void;
}

export const DEFAULT_KEY = "default";
/** KV's `cacheTtl` has a floor of 60 seconds. */
const KV_CACHE_TTL_FLOOR = 60;
/** A KV read slower than this counts as failed. */
export const KV_TIMEOUT_MS = 2000;
/** After a failed read, try again sooner than the TTL, but not on every request. */
const RETRY_MS = 5000;
/** Keys kept at once; beyond this the least recently used goes. */
export const MAX_SLOTS = 10_000;

export class PolicyStore {
  private readonly slots = new Map<string, Slot>();

  private readonly now: () => number;
  private readonly kvTimeoutMs: number;
  private readonly maxSlots: number;

  constructor(options: { now?: () => number; kvTimeoutMs?: number; maxSlots?: number } = {}) {
    this.now = options.now ?? Date.now;
    this.kvTimeoutMs = options.kvTimeoutMs ?? KV_TIMEOUT_MS;
    this.maxSlots = options.maxSlots ?? MAX_SLOTS;
  }

  /** How many keys are held in memory. */
  get size(): number {
    return this.slots.size;
  }

  /**
   * The compiled policy for a hostname: its own key, else `default`.
   * Null when neither holds a valid policy (the edge then fails closed).
   */
  async policyFor(hostname: string, options: StoreOptions): Promise<CompiledPolicy | null> {
    const own = await this.read(hostKey(hostname), options);
    if (own !== "absent") return policyOf(own);
    return policyOf(await this.read(DEFAULT_KEY, options));
  }

  /**
   * What `policyFor` would answer, when memory alone can answer it (every key
   * it needs is fresh); undefined when it cannot, and `policyFor` must run.
   * Synchronous, so that the steady state costs no promise.
   */
  peek(hostname: string): CompiledPolicy | null | undefined {
    const own = this.fresh(hostKey(hostname));
    if (own === undefined) return undefined;
    if (own !== "absent") return policyOf(own);
    const fallback = this.fresh(DEFAULT_KEY);
    return fallback === undefined ? undefined : policyOf(fallback);
  }

  /**
   * The report-only candidate beside the policy that decides `hostname` (its
   * own key's, else default's), from memory and never waited for: a missing
   * or stale one is loaded in the background, kept like a policy (validated,
   * compiled, last good kept on faults), and null until then. Null when there
   * is none. `options` is called only when KV must be read, so the steady
   * state allocates nothing.
   */
  candidateFor(hostname: string, options: () => StoreOptions): CompiledPolicy | null {
    const host = hostKey(hostname);
    const key = candidateKey(this.slots.get(host)?.value === "absent" ? DEFAULT_KEY : host);
    let slot = this.slots.get(key);
    if (!slot || this.now() >= slot.expires) {
      slot = this.slotFor(key);
      this.reloadInBackground(key, slot, options());
    }
    return policyOf(slot.value);
  }

  /** A fresh slot's value (null: none ever loaded), touched as `read` does; undefined when not fresh. */
  private fresh(key: string): Stored | null | undefined {
    const slot = this.slots.get(key);
    if (!slot || this.now() >= slot.expires) return undefined;
    this.touch(key, slot);
    return slot.value;
  }

  /** Moves the key to the end, so that the oldest key is the least recently used. */
  private touch(key: string, slot: Slot): void {
    this.slots.delete(key);
    this.slots.set(key, slot);
  }

  private async read(key: string, options: StoreOptions): Promise<Stored | null> {
    const slot = this.slotFor(key);
    if (this.now() < slot.expires) return slot.value;
    // Only the first load of a key waits; later reloads happen behind the answer.
    if (slot.value !== null) this.reloadInBackground(key, slot, options);
    else await (slot.loading ??= this.reloadOnce(key, slot, options));
    return slot.value;
  }

  /** The key's slot, made when missing (the least recently used goes when full), and touched. */
  private slotFor(key: string): Slot {
    let slot = this.slots.get(key);
    if (!slot) {
      if (this.slots.size >= this.maxSlots) this.evict();
      slot = { value: null, expires: 0, loading: null };
    }
    this.touch(key, slot);
    return slot;
  }

  private reloadInBackground(key: string, slot: Slot, options: StoreOptions): void {
    if (slot.loading) return;
    // Only the request that started a reload keeps it alive: workerd warns about
    // (and may cancel) continuations that other requests attach to its promise.
    slot.loading = this.reloadOnce(key, slot, options);
    options.waitUntil(slot.loading);
  }

  private reloadOnce(key: string, slot: Slot, options: StoreOptions): Promise<void> {
    return this.reload(key, slot, options).finally(() => (slot.loading = null));
  }

  /**
   * Forgets the least recently used key, never `default`: it stands behind
   * every hostname without a key of its own, so a stream of hostnames that
   * all have one must not push it out and make the next stray request wait on KV.
   */
  private evict(): void {
    for (const key of this.slots.keys()) {
      if (key === DEFAULT_KEY) continue;
      this.slots.delete(key);
      return;
    }
  }

  private async reload(key: string, slot: Slot, { kv, ttlMs }: StoreOptions): Promise<void> {
    const loaded = await load(kv, key, ttlMs, this.kvTimeoutMs);
    if ("reason" in loaded) {
      logWarning("policy-reload-failed", {
        key,
        reason: loaded.reason,
        keeping: slot.value === null ? "nothing (failing closed)" : "last good policy",
        ...(loaded.errors ? { errors: loaded.errors } : {}),
      });
      // A failed read may pass soon; a bad document stays bad until someone writes a new one.
      slot.expires = this.now() + (loaded.transient ? Math.min(ttlMs, RETRY_MS) : ttlMs);
      return;
    }
    slot.value = loaded.stored;
    slot.expires = this.now() + ttlMs;
  }

}

/**
 * The KV key of a hostname: lowercase, and without the trailing dot of the
 * fully qualified form, so that `api.example.com.` cannot dodge the policy of
 * `api.example.com` for the broader `default`. The URL parser has already
 * turned an IDN into its ASCII (punycode) form.
 */
export function hostKey(hostname: string): string {
  const lower = hostname.toLowerCase();
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
}

/** The policy a key gives: none when it holds nothing usable (the edge then fails closed). */
function policyOf(stored: Stored | null): CompiledPolicy | null {
  return stored === null || stored === "absent" ? null : stored.policy;
}

type Loaded = { stored: Stored } | { reason: string; transient: boolean; errors?: string[] };

async function load(kv: KVNamespace, key: string, ttlMs: number, timeoutMs: number): Promise<Loaded> {
  let text: string | null;
  try {
    const cacheTtl = Math.max(KV_CACHE_TTL_FLOOR, Math.ceil(ttlMs / 1000));
    text = await withTimeout(readLimited(kv, key, cacheTtl), timeoutMs);
  } catch (err) {
    if (err instanceof TooLarge) return { reason: err.message, transient: false };
    return { reason: `KV read failed: ${err instanceof Error ? err.message : String(err)}`, transient: true };
  }
  if (text === null) return { stored: "absent" };
  const result = parsePolicy(text);
  if (!result.ok) {
    return {
      reason: "stored policy is not valid",
      transient: false,
      errors: result.errors.slice(0, 20).map((problem) => `${problem.path}: ${problem.message}`),
    };
  }
  return { stored: { policy: compilePolicy(result.policy) } };
}

class TooLarge extends Error {}

/** Reads a value as text, giving up as soon as it passes MAX_POLICY_BYTES (a KV value may be 25 MiB). */
async function readLimited(kv: KVNamespace, key: string, cacheTtl: number): Promise<string | null> {
  const stream = await kv.get(key, { type: "stream", cacheTtl });
  if (stream === null) return null;
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let bytes = 0;
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    bytes += chunk.value.byteLength;
    if (bytes > MAX_POLICY_BYTES) {
      await reader.cancel();
      throw new TooLarge(`stored policy is larger than ${MAX_POLICY_BYTES} bytes`);
    }
    text += decoder.decode(chunk.value, { stream: true });
  }
  return text + decoder.decode();
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}
