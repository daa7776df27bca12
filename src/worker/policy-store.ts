/**
 * Policies from KV, kept validated and compiled in isolate memory.
 *
 * Each KV key has a slot. A fresh slot answers from memory; a stale one still
 * answers from memory while one background read refreshes it, so in the steady
 * state no request waits on KV. A read that fails, or a stored policy that is
 * not valid, keeps the last good policy and is logged once per reload. Slots
 * are bounded: on a wildcard route any client can pick the hostname.
 *
 * Compiled slots are dear (1–2 KiB each), so only MAX_SLOTS are kept. A key
 * whose slot is evicted keeps, much cheaper, the KV text its policy came from
 * (or the fact that it was absent), so that when it comes back its slot is
 * rebuilt from that text, as if just read, without waiting on KV.
 */
import { CANDIDATE_PREFIX, candidateKey, compilePolicy, MAX_POLICY_BYTES, parsePolicy, type CompiledPolicy } from "../core/index.js";

export { CANDIDATE_PREFIX };
import { logWarning } from "./log.js";

/** What a KV key holds: a policy (with the text it came from, to hold on eviction), or nothing at all. */
type Stored = { policy: CompiledPolicy; text: string } | "absent";

interface Slot {
  /** The last good value; null when none was ever loaded. */
  value: Stored | null;
  /** When to read KV again (ms since the epoch). */
  expires: number;
  loading: Promise<void> | null;
}

/** An evicted slot's good value as KV gave it (null: the key was absent), and when the slot was to read KV again. */
interface HeldText {
  text: string | null;
  expires: number;
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
/** Evicted keys held as text at once; beyond this the least recently used goes. */
export const MAX_HELD_TEXTS = 200_000;
/**
 * Total length of the held texts and their keys, in string length: a byte a
 * character for the ASCII of a policy in V8 (two for text beyond Latin-1).
 */
export const MAX_HELD_TEXT_BYTES = 40 * 2 ** 20;

export class PolicyStore {
  private readonly slots = new Map<string, Slot>();
  private readonly texts: HeldTexts;

  private readonly now: () => number;
  private readonly kvTimeoutMs: number;
  private readonly maxSlots: number;

  constructor(
    options: { now?: () => number; kvTimeoutMs?: number; maxSlots?: number; maxHeldTexts?: number; maxHeldTextBytes?: number } = {},
  ) {
    this.now = options.now ?? Date.now;
    this.kvTimeoutMs = options.kvTimeoutMs ?? KV_TIMEOUT_MS;
    this.maxSlots = options.maxSlots ?? MAX_SLOTS;
    this.texts = new HeldTexts(options.maxHeldTexts ?? MAX_HELD_TEXTS, options.maxHeldTextBytes ?? MAX_HELD_TEXT_BYTES);
  }

  /** How many keys are held compiled. */
  get size(): number {
    return this.slots.size;
  }

  /** How many keys are held as text only. */
  get heldTexts(): number {
    return this.texts.size;
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
   * What `policyFor` would answer, when memory can answer it: every key it
   * needs has been loaded (a stale one is refreshed behind the answer, as
   * `policyFor` does); undefined when a key must first be read from KV, and
   * `policyFor` must run. Synchronous, so that the steady state costs no
   * promise, and a promise from the policy means this request waited for a
   * load. `options` is called only when KV must be read.
   */
  peek(hostname: string, options: () => StoreOptions): CompiledPolicy | null | undefined {
    const own = this.inMemory(hostKey(hostname), options);
    if (own === undefined) return undefined;
    if (own !== "absent") return policyOf(own);
    const fallback = this.inMemory(DEFAULT_KEY, options);
    return fallback === undefined ? undefined : policyOf(fallback);
  }

  /**
   * The report-only candidate beside the policy that decides `hostname` (its
   * own key's, else default's), from memory and never waited for: a missing
   * or stale one is loaded in the background, kept like a policy (validated,
   * compiled, last good kept on faults), and null until then. Null when there
   * is none. `options` is called only when KV must be read, so the steady
   * state allocates nothing.
   *
   * `waited`: this request waited for its policy to load. When that policy
   * is big, the candidate (which can cost as much again) is read by a later
   * request: one big load per request. Nothing is lost, since what is not in
   * memory is never compared anyway; a tenant's small policy and its
   * candidate still load in the same request.
   */
  candidateFor(hostname: string, options: () => StoreOptions, waited = false): CompiledPolicy | null {
    const host = hostKey(hostname);
    const enforced = this.slots.get(host)?.value === "absent" ? DEFAULT_KEY : host;
    const key = candidateKey(enforced);
    let slot = this.slots.get(key);
    if (!slot || this.now() >= slot.expires) {
      if (waited && this.isBig(enforced)) return policyOf(slot?.value ?? null);
      slot = this.slotFor(key);
      // A slot rebuilt from a held text may be fresh: no read then.
      if (this.now() >= slot.expires) this.reloadInBackground(key, slot, options());
    }
    return policyOf(slot.value);
  }

  /** Whether the key holds a policy too big for one first read: a SaaS allowlist, not a tenant's policy. */
  private isBig(key: string): boolean {
    const value = this.slots.get(key)?.value;
    return typeof value === "object" && value !== null && value.text.length > FIRST_READ_BYTES;
  }

  /**
   * A held slot's answer (`answerOf`), touched as `read` does. Undefined when
   * `read` would wait: no slot, or no value yet and time to read again (a
   * failed first load answers null until then).
   */
  private inMemory(key: string, options: () => StoreOptions): Stored | null | undefined {
    const slot = this.slots.get(key);
    if (!slot) return undefined;
    const value = this.answerOf(key, slot, options);
    if (value !== undefined) this.touch(key, slot);
    return value;
  }

  /**
   * A slot's value, if it can answer now: fresh, or stale with a value, which
   * is then reloaded behind the answer (only a key's first load waits).
   * Undefined when it has no value and it is time to read again.
   */
  private answerOf(key: string, slot: Slot, options: () => StoreOptions): Stored | null | undefined {
    if (this.now() < slot.expires) return slot.value;
    if (slot.value === null) return undefined;
    this.reloadInBackground(key, slot, options());
    return slot.value;
  }

  /** Moves the key to the end, so that the oldest key is the least recently used. */
  private touch(key: string, slot: Slot): void {
    this.slots.delete(key);
    this.slots.set(key, slot);
  }

  private async read(key: string, options: StoreOptions): Promise<Stored | null> {
    const slot = this.slotFor(key);
    const value = this.answerOf(key, slot, () => options);
    if (value !== undefined) return value;
    await (slot.loading ??= this.reloadOnce(key, slot, options));
    return slot.value;
  }

  /** The key's slot, made when missing (the least recently used goes when full), and touched. */
  private slotFor(key: string): Slot {
    const slot = this.slots.get(key) ?? this.newSlot(key);
    this.touch(key, slot);
    return slot;
  }

  /**
   * A slot rebuilt from the key's held text, as a KV read would have built it,
   * with the expiry it had (a stale one is then reloaded behind the answer like
   * any stale slot); else an empty one, which waits on KV. The text is taken
   * before the eviction that makes room, which could otherwise push it out.
   */
  private newSlot(key: string): Slot {
    const held = this.texts.take(key);
    if (this.slots.size >= this.maxSlots) this.evict();
    if (!held) return { value: null, expires: 0, loading: null };
    const rebuilt = storedOf(held.text);
    // It passed once and would again; checked anyway, so that nothing unvalidated is ever used.
    if (!("stored" in rebuilt)) return { value: null, expires: 0, loading: null };
    return { value: rebuilt.stored, expires: held.expires, loading: null };
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
    for (const [key, slot] of this.slots) {
      if (key === DEFAULT_KEY) continue;
      this.slots.delete(key);
      // Only a good value was ever stored in a slot: a text that failed validation is never held.
      if (slot.value !== null) this.texts.hold(key, slot.value === "absent" ? null : slot.value.text, slot.expires);
      return;
    }
  }

  private async reload(key: string, slot: Slot, { kv, ttlMs }: StoreOptions): Promise<void> {
    const loaded = await load(kv, key, ttlMs, this.kvTimeoutMs);
    if ("reason" in loaded) {
      logWarning("policy-reload-failed", {
        key,
        reason: loaded.reason,
        keeping: slot.value !== null ? "last good policy" : key.startsWith(CANDIDATE_PREFIX) ? "nothing (no candidate to compare)" : "nothing (failing closed)",
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
  return storedOf(text);
}

/** What a KV text gives the key: validated and compiled, or why not. A KV read and a held text both go through here. */
function storedOf(text: string | null): Loaded {
  if (text === null) return { stored: "absent" };
  // Errors only: warnings are for whoever writes the policy, and `edge-cors validate` shows them.
  const result = parsePolicy(text, { warnings: false });
  if (!result.ok) {
    return {
      reason: "stored policy is not valid",
      transient: false,
      errors: result.errors.slice(0, 20).map((problem) => `${problem.path}: ${problem.message}`),
    };
  }
  return { stored: { policy: compilePolicy(result.policy), text } };
}

/**
 * The texts of evicted keys, least recently used first, bounded by count and by
 * their total length: the keys count too, since any client can pick a hostname
 * and a held "absent" has no text. A key is either here or in a slot, never both.
 */
class HeldTexts {
  private readonly held = new Map<string, HeldText>();
  private length = 0;

  constructor(
    private readonly maxTexts: number,
    private readonly maxLength: number,
  ) {}

  get size(): number {
    return this.held.size;
  }

  hold(key: string, text: string | null, expires: number): void {
    if (lengthOf(key, text) > this.maxLength) return;
    this.take(key);
    this.held.set(key, { text, expires });
    this.length += lengthOf(key, text);
    for (const oldest of this.held.keys()) {
      if (this.held.size <= this.maxTexts && this.length <= this.maxLength) return;
      this.take(oldest);
    }
  }

  /** The key's held text, no longer held. */
  take(key: string): HeldText | undefined {
    const held = this.held.get(key);
    if (!held) return undefined;
    this.held.delete(key);
    this.length -= lengthOf(key, held.text);
    return held;
  }
}

function lengthOf(key: string, text: string | null): number {
  return key.length + (text?.length ?? 0);
}

class TooLarge extends Error {}

/** Reads a value as text, giving up as soon as it passes MAX_POLICY_BYTES (a KV value may be 25 MiB). */
async function readLimited(kv: KVNamespace, key: string, cacheTtl: number): Promise<string | null> {
  const stream = await kv.get(key, { type: "stream", cacheTtl });
  if (stream === null) return null;
  // Few large reads rather than one per 4 KiB chunk: each await is dear in a cold isolate. They
  // fill one buffer, decoded once into one flat string, which JSON.parse then need not copy.
  const reader = stream.getReader({ mode: "byob" });
  let buffer = new Uint8Array(FIRST_READ_BYTES);
  let bytes = 0;
  // The bytes read so far, in a buffer no later read takes over.
  let read = buffer.subarray(0, 0);
  for (;;) {
    const { value } = await reader.readAtLeast(buffer.length - bytes, buffer.subarray(bytes));
    if (!value) break;
    // The read took the buffer over and hands it back as value's.
    buffer = new Uint8Array(value.buffer);
    bytes += value.byteLength;
    read = buffer.subarray(0, bytes);
    if (bytes < buffer.length) break; // a short read: the value has ended
    if (bytes > MAX_POLICY_BYTES) {
      await reader.cancel();
      throw new TooLarge(`stored policy is larger than ${MAX_POLICY_BYTES} bytes`);
    }
    const grown = new Uint8Array(Math.min(bytes * 4, MAX_POLICY_BYTES + 1));
    grown.set(buffer);
    buffer = grown;
  }
  return new TextDecoder().decode(read);
}

/** The first read's size: a tenant's policy fits in it whole; a big policy takes a few reads, each four times larger. */
const FIRST_READ_BYTES = 16 * 1024;

/** `promise`, rejected after `ms`; with no timer at all for `Infinity` (the warm-up's store: startup may set no timers). */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  if (ms === Infinity) return promise;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}
