/**
 * A wrapped binding that stands in for the edge's `CORS_POLICY` namespace in
 * the benchmark only: it counts each read in Node (through `COUNT`), holds it
 * for `delayMs` so that a read on the request path would show in latency, and
 * then reads the real namespace. The production bundle knows nothing of it.
 */
interface Inner {
  KV: KVNamespace;
  COUNT: Fetcher;
}

export default function wrap(env: Inner): Pick<KVNamespace, "get"> {
  return {
    async get(key: string, options?: unknown) {
      await env.COUNT.fetch(`http://count/${encodeURIComponent(key)}`);
      return env.KV.get(key, options as KVNamespaceGetOptions<"text">);
    },
  } as Pick<KVNamespace, "get">;
}
