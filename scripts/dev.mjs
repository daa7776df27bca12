// `npm start`: the gateway on localhost with nothing else to set up.
// Seeds local KV with examples/policy.json, starts the demo origin, and runs
// `wrangler dev` forwarding to it.
import { spawn, spawnSync } from "node:child_process";
import { startDemoOrigin } from "./demo-origin.mjs";

const EDGE_PORT = Number(process.env.EDGE_PORT ?? 8787);
const ORIGIN_PORT = Number(process.env.ORIGIN_PORT ?? 8788);
const POLICY = process.env.POLICY ?? "examples/policy.json";
const wrangler = ["node_modules/wrangler/bin/wrangler.js"];
// This machine has no internet: skip Miniflare's download of a sample `request.cf`.
const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false" };

const seed = spawnSync(process.execPath, [...wrangler, "kv", "key", "put", "default", "--path", POLICY, "--binding", "CORS_POLICY", "--local"], { stdio: "inherit", env });
if (seed.status !== 0) {
  console.error(`could not seed local KV from ${POLICY}`);
  process.exit(1);
}

const origin = await startDemoOrigin(ORIGIN_PORT);
const dev = spawn(process.execPath, [...wrangler, "dev", "--port", String(EDGE_PORT), "--ip", "127.0.0.1", "--var", `ORIGIN_URL:http://127.0.0.1:${ORIGIN_PORT}`, "--var", "CORS_DEBUG:1"], { stdio: "inherit", env });

console.log(`
edge-cors is starting on http://localhost:${EDGE_PORT} (policy: ${POLICY}, origin: http://127.0.0.1:${ORIGIN_PORT})
Try a preflight:
  curl -i -X OPTIONS -H 'Origin: http://localhost:3000' -H 'Access-Control-Request-Method: PUT' http://localhost:${EDGE_PORT}/api
`);

const stop = () => {
  dev.kill("SIGTERM");
  origin.close();
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
dev.on("exit", (code) => {
  origin.close();
  process.exit(code ?? 0);
});
