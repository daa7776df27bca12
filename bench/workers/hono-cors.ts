/**
 * Hono's built-in `cors` middleware configured for the benchmark's policy,
 * in front of the same forwarding as the edge, on the same `hono/tiny` app.
 */
import { Hono } from "hono/tiny";
import { cors } from "hono/cors";
import { forward } from "../../src/worker/forward.js";
import { LOAD_POLICY, ORIGIN_TIMEOUT_MS } from "../policies.js";

const listed = new Set(LOAD_POLICY.origins.filter((origin) => !origin.includes("*")));
// `https://*.example.org` becomes a scheme prefix and a `.domain` suffix, as one would write it by hand.
const patterns = LOAD_POLICY.origins
  .filter((origin) => origin.includes("*"))
  .map((origin) => ({ scheme: origin.slice(0, origin.indexOf("*")), suffix: origin.slice(origin.indexOf("*") + 1) }));

const app = new Hono<{ Bindings: { ORIGIN_URL: string } }>();

app.use(
  cors({
    origin: (origin) =>
      listed.has(origin) || patterns.some((p) => origin.startsWith(p.scheme) && origin.endsWith(p.suffix)) ? origin : null,
    credentials: LOAD_POLICY.credentials,
    allowMethods: LOAD_POLICY.methods,
    allowHeaders: LOAD_POLICY.allowHeaders,
    exposeHeaders: LOAD_POLICY.exposeHeaders,
    maxAge: LOAD_POLICY.maxAge,
  }),
);

app.all("*", (c) => forward(c.req.raw, c.env.ORIGIN_URL, ORIGIN_TIMEOUT_MS));

export default app;
