/**
 * A wrapped binding that stands in for `CORS_POLICY` in the first-request
 * benchmark: each read is an HTTP request to a Node server (`STORE_URL`), as
 * KV is served by a service outside the isolate in production. Miniflare's
 * own KV runs inside workerd, where its CPU would count as the edge's; so
 * would that of a Node function bound as a service, which Miniflare reaches
 * through a proxy worker of its own inside workerd.
 */
interface Inner {
  STORE_URL: string;
}

export default function wrap(env: Inner): Pick<KVNamespace, "get"> {
  return {
    async get(key: string, options?: { type?: string }) {
      const response = await fetch(`${env.STORE_URL}/${encodeURIComponent(key)}`);
      if (response.status === 404) {
        await response.body?.cancel();
        return null;
      }
      return options?.type === "stream" ? response.body : await response.text();
    },
  } as Pick<KVNamespace, "get">;
}
