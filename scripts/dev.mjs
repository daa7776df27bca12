// `npm start`: the gateway and its playground on localhost, nothing else to set up.
// Stores examples/policy.json in local KV (with `edge-cors push`), starts the
// demo origin, the gateway under `wrangler dev` forwarding to it, and the
// playground pages on two origins of their own, then prints the URLs.
import { spawn, spawnSync } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import { startDemoOrigin } from "./demo-origin.mjs";
import { startPageServer } from "./page-server.mjs";

const EDGE_PORT = Number(process.env.EDGE_PORT ?? 8787);
const ORIGIN_PORT = Number(process.env.ORIGIN_PORT ?? 8788);
// The example policy lists http://localhost:3000 and not http://127.0.0.1:3001.
const PAGE_PORT = Number(process.env.PAGE_PORT ?? 3000);
const OTHER_PORT = Number(process.env.OTHER_PORT ?? 3001);
const POLICY = process.env.POLICY ?? "examples/policy.json";
// Low, so that a pushed policy shows in the playground after a reload.
const TTL_SECONDS = process.env.POLICY_TTL_SECONDS ?? "2";
/** Where local KV lives; wrangler's default (.wrangler/state) unless set. */
const PERSIST_TO = process.env.PERSIST_TO;
const wrangler = ["node_modules/wrangler/bin/wrangler.js"];
// This machine has no internet: skip Miniflare's download of a sample `request.cf`.
const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false" };
const persist = PERSIST_TO ? ["--persist-to", PERSIST_TO] : [];
/** The gateway's output, kept for `edge-cors report` (git-ignored). */
const LOG_FILE = process.env.EDGE_LOG ?? ".edge-cors/edge.log";

const urls = {
  edge: `http://localhost:${EDGE_PORT}`,
  page: `http://localhost:${PAGE_PORT}`,
  other: `http://127.0.0.1:${OTHER_PORT}`,
};

const seed = spawnSync(process.execPath, ["bin/edge-cors.mjs", "push", POLICY, "--key", "default", "--local", ...persist], { stdio: "inherit", env });
if (seed.status !== 0) {
  console.error(`could not store ${POLICY} in local KV`);
  process.exit(1);
}

const origin = await startDemoOrigin(ORIGIN_PORT);
const pages = await startPageServer({ urls, pagePort: PAGE_PORT, otherPort: OTHER_PORT, persistTo: PERSIST_TO, edgeLog: LOG_FILE });
const dev = spawn(
  process.execPath,
  [
    ...wrangler, "dev",
    "--port", String(EDGE_PORT),
    "--ip", "127.0.0.1",
    "--var", `ORIGIN_URL:http://127.0.0.1:${ORIGIN_PORT}`,
    "--var", "CORS_DEBUG:1",
    // Every event in its own line at once, rather than once a minute, so the report shows them while you try things.
    "--var", "EVENT_LOG_SECONDS:0",
    "--var", `POLICY_TTL_SECONDS:${TTL_SECONDS}`,
    ...(process.env.INSPECTOR_PORT ? ["--inspector-port", process.env.INSPECTOR_PORT] : []),
    ...persist,
  ],
  { stdio: ["inherit", "pipe", "pipe"], env },
);
mkdirSync(LOG_FILE.slice(0, Math.max(LOG_FILE.lastIndexOf("/"), 0)) || ".", { recursive: true });
const logFile = createWriteStream(LOG_FILE, { flags: "a" });
// Everything wrangler dev prints goes to the terminal as before, and to the log file.
for (const [from, to] of [[dev.stdout, process.stdout], [dev.stderr, process.stderr]]) {
  from.on("data", (chunk) => {
    to.write(chunk);
    logFile.write(chunk);
  });
}

const stop = () => {
  dev.kill("SIGTERM");
  origin.close();
  pages.close();
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
dev.on("exit", (code) => {
  origin.close();
  pages.close();
  process.exit(code ?? 0);
});

if (await edgeAnswers()) {
  const flags = PERSIST_TO ? ` --persist-to ${PERSIST_TO}` : "";
  console.log(`
edge-cors is ready (policy: ${POLICY}, origin: http://127.0.0.1:${ORIGIN_PORT}, POLICY_TTL_SECONDS=${TTL_SECONDS})

  Playground:  ${urls.page}/   (open it in a browser)
  Gateway:     ${urls.edge}

Try a preflight:
  curl -i -X OPTIONS -H 'Origin: http://localhost:3000' -H 'Access-Control-Request-Method: PUT' ${urls.edge}/api
Change the policy, then reload the playground after ${TTL_SECONDS} s:
  npx edge-cors push --local${flags} playground/allow-x-custom.json
  npx edge-cors rollback --local${flags}
Try a tighter policy as a report-only candidate, reload, then see what it would change:
  npx edge-cors push --local${flags} playground/candidate.json --candidate
The gateway's log lines are also in ${LOG_FILE}; what it refused, and what a candidate would change:
  npx edge-cors report ${LOG_FILE}
`);
}

/** Waits until wrangler dev answers (it builds and starts workerd first). */
async function edgeAnswers() {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && dev.exitCode === null) {
    try {
      await fetch(`http://127.0.0.1:${EDGE_PORT}/__ready`);
      return true;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  console.error(`the gateway did not start on port ${EDGE_PORT}`);
  return false;
}
