#!/usr/bin/env node
/**
 * npm run deploy -- --env ENV [wrangler deploy options…]
 *
 * Validates every policy stored in ENV's CORS_POLICY namespace with this
 * checkout's validator (`edge-cors check --remote --env ENV`), then runs
 * `wrangler deploy --env ENV …`. A failing check stops the deploy: a stored
 * policy that the new code refuses would make fresh isolates fail closed.
 *
 * `--local` and `--persist-to DIR` point the check at local KV instead (a
 * rehearsal, and the tests); they are not passed to wrangler deploy.
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/** Options for the check and the deploy alike, and the check's own. */
const SHARED = new Set(["--env", "-e", "--config", "-c"]);
const CHECK_ONLY = new Set(["--persist-to"]);

const { check, deploy } = splitArgs(process.argv.slice(2));
const where = check.includes("--local") ? [] : ["--remote"];
const checked = run(join(ROOT, "bin", "edge-cors.mjs"), ["check", ...where, ...check]);
if (checked !== 0) {
  // 1: a stored policy is invalid (or wrangler failed); 2: the command line or the config is wrong.
  console.error(checked === 1 ? "\nnot deployed: the check above failed; fix the stored policies it names (edge-cors push) and deploy again" : "\nnot deployed: see the error above");
  process.exit(checked);
}
process.exit(run(wranglerBin(), ["deploy", ...deploy]));

/** Which arguments go to the check, which to wrangler deploy (some to both). */
function splitArgs(args) {
  const check = [];
  const deploy = [];
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i];
    const [name, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg] : [arg, null];
    const taken = inline ?? (SHARED.has(name) || CHECK_ONLY.has(name) ? [arg, args[++i]] : arg);
    const values = Array.isArray(taken) ? taken : [taken];
    if (name === "--local" || CHECK_ONLY.has(name)) check.push(...values);
    else if (SHARED.has(name)) {
      check.push(...values);
      deploy.push(...values);
    } else deploy.push(...values);
  }
  return { check, deploy };
}

function wranglerBin() {
  if (process.env.EDGE_CORS_WRANGLER) return process.env.EDGE_CORS_WRANGLER;
  return join(dirname(createRequire(import.meta.url).resolve("wrangler/package.json")), "bin", "wrangler.js");
}

function run(script, args) {
  console.error(`> ${[script === wranglerBin() ? "wrangler" : "edge-cors", ...args].join(" ")}`);
  const result = spawnSync(process.execPath, [script, ...args], { cwd: ROOT, stdio: "inherit" });
  return result.status ?? 1;
}
