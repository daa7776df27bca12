/**
 * The cold-load benchmark inside workerd: what the first request of an
 * isolate pays for a big policy, taken apart. `GET /cold?key=K&repeats=R`
 * reads K from KV, then times `JSON.parse` of the text, `parsePolicy` +
 * `compilePolicy` of it as the edge loads it (parsing again, then validating
 * for errors only and compiling), and the same followed by the two lookups
 * that build the origin set, alternating, R times each (each time as many
 * runs as last about 20 ms of parsing, since the clock is coarse); it answers
 * the best time of each, so that the ratios are of the same text in the same minute.
 *
 * `GET /hold?key=K&what=text|policy` keeps the text, or the compiled policy
 * with its origin set built (and nothing else of the text), in a global until
 * `GET /drop`: run.ts reads the isolate's heap through the inspector between the two.
 *
 * Each timed part starts and ends right after an `await` on a timer, so the
 * clock has moved even where workerd only advances it on I/O.
 */
import { compilePolicy, parsePolicy } from "../../src/core/index.js";

interface Env {
  CORS_POLICY: KVNamespace;
}

const held: unknown[] = [];

async function timed<T>(work: () => T): Promise<{ ms: number; value: T }> {
  await scheduler.wait(0);
  const start = performance.now();
  const value = work();
  await scheduler.wait(0);
  return { ms: performance.now() - start, value };
}

/** Milliseconds per run of `work`, run `count` times in one timed stretch (the clock is coarse). */
async function timedEach(work: () => unknown, count: number): Promise<number> {
  const { ms } = await timed(() => {
    for (let i = 0; i < count; i++) work();
  });
  return ms / count;
}

/** As the edge loads a policy: errors only. */
function loadPolicy(text: string) {
  const result = parsePolicy(text, { warnings: false });
  if (!result.ok) throw new Error(`policy refused: ${JSON.stringify(result.errors.slice(0, 3))}`);
  return compilePolicy(result.policy);
}

/** Loads the policy, then looks an origin up twice: the first lookup scans the list, the second builds the set. */
function loadIndexed(text: string) {
  const policy = loadPolicy(text);
  const origins = policy.rules.origins;
  if (origins !== "*") {
    for (const origin of ["https://one.example", "https://two.example"]) origins.matches(origin);
    if (!origins.indexed) throw new Error("the origin set was not built by the second lookup");
  }
  return policy;
}

async function cold(env: Env, key: string, repeats: number) {
  const read = await timed(() => env.CORS_POLICY.get(key));
  const text = await read.value;
  if (text === null) throw new Error(`no value under ${key}`);
  // Enough runs of a small policy to last about 20 ms of JSON.parse.
  const count = Math.max(1, Math.round(4_000_000 / text.length));
  let parseMs = Infinity;
  let loadMs = Infinity;
  let indexedMs = Infinity;
  for (let r = 0; r < repeats; r++) {
    parseMs = Math.min(parseMs, await timedEach(() => JSON.parse(text), count));
    loadMs = Math.min(loadMs, await timedEach(() => loadPolicy(text), count));
    indexedMs = Math.min(indexedMs, await timedEach(() => loadIndexed(text), count));
  }
  return { key, bytes: text.length, parseMs, loadMs, indexedMs, validateCompileMs: loadMs - parseMs };
}

export default {
  async fetch(request, env) {
    const params = new URL(request.url).searchParams;
    const key = params.get("key") ?? "default";
    try {
      switch (new URL(request.url).pathname) {
        case "/cold":
          return Response.json(await cold(env, key, Number(params.get("repeats") ?? 5)));
        case "/hold": {
          const text = await env.CORS_POLICY.get(key);
          if (text === null) throw new Error(`no value under ${key}`);
          // A copy that shares no memory with KV's buffers or the parsed text.
          held.push(params.get("what") === "text" ? text : loadIndexed(text));
          return Response.json({ held: held.length });
        }
        case "/drop":
          held.length = 0;
          return Response.json({ held: 0 });
      }
      return new Response("not found", { status: 404 });
    } catch (err) {
      return Response.json({ error: err instanceof Error ? err.stack ?? err.message : String(err) }, { status: 500 });
    }
  },
} satisfies ExportedHandler<Env>;
