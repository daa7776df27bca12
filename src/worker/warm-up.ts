/**
 * Static work done once, at startup: the validator, the compiler and the
 * decision run on a made-up policy of the shapes real ones have, so that the
 * first request to load a big policy finds their code compiled, its feedback
 * gathered and its regular expressions built. A cold isolate interprets
 * JavaScript first, several times slower, and the first request of an
 * isolate has the Workers CPU limit to keep; startup has a limit of its own.
 */
import { compilePolicy, decide, parsePolicy } from "../core/index.js";

/** Entries of each kind in the made-up policy: enough for V8 to compile the loops that walk a list. */
const ENTRIES = 1000;

/** Runs the warm-up; false when its policy no longer validates, so that a test notices. */
export function warmUp(): boolean {
  const origins = ["http://localhost:3000", "null"];
  for (let i = 0; i < ENTRIES; i++) origins.push(`https://app${i}.example.com`, `https://*.tenant${i}.example.net`);
  const result = parsePolicy(JSON.stringify({ origins, methods: ["GET", "PUT"], allowHeaders: ["Content-Type"], maxAge: 600 }), { warnings: false });
  if (!result.ok) return false;
  const policy = compilePolicy(result.policy);
  const url = new URL("https://warm-up.invalid/items");
  for (const origin of ["https://app1.example.com", "https://www.tenant1.example.net", "https://other.example"]) {
    decide(policy, { method: "OPTIONS", url, origin, requestMethod: "PUT", requestHeaders: "content-type" });
    decide(policy, { method: "GET", url, origin, requestMethod: null, requestHeaders: null });
  }
  return true;
}
