/** The forwarding floor: the edge's own forwarding, with no CORS work and no router. */
import { forward } from "../../src/worker/forward.js";
import { ORIGIN_TIMEOUT_MS } from "../policies.js";

export default {
  fetch: (request, env) => forward(request, env.ORIGIN_URL, ORIGIN_TIMEOUT_MS),
} satisfies ExportedHandler<{ ORIGIN_URL: string }>;
