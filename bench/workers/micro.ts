/**
 * The in-isolate micro-benchmark: the decision alone (`decide` from the pure
 * core), timed inside workerd. `GET /?size=N&case=NAME&ms=M&repeats=R` times
 * R batches of about M ms each and answers with nanoseconds per decision.
 *
 * Each batch starts and ends right after an `await` on a timer, so the clock
 * has moved even where workerd only advances it on I/O (as in production).
 */
import { compilePolicy, decide, parsePolicy, type CompiledPolicy, type CorsRequest } from "../../src/core/index.js";
import { exactOrigin, patternOrigin, REFUSED_ORIGIN, sizedPolicy } from "../policies.js";

interface Case {
  requests: CorsRequest[];
  /** Whether every request of the case must be allowed; checked, so a typo cannot time the wrong path. */
  allowed: boolean;
}

const policies = new Map<number, CompiledPolicy>();
const URL_ = new URL("https://api.example.com/v1/items");
/** More distinct requests than the preflight memo holds, so every one is decided afresh. */
const DISTINCT = 4096;

function compiled(size: number): CompiledPolicy {
  let policy = policies.get(size);
  if (!policy) {
    const result = parsePolicy(JSON.stringify(sizedPolicy(size)));
    if (!result.ok) throw new Error(`sized policy ${size} is invalid: ${JSON.stringify(result.errors.slice(0, 3))}`);
    policy = compilePolicy(result.policy);
    policies.set(size, policy);
  }
  return policy;
}

function preflight(origin: string, requestHeaders: string | null = "content-type,authorization"): CorsRequest {
  return { method: "OPTIONS", url: URL_, origin, requestMethod: "PUT", requestHeaders };
}

function actual(origin: string): CorsRequest {
  return { method: "GET", url: URL_, origin, requestMethod: null, requestHeaders: null };
}

function distinct(make: (i: number) => CorsRequest): CorsRequest[] {
  return Array.from({ length: DISTINCT }, (_, i) => make(i));
}

/** A hostile `Access-Control-Request-Headers` of `bytes` characters, refused at its very end. */
export function hostileHeader(shape: string, bytes: number): string {
  switch (shape) {
    case "names": {
      // Allowed names all the way, then one that is not.
      const unit = "content-type,authorization,x-request-id,";
      const tail = ",x-evil";
      return unit.repeat(Math.ceil(bytes / unit.length)).slice(0, bytes - tail.length) + tail;
    }
    case "long-name":
      return "a".repeat(bytes);
    case "commas":
      return ", ".repeat(Math.ceil(bytes / 2)).slice(0, bytes - 1) + "x";
    case "spaces":
      return " ".repeat(bytes - 1) + "\u0001";
    default:
      throw new Error(`unknown hostile shape ${shape}`);
  }
}

function caseFor(name: string, size: number): Case {
  const last = size - 1;
  switch (name) {
    case "preflight-allowed":
      return { allowed: true, requests: [preflight(exactOrigin(last)), preflight(patternOrigin(last))] };
    case "preflight-allowed-first":
      return { allowed: true, requests: distinct((i) => preflight(patternOrigin(last, `u${i}`))) };
    case "preflight-refused":
      return { allowed: false, requests: [preflight(REFUSED_ORIGIN), preflight(`https://tenant${last}.example.net`)] };
    case "preflight-refused-first":
      return { allowed: false, requests: distinct((i) => preflight(`https://u${i}.evil.example`)) };
    case "actual-allowed":
      return { allowed: true, requests: [actual(exactOrigin(last)), actual(patternOrigin(last))] };
    case "actual-refused":
      return { allowed: false, requests: distinct((i) => actual(`https://u${i}.evil.example`)) };
  }
  const hostile = /^hostile-([a-z-]+)-(\d+)$/.exec(name);
  if (hostile) {
    return { allowed: false, requests: [preflight(exactOrigin(last), hostileHeader(hostile[1]!, Number(hostile[2])))] };
  }
  throw new Error(`unknown case ${name}`);
}

/** Runs `count` decisions over `requests` (a power-of-two length) and counts the allowed ones. */
function batch(policy: CompiledPolicy, requests: CorsRequest[], count: number): number {
  const mask = requests.length - 1;
  let allowed = 0;
  for (let i = 0; i < count; i++) if (decide(policy, requests[i & mask]!).allowed) allowed++;
  return allowed;
}

async function timeBatch(policy: CompiledPolicy, requests: CorsRequest[], count: number): Promise<{ ms: number; allowed: number }> {
  await scheduler.wait(0);
  const start = performance.now();
  const allowed = batch(policy, requests, count);
  await scheduler.wait(0);
  return { ms: performance.now() - start, allowed };
}

async function run(size: number, name: string, targetMs: number, repeats: number) {
  const policy = compiled(size);
  const { requests, allowed: expectAllowed } = caseFor(name, size);
  if ((requests.length & (requests.length - 1)) !== 0) throw new Error(`case ${name} needs a power-of-two number of requests`);
  // Grow the batch until it lasts long enough to time, which also warms the code up.
  let count = requests.length;
  let probe = await timeBatch(policy, requests, count);
  while (probe.ms < targetMs / 4) {
    count *= probe.ms < 1 ? 16 : 4;
    probe = await timeBatch(policy, requests, count);
  }
  count = Math.max(requests.length, Math.round((count * targetMs) / probe.ms));
  const nsPerOp: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const { ms, allowed } = await timeBatch(policy, requests, count);
    if (allowed !== (expectAllowed ? count : 0)) {
      throw new Error(`case ${name} at size ${size}: ${allowed} of ${count} allowed, expected ${expectAllowed ? "all" : "none"}`);
    }
    nsPerOp.push((ms * 1e6) / count);
  }
  return { size, case: name, count, nsPerOp };
}

export default {
  async fetch(request) {
    const params = new URL(request.url).searchParams;
    try {
      const result = await run(
        Number(params.get("size") ?? 1),
        params.get("case") ?? "preflight-allowed",
        Number(params.get("ms") ?? 100),
        Number(params.get("repeats") ?? 5),
      );
      return Response.json(result);
    } catch (err) {
      return Response.json({ error: err instanceof Error ? err.stack ?? err.message : String(err) }, { status: 500 });
    }
  },
} satisfies ExportedHandler;
