/**
 * The edge-cors Worker: KV policy → validate → compile → decide → stamp.
 */
import { Hono } from "hono/tiny";
import { edgeCors } from "./cors.js";
import { forward } from "./forward.js";
import { clip, logInfo, logWarning } from "./log.js";
import { PolicyStore } from "./policy-store.js";

const DEFAULT_TTL_SECONDS = 30;
const DEFAULT_ORIGIN_TIMEOUT_SECONDS = 30;

/** One per isolate: policies stay compiled in memory between requests. */
const store = new PolicyStore();

const app = new Hono<{ Bindings: Env }>();

app.use(
  edgeCors({
    policy: (c, url) => {
      const known = store.peek(url.hostname);
      if (known !== undefined) return known;
      return store.policyFor(url.hostname, {
        kv: c.env.CORS_POLICY,
        ttlMs: seconds(c.env.POLICY_TTL_SECONDS, DEFAULT_TTL_SECONDS) * 1000,
        waitUntil: (promise) => c.executionCtx.waitUntil(promise),
      });
    },
    onRefusal: (refusal, request, c) => {
      if (!c.env.CORS_DEBUG) return;
      logInfo("cors-refused", {
        origin: clip(request.origin),
        method: request.method,
        requestMethod: clip(request.requestMethod),
        path: clip(request.url.pathname),
        rule: refusal.rule,
        field: refusal.field,
        reason: refusal.message,
      });
    },
  }),
);

app.all("*", (c) => forward(c.req.raw, c.env.ORIGIN_URL ?? "", seconds(c.env.ORIGIN_TIMEOUT_SECONDS, DEFAULT_ORIGIN_TIMEOUT_SECONDS) * 1000, c.env.ORIGIN));

app.onError((err, c) => {
  logWarning("edge-error", { path: clip(c.req.path), error: err instanceof Error ? err.stack ?? err.message : String(err) });
  return c.json({ error: "bad gateway", reason: "edge error" }, 502);
});

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;

/** A var in seconds; fractions allowed, anything unusable means the default. */
function seconds(value: string | undefined, fallback: number): number {
  const parsed = Number(value);
  return value && Number.isFinite(parsed) && parsed >= 0 ? parsed : fallback;
}
