/**
 * Static work done once, at startup: preflights go through an app of its
 * own, whose KV holds a made-up policy of the shapes real ones have, and the
 * decision runs on what it loaded. So the first request to load a big policy
 * finds the code of every step compiled (the app, the store, the KV read, the
 * validator, the compiler, the decision, the answer), its feedback gathered
 * and its regular expressions built. A cold isolate compiles each function on
 * its first call and interprets JavaScript first, several times slower, and
 * the first request of an isolate has the Workers CPU limit to keep; startup
 * has a limit of its own.
 */
import { decide, validatePolicy, type CompiledPolicy } from "../core/index.js";
import { DEFAULT_TTL_SECONDS, edgeApp } from "./app.js";
import { PolicyStore } from "./policy-store.js";
import { Telemetry } from "./telemetry.js";

/** Entries of each kind in the made-up policy: enough for V8 to compile the loops that walk a list. */
const ENTRIES = 1000;

/**
 * Then a short list, SHAPE_ENTRIES of each kind, is validated SHAPE_ROUNDS
 * times. The shape check of its entries is the one loop that meets every
 * entry of a big list. The made-up policy takes it only to V8's middle tier;
 * this is enough work for the top tier, here at startup. Else V8 compiles it
 * in the middle of the first big load, on a helper thread whose CPU that
 * request pays (about 1.5 ms at 10,000 + 10,000 entries), and too late to help it.
 */
const SHAPE_ENTRIES = 128;
const SHAPE_ROUNDS = 50;

const HOST = "warm-up.invalid";

/**
 * Runs the warm-up; false when it no longer does its work (the made-up policy
 * is refused, or a preflight is not allowed), so that a test notices. It does
 * no I/O and sets no timer, which startup may not do: it ends within startup.
 * It never throws: a warm-up gone wrong must not stop the Worker from starting.
 */
export async function warmUp(): Promise<boolean> {
  try {
    const ok = (await warmUpApp()) && warmUpShapeCheck();
    collectAtStartup();
    return ok;
  } catch {
    return false;
  }
}

/** Preflights through an app of its own, then the decisions they do not reach. */
async function warmUpApp(): Promise<boolean> {
  const store = new PolicyStore({ kvTimeoutMs: Infinity });
  const app = edgeApp(store, new Telemetry());
  const env = madeUpEnv(
    JSON.stringify({
      origins: ["http://localhost:3000", ...madeUpOrigins(ENTRIES)],
      credentials: true,
      methods: ["GET", "PUT"],
      allowHeaders: ["Content-Type"],
      maxAge: 600,
    }),
  );
  // Refused requests are left out: they are logged. Forwarded ones too: forwarding is I/O.
  for (const origin of ["https://app1.example.com", "https://www.tenant1.example.net"]) {
    const headers = { Origin: origin, "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "content-type" };
    const preflight = new Request(`https://${HOST}/items`, { method: "OPTIONS", headers });
    const answer = await app.fetch(preflight, env, NO_CONTEXT);
    if (answer.status !== 204 || answer.headers.get("Access-Control-Allow-Origin") !== origin) return false;
  }
  // Loaded by the preflights: the store answers from memory.
  const policy = store.peek(HOST, () => ({ kv: env.CORS_POLICY, ttlMs: DEFAULT_TTL_SECONDS * 1000, waitUntil: () => {} }));
  if (!policy) return false;
  decideOthers(policy);
  return true;
}

function warmUpShapeCheck(): boolean {
  const short = { origins: madeUpOrigins(SHAPE_ENTRIES) };
  for (let round = 0; round < SHAPE_ROUNDS; round++) {
    if (!validatePolicy(short, { warnings: false }).ok) return false;
  }
  return true;
}

/**
 * Young garbage, twice the young generation V8 gives an isolate here (1 MiB),
 * so that the isolate's first collections run at startup. The first one costs
 * several times any later one (2 to 3.5 ms here: its code and memory are met
 * for the first time), and would otherwise fall in the first request, the one
 * that loads the policy. Every isolate collects sooner or later: this moves
 * that cost, and leaves the young generation nearly empty for the first request.
 */
const GARBAGE_BYTES = 2 * 1024 * 1024;
/** A two-element array: its object and its elements, 16 bytes each with compressed pointers. */
const PAIR_BYTES = 32;

function collectAtStartup(): void {
  // Each pair escapes into the ring, so that no compiler can leave it unallocated.
  const ring: unknown[] = new Array(1024).fill(null);
  for (let i = 0; i < GARBAGE_BYTES / PAIR_BYTES; i++) ring[i % ring.length] = [i, i];
}

/** The decisions the preflights above do not reach: forwarded requests, and a refused origin. */
function decideOthers(policy: CompiledPolicy): void {
  const url = new URL(`https://${HOST}/items`);
  decide(policy, { method: "OPTIONS", url, origin: "https://other.example", requestMethod: "PUT", requestHeaders: "content-type" });
  for (const origin of ["https://app1.example.com", "https://www.tenant1.example.net", "https://other.example"]) {
    decide(policy, { method: "GET", url, origin, requestMethod: null, requestHeaders: null });
  }
}

/** Bindings whose KV holds `text` under the warm-up's host and nothing else, streamed as KV streams a value. */
function madeUpEnv(text: string): Env {
  const kv = {
    get: async (key: string) => {
      if (key !== HOST) return null;
      const bytes = new TextEncoder().encode(text);
      return new ReadableStream({
        type: "bytes",
        pull(controller) {
          controller.enqueue(bytes);
          controller.close();
        },
      });
    },
  };
  // Only the KV binding is read on a preflight.
  return { CORS_POLICY: kv } as unknown as Env;
}

/** No request's context: what the warm-up's store reads behind an answer (the candidate's absent key) needs no request to keep it alive. */
const NO_CONTEXT = {
  waitUntil: () => {},
  passThroughOnException: () => {},
  props: {},
} as unknown as ExecutionContext;

/** Listed origins and subdomain patterns, `count` of each, interleaved: what a platform's big list holds. */
export function madeUpOrigins(count: number): string[] {
  const origins: string[] = [];
  for (let i = 0; i < count; i++) origins.push(`https://app${i}.example.com`, `https://*.tenant${i}.example.net`);
  return origins;
}
