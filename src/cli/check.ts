/**
 * `check`: every policy stored in an environment's namespace, validated with
 * the validator about to be deployed. A rule that turns a stored policy
 * invalid would make a fresh isolate (no last good policy) fail closed, so
 * the deploy runs this first and stops while any key fails.
 */
import { CANDIDATE_PREFIX, parsePolicy, type Problem } from "../core/index.js";
import { EXIT_OK, EXIT_REFUSED, UsageError, stringOption, type Command } from "./command.js";
import { checkKey } from "./kv.js";
import { NotProvisionedError } from "./namespace.js";
import { printProblems } from "./policy-file.js";
import { describeTarget, getValues, listKeys, type KvTarget } from "./wrangler.js";

/** Where a push could stage a policy before it goes live; checked like a live key. */
const INTERNAL_PREFIX = "__edge-cors/";
/** One `kv bulk get` reads at most this many keys. */
const BATCH = 100;

interface KeyReport {
  key: string;
  ok: boolean;
  errors: Problem[];
  warnings: Problem[];
  /** Why the edge never reads this key, when it does not. */
  unused?: string;
}

export const checkCommand: Command = {
  name: "check",
  summary: "validate every policy stored in an environment, as a deploy is about to",
  usage: "edge-cors check [--local|--remote] [--env ENV] [--persist-to DIR] [--json]",
  help: `Lists every key in the CORS_POLICY namespace of the environment and validates
each policy (every hostname key, default, and candidates under
"__edge-cors/candidate/") with this checkout's validator, the code a deploy
would ship. The rollback copies under "__edge-cors/previous/" are skipped.
Fails while any policy is invalid, naming the key, each problem's JSON path
and the fix: deployed, the edge would refuse that policy, and a fresh isolate
with no last good one would fail closed. Warnings are printed, not fatal.

npm run deploy runs this before wrangler deploy.

Options:
  --local | --remote local KV, as wrangler dev uses it (the default), or the deployed namespace
  --env ENV          the wrangler environment
  --config PATH      the wrangler configuration file
  --persist-to DIR   where local KV lives (wrangler's --persist-to)
  --json             print {ok, keys: [{key, ok, errors, warnings}]}

Exit: 0 every stored policy is valid (or nothing is stored yet), 1 some policy
is invalid or wrangler failed, 2 usage error or a missing environment or binding.

Example:
  edge-cors check --remote --env production`,
  options: {
    local: { type: "boolean" },
    remote: { type: "boolean" },
    env: { type: "string" },
    config: { type: "string" },
    "persist-to": { type: "string" },
  },
  positionals: { min: 0, max: 0 },
  async run({ values }, out) {
    if (values.local && values.remote) throw new UsageError("give --local or --remote, not both");
    const target: KvTarget = {
      remote: values.remote === true,
      env: stringOption(values, "env") || undefined,
      config: stringOption(values, "config"),
      persistTo: stringOption(values, "persist-to"),
    };
    const where = describeTarget(target);
    let keys: string[];
    try {
      keys = (await listKeys(target)).filter(isPolicyKey);
    } catch (err) {
      if (!(err instanceof NotProvisionedError)) throw err;
      // A first deploy: the namespace it creates holds nothing to check yet.
      if (out.json) out.data({ ok: true, keys: [], provisioned: false });
      else out.line(`nothing to check in ${where}: ${err.message}`);
      return EXIT_OK;
    }
    const reports = await checkKeys(keys, target);
    const ok = reports.every((report) => report.ok);
    if (out.json) out.data({ ok, keys: reports });
    else printReports(out, reports, where);
    return ok ? EXIT_OK : EXIT_REFUSED;
  },
};

function isPolicyKey(key: string): boolean {
  if (key.startsWith(CANDIDATE_PREFIX)) return true;
  // The rollback copies (PREVIOUS_PREFIX) and any other key of the CLI's own are never served.
  return !key.startsWith(INTERNAL_PREFIX);
}

async function checkKeys(keys: string[], target: KvTarget): Promise<KeyReport[]> {
  const reports: KeyReport[] = [];
  for (let start = 0; start < keys.length; start += BATCH) {
    const batch = keys.slice(start, start + BATCH);
    const values = await getValues(batch, target);
    for (const key of batch) reports.push(checkValue(key, values.get(key) ?? null));
  }
  return reports;
}

function checkValue(key: string, value: string | null): KeyReport {
  const unused = unusedKey(key);
  // Deleted between the listing and the read: nothing is stored, nothing to refuse.
  if (value === null) return { key, ok: true, errors: [], warnings: [], ...unused };
  const result = parsePolicy(value);
  return { key, ok: result.ok, errors: result.ok ? [] : result.errors, warnings: result.warnings, ...unused };
}

/** A key that is not a hostname as URL.hostname gives it is never looked up: worth a warning, not a failure. */
function unusedKey(key: string): { unused: string } | Record<string, never> {
  const name = key.startsWith(CANDIDATE_PREFIX) ? key.slice(CANDIDATE_PREFIX.length) : key;
  try {
    checkKey(name);
    return {};
  } catch (err) {
    return { unused: (err instanceof Error ? err.message : String(err)).replace(/^--key /, "key ").replace(/: use --key /, ": the edge looks up ") };
  }
}

function printReports(out: Parameters<Command["run"]>[1], reports: KeyReport[], where: string): void {
  const { red, green, yellow } = out.color;
  for (const report of reports) {
    const warned = report.warnings.length > 0 || report.unused !== undefined;
    const verdict = !report.ok ? red("invalid") : warned ? yellow("valid, with warnings") : green("valid");
    out.line(`${report.key}: ${verdict}`);
    printProblems(out, [...report.errors, ...report.warnings]);
    if (report.unused) out.line(`  ${yellow("warning")} ${report.unused}`);
  }
  const invalid = reports.filter((report) => !report.ok).map((report) => report.key);
  if (reports.length === 0) out.line(`nothing stored in ${where}: nothing to check`);
  else if (invalid.length === 0) out.line(green(`all ${reports.length} stored policies in ${where} are valid`));
  else {
    out.line(red(`${invalid.length} of ${reports.length} stored policies in ${where} are invalid: ${invalid.join(", ")}`));
    out.line("deployed, the edge would refuse them, and a fresh isolate with no last good policy fails closed: fix them with edge-cors push first");
  }
}
