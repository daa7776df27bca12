/**
 * A wrapped binding that stands in for `CORS_POLICY` in the first-request
 * benchmark: each read is served by Node through `STORE`, as KV is served
 * by a service outside the isolate in production. Miniflare's own KV runs
 * inside workerd, where its CPU would count as the edge's.
 */
interface Inner {
  STORE: Fetcher;
}

export default function wrap(env: Inner): Pick<KVNamespace, "get"> {
  return {
    async get(key: string, options?: { type?: string }) {
      const response = await env.STORE.fetch(`http://kv/${encodeURIComponent(key)}`);
      if (response.status === 404) return null;
      return options?.type === "stream" ? response.body : await response.text();
    },
  } as Pick<KVNamespace, "get">;
}
