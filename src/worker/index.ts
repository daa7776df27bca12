/**
 * The edge-cors Worker: KV policy → validate → compile → decide → stamp.
 */
import { edgeApp } from "./app.js";
import { PolicyStore } from "./policy-store.js";
import { Telemetry } from "./telemetry.js";
import { warmUp } from "./warm-up.js";

// Policies stay compiled in memory between requests, and log lines are aggregated across them: one store and one telemetry per isolate.
const app = edgeApp(new PolicyStore(), new Telemetry());

// Awaited: the warm-up does no I/O, so it ends within startup, before the first request.
await warmUp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
