/**
 * The edge's Hono app: KV policy → validate → compile → decide → stamp, over
 * one policy store. Made by a function, so that the startup warm-up can send
 * a request through an app of its own, whose store holds a made-up policy.
 */
import type { Context } from "hono";
import { Hono } from "hono/tiny";
import { edgeCors } from "./cors.js";
import { forward } from "./forward.js";
import { clip, logWarning } from "./log.js";
import type { PolicyStore, StoreOptions } from "./policy-store.js";
import { eventsOf, LOG_INTERVAL_MS, logRefusal, type DataPointSink, type Telemetry } from "./telemetry.js";

/** Seconds a policy is kept before KV is read again, unless POLICY_TTL_SECONDS says otherwise. */
export const DEFAULT_TTL_SECONDS = 30;
const DEFAULT_ORIGIN_TIMEOUT_SECONDS = 30;

/** Bindings a deployment may leave out, which `wrangler types` therefore cannot know. */
interface OptionalBindings {
  /** An Analytics Engine dataset: one data point per decision event. */
  CORS_EVENTS?: DataPointSink;
  /** Seconds between two log lines of one distinct event (60); 0 in local dev, to see every event at once. */
  EVENT_LOG_SECONDS?: string;
}

export type EdgeApp = Hono<{ Bindings: Env }>;

/** The app over `store` (policies held in memory) and `telemetry` (log lines aggregated across requests). */
export function edgeApp(store: PolicyStore, telemetry: Telemetry): EdgeApp {
  const app: EdgeApp = new Hono<{ Bindings: Env }>();

  const storeOptions = (c: Context<{ Bindings: Env }>): StoreOptions => ({
    kv: c.env.CORS_POLICY,
    ttlMs: seconds(c.env.POLICY_TTL_SECONDS, DEFAULT_TTL_SECONDS) * 1000,
    waitUntil: (promise) => c.executionCtx.waitUntil(promise),
  });

  app.use(
    edgeCors({
      policy: (c, url) => {
        const known = store.peek(url.hostname, () => storeOptions(c));
        if (known !== undefined) return known;
        return store.policyFor(url.hostname, storeOptions(c));
      },
      candidate: (c, url, waited) => store.candidateFor(url.hostname, () => storeOptions(c), waited),
      onEvent: (event, c) => {
        const env = c.env as Env & OptionalBindings;
        if (event.refusal && env.CORS_DEBUG) logRefusal(event.refusal, event.request);
        for (const corsEvent of eventsOf(event, event.request.url.hostname)) {
          telemetry.record(corsEvent, {
            sink: env.CORS_EVENTS,
            waitUntil: (promise) => c.executionCtx.waitUntil(promise),
            intervalMs: seconds(env.EVENT_LOG_SECONDS, LOG_INTERVAL_MS / 1000) * 1000,
          });
        }
      },
    }),
  );

  app.all("*", (c) => forward(c.req.raw, c.env.ORIGIN_URL ?? "", seconds(c.env.ORIGIN_TIMEOUT_SECONDS, DEFAULT_ORIGIN_TIMEOUT_SECONDS) * 1000, c.env.ORIGIN));

  app.onError((err, c) => {
    logWarning("edge-error", { path: clip(c.req.path), error: err instanceof Error ? err.stack ?? err.message : String(err) });
    return c.json({ error: "bad gateway", reason: "edge error" }, 502);
  });

  return app;
}

/** A var in seconds; fractions allowed, anything unusable means the default. */
function seconds(value: string | undefined, fallback: number): number {
  const parsed = Number(value);
  return value && Number.isFinite(parsed) && parsed >= 0 ? parsed : fallback;
}
