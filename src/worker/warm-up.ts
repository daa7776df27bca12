/**
 * Static work done once, at startup: the validator, the compiler and the
 * decision run on a made-up policy of the shapes real ones have, so that the
 * first request to load a big policy finds their code compiled, its feedback
 * gathered and its regular expressions built. A cold isolate interprets
 * JavaScript first, several times slower, and the first request of an
 * isolate has the Workers CPU limit to keep; startup has a limit of its own.
 */
import { compilePolicy, decide, parsePolicy, validatePolicy } from "../core/index.js";

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

/** Runs the warm-up; false when a made-up policy no longer validates, so that a test notices. */
export function warmUp(): boolean {
  const origins = ["http://localhost:3000", "null", ...madeUpOrigins(ENTRIES)];
  const result = parsePolicy(JSON.stringify({ origins, methods: ["GET", "PUT"], allowHeaders: ["Content-Type"], maxAge: 600 }), { warnings: false });
  if (!result.ok) return false;
  const policy = compilePolicy(result.policy);
  const url = new URL("https://warm-up.invalid/items");
  for (const origin of ["https://app1.example.com", "https://www.tenant1.example.net", "https://other.example"]) {
    decide(policy, { method: "OPTIONS", url, origin, requestMethod: "PUT", requestHeaders: "content-type" });
    decide(policy, { method: "GET", url, origin, requestMethod: null, requestHeaders: null });
  }
  const short = { origins: madeUpOrigins(SHAPE_ENTRIES) };
  for (let round = 0; round < SHAPE_ROUNDS; round++) {
    if (!validatePolicy(short, { warnings: false }).ok) return false;
  }
  return true;
}

/** Listed origins and subdomain patterns, `count` of each, interleaved: what a platform's big list holds. */
export function madeUpOrigins(count: number): string[] {
  const origins: string[] = [];
  for (let i = 0; i < count; i++) origins.push(`https://app${i}.example.com`, `https://*.tenant${i}.example.net`);
  return origins;
}
