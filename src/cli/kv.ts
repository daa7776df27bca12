/**
 * `push`, `pull`, `diff` and `rollback`: the policy in the CORS_POLICY
 * namespace. A push keeps the value it replaces under a key of its own, so
 * a rollback can put it back.
 */
import { writeFile } from "node:fs/promises";
import { CANDIDATE_PREFIX, candidateKey, parsePolicy } from "../core/index.js";
import { EXIT_OK, EXIT_REFUSED, UsageError, stringOption, type Command, type Options, type Values } from "./command.js";
import { diffLines, normalizeJson } from "./diff.js";
import type { Output } from "./output.js";
import { printProblems, problems, readPolicyFile, summary } from "./policy-file.js";
import { describeTarget, getValues, previousKey, putValues, deleteValue, type KvTarget } from "./wrangler.js";

const KV_OPTIONS: Options = {
  key: { type: "string", default: "default" },
  local: { type: "boolean" },
  remote: { type: "boolean" },
  preview: { type: "boolean" },
  env: { type: "string" },
  config: { type: "string" },
  "persist-to": { type: "string" },
  candidate: { type: "boolean" },
};

const KV_HELP = `  --key KEY          the hostname the policy is for (lowercase, no port), or
                     default for every host without its own key (default: default)
  --local | --remote local KV, as wrangler dev uses it (the default), or the deployed namespace
  --env ENV          the wrangler environment (staging, production); --remote needs it
  --config PATH      the wrangler configuration file
  --persist-to DIR   where local KV lives (wrangler's --persist-to)
  --preview          the preview namespace
  --candidate        the key's report-only candidate ("__edge-cors/candidate/KEY")
                     rather than the policy the edge enforces
  --json             print the result as JSON`;

/** A hostname as the worker looks it up (URL.hostname: lowercase ASCII, no port, no trailing dot). */
const HOST_KEY = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])$/;
const INTERNAL_PREFIX = "__edge-cors/";

/** The --key value, or a usage error that says what the edge would look up instead. */
export function checkKey(key: string): string {
  if (key === "default" || HOST_KEY.test(key)) return key;
  if (key.startsWith(INTERNAL_PREFIX)) {
    throw new UsageError(`--key ${JSON.stringify(key)}: keys under ${INTERNAL_PREFIX} are edge-cors's own (the values rollback restores), not policies`);
  }
  const canonical = canonicalKey(key);
  const hint = canonical !== null && HOST_KEY.test(canonical) ? `: use --key ${canonical}` : "";
  throw new UsageError(`--key ${JSON.stringify(key)} is not a hostname as the edge looks it up (lowercase ASCII, punycode for IDN, no port, no trailing dot, no scheme) or default${hint}`);
}

/** The hostname a browser's URL parser makes of `key` (IDN as punycode), without a trailing dot. */
function canonicalKey(key: string): string | null {
  try {
    return new URL(key.includes("://") ? key : `http://${key}`).hostname.replace(/\.$/, "");
  } catch {
    return null;
  }
}

/**
 * The place a command works on. `key` is the KV key it reads and writes: the
 * policy's, or with --candidate its candidate's; `policyKey` is the policy's.
 */
function readTarget(values: Values): { key: string; policyKey: string; target: KvTarget } {
  const policyKey = checkKey(stringOption(values, "key") ?? "default");
  if (values.local && values.remote) throw new UsageError("give --local or --remote, not both");
  return {
    key: values.candidate === true ? candidateKey(policyKey) : policyKey,
    policyKey,
    target: {
      remote: values.remote === true,
      preview: values.preview === true,
      env: stringOption(values, "env") || undefined,
      config: stringOption(values, "config"),
      persistTo: stringOption(values, "persist-to"),
    },
  };
}

/** The flags that name the same place again, for the commands we suggest. */
function flags(key: string, target: KvTarget): string {
  const candidate = key.startsWith(CANDIDATE_PREFIX);
  const parts = [`--key ${candidate ? key.slice(CANDIDATE_PREFIX.length) : key}`, ...(candidate ? ["--candidate"] : []), target.remote ? "--remote" : "--local"];
  if (target.preview) parts.push("--preview");
  if (target.env) parts.push(`--env ${target.env}`);
  if (target.config) parts.push(`--config ${target.config}`);
  if (target.persistTo && !target.remote) parts.push(`--persist-to ${target.persistTo}`);
  return parts.join(" ");
}

export const pushCommand: Command = {
  name: "push",
  summary: "validate a policy and store it in CORS_POLICY, keeping the previous value",
  usage: "edge-cors push FILE [--key HOST|default] [--local|--remote] [--env ENV] [--json]",
  help: `Validates FILE with the edge's validator and refuses to store it if it is
invalid. Otherwise stores it under KEY, after keeping the value it replaces
under "__edge-cors/previous/KEY" so that rollback restores it. Storing the
value already there changes nothing.

The edge sees the new policy within POLICY_TTL_SECONDS (plus, remotely, up to
about 60 s of KV propagation).

Options:
${KV_HELP}

Exit: 0 stored (or unchanged), 1 invalid policy or wrangler failed, 2 usage error.

Example:
  edge-cors push examples/policy.json --key api.example.com --remote`,
  options: KV_OPTIONS,
  positionals: { min: 1, max: 1 },
  async run({ values, positionals }, out) {
    const { key, target } = readTarget(values);
    const file = await readPolicyFile(positionals[0]!);
    if (!file.result.ok) {
      if (out.json) out.data({ pushed: false, key, errors: file.result.errors, warnings: file.result.warnings });
      else {
        out.line(`${file.file}: ${out.color.red("invalid")} (${summary(file.result)}): not pushed`);
        printProblems(out, problems(file.result));
      }
      return EXIT_REFUSED;
    }
    const stored = await getValues([key, previousKey(key)], target);
    const current = stored.get(key) ?? null;
    const where = `"${key}" in ${describeTarget(target)}`;
    if (current === file.text) {
      if (out.json) out.data({ pushed: false, unchanged: true, key, warnings: file.result.warnings });
      else out.line(`${where} already holds ${file.file}: nothing written`);
      return EXIT_OK;
    }
    const writes = [{ key, value: file.text }];
    if (current !== null) writes.push({ key: previousKey(key), value: current });
    await putValues(writes, target);
    // A previous value from before the key was deleted would make a rollback restore something unexpected.
    if (current === null && stored.get(previousKey(key)) != null) await deleteValue(previousKey(key), target);
    if (out.json) {
      out.data({ pushed: true, key, previousKey: current === null ? null : previousKey(key), warnings: file.result.warnings });
      return EXIT_OK;
    }
    if (file.result.warnings.length > 0) {
      out.line(`${file.file}: valid (${summary(file.result)})`);
      printProblems(out, file.result.warnings);
    }
    out.line(`${out.color.green("pushed")} ${file.file} to ${where}`);
    if (key.startsWith(CANDIDATE_PREFIX)) {
      const policyFlags = flags(key.slice(CANDIDATE_PREFIX.length), target);
      out.line(out.color.dim(`the edge now compares it with every request and still answers by the enforced policy: see what it would change with edge-cors report, then edge-cors promote ${policyFlags} or edge-cors discard ${policyFlags}`));
    } else if (current === null) out.line(out.color.dim(`nothing was stored under "${key}" before: there is nothing to roll back to`));
    else out.line(out.color.dim(`the value it replaced is kept under "${previousKey(key)}": edge-cors rollback ${flags(key, target)} restores it`));
    return EXIT_OK;
  },
};

export const pullCommand: Command = {
  name: "pull",
  summary: "print the policy stored in CORS_POLICY",
  usage: "edge-cors pull [--key HOST|default] [--local|--remote] [--out FILE] [--json]",
  help: `Prints the value stored under KEY exactly as stored, or writes it to FILE.
Says on stderr when the stored value is not a valid policy (the edge then
ignores it and keeps its last good one).

Options:
  --out FILE         write the value to FILE instead of stdout
${KV_HELP}

Exit: 0 found, 1 nothing stored under KEY or wrangler failed, 2 usage error.

Example:
  edge-cors pull --key default --local > current.json`,
  options: { ...KV_OPTIONS, out: { type: "string" } },
  positionals: { min: 0, max: 0 },
  async run({ values }, out) {
    const { key, target } = readTarget(values);
    const value = (await getValues([key], target)).get(key) ?? null;
    const valid = value === null ? null : parsePolicy(value).ok;
    const file = stringOption(values, "out");
    if (value !== null && file !== undefined) await writeFile(file, value);
    if (out.json) out.data({ key, found: value !== null, valid, value });
    else if (value === null) out.error(`nothing is stored under "${key}" in ${describeTarget(target)}`);
    else if (file !== undefined) out.line(`wrote "${key}" from ${describeTarget(target)} to ${file}`);
    else process.stdout.write(value.endsWith("\n") ? value : `${value}\n`);
    if (valid === false && !out.json) out.error(`note: the value under "${key}" is not a valid policy (run edge-cors validate on it): the edge ignores it`);
    return value === null ? EXIT_REFUSED : EXIT_OK;
  },
};

export const diffCommand: Command = {
  name: "diff",
  summary: "compare the stored policy with a file",
  usage: "edge-cors diff FILE [--key HOST|default] [--local|--remote] [--json]",
  help: `Shows what pushing FILE would change: the stored value against FILE, both
as formatted JSON so that only content differences show.

Options:
${KV_HELP}

Exit: 0 the same, 1 they differ (or nothing is stored) or wrangler failed, 2 usage error.

Example:
  edge-cors diff examples/policy.json --remote`,
  options: KV_OPTIONS,
  positionals: { min: 1, max: 1 },
  async run({ values, positionals }, out) {
    const { key, target } = readTarget(values);
    const file = await readPolicyFile(positionals[0]!);
    const stored = (await getValues([key], target)).get(key) ?? null;
    const lines = diffLines(stored === null ? "" : normalizeJson(stored), normalizeJson(file.text));
    const same = stored !== null && lines.every((line) => line.op === " ");
    if (out.json) {
      out.data({ key, same, found: stored !== null, diff: lines.filter((line) => line.op !== " ") });
      return same ? EXIT_OK : EXIT_REFUSED;
    }
    if (same) {
      out.line(`"${key}" in ${describeTarget(target)} holds the same policy as ${file.file}`);
      return EXIT_OK;
    }
    printDiff(out, `"${key}" in ${describeTarget(target)}${stored === null ? " (nothing stored)" : ""}`, file.file, lines);
    return EXIT_REFUSED;
  },
};

function printDiff(out: Output, from: string, to: string, lines: ReturnType<typeof diffLines>): void {
  const { red, green, dim } = out.color;
  out.line(red(`--- ${from}`));
  out.line(green(`+++ ${to}`));
  for (const { op, text } of lines) {
    if (op === "-") out.line(red(`-${text}`));
    else if (op === "+") out.line(green(`+${text}`));
    else out.line(dim(` ${text}`));
  }
}

export const rollbackCommand: Command = {
  name: "rollback",
  summary: "restore the policy that the last push replaced",
  usage: "edge-cors rollback [--key HOST|default] [--local|--remote] [--json]",
  help: `Puts back the value the last push replaced, and keeps the value it replaces
in its place, so a second rollback undoes the first. Refuses to restore a
value that is not a valid policy.

Options:
${KV_HELP}

Exit: 0 restored, 1 nothing to restore, an invalid previous value, or wrangler failed, 2 usage error.

Example:
  edge-cors rollback --key default --remote`,
  options: KV_OPTIONS,
  positionals: { min: 0, max: 0 },
  async run({ values }, out) {
    const { key, target } = readTarget(values);
    const stored = await getValues([key, previousKey(key)], target);
    const current = stored.get(key) ?? null;
    const previous = stored.get(previousKey(key)) ?? null;
    const where = `"${key}" in ${describeTarget(target)}`;
    if (previous === null) {
      if (out.json) out.data({ rolledBack: false, key, reason: "nothing to roll back to" });
      else out.error(`nothing to roll back to: no previous value is kept for ${where}`);
      return EXIT_REFUSED;
    }
    const check = parsePolicy(previous);
    if (!check.ok) {
      if (out.json) out.data({ rolledBack: false, key, reason: "the previous value is not a valid policy", errors: check.errors });
      else {
        out.error(`not rolled back: the previous value of ${where} is not a valid policy`);
        printProblems(out, check.errors);
      }
      return EXIT_REFUSED;
    }
    const writes = [{ key, value: previous }];
    if (current !== null) writes.push({ key: previousKey(key), value: current });
    await putValues(writes, target);
    if (current === null) await deleteValue(previousKey(key), target);
    if (out.json) out.data({ rolledBack: true, key });
    else {
      out.line(`${out.color.green("rolled back")} ${where} to the value the last push replaced`);
      if (current !== null) out.line(out.color.dim(`the value it replaced is now the previous one: run rollback again to undo`));
    }
    return EXIT_OK;
  },
};

export const promoteCommand: Command = {
  name: "promote",
  summary: "make the report-only candidate the enforced policy",
  usage: "edge-cors promote [--key HOST|default] [--local|--remote] [--env ENV] [--json]",
  help: `Stores the candidate of KEY as KEY's policy, keeps the value it replaces
under "__edge-cors/previous/KEY" (so rollback undoes the promote), and removes
the candidate. Refuses a candidate that is not a valid policy; does nothing
when there is none. Check first what it would change: edge-cors report.

Options:
${KV_HELP.split("\n").filter((line) => !line.includes("--candidate") && !line.includes("rather than the policy")).join("\n")}

Exit: 0 promoted, 1 no candidate, an invalid one, or wrangler failed, 2 usage error.

Example:
  edge-cors report tail.json && edge-cors promote --key api.example.com --remote --env production`,
  options: KV_OPTIONS,
  positionals: { min: 0, max: 0 },
  async run({ values }, out) {
    if (values.candidate) throw new UsageError("promote always takes the candidate: leave out --candidate");
    const { policyKey: key, target } = readTarget(values);
    const stored = await getValues([key, candidateKey(key)], target);
    const current = stored.get(key) ?? null;
    const candidate = stored.get(candidateKey(key)) ?? null;
    const where = `"${key}" in ${describeTarget(target)}`;
    if (candidate === null) return nothingTo(out, "promote", key, `no candidate is stored for ${where}`);
    const check = parsePolicy(candidate);
    if (!check.ok) {
      if (out.json) out.data({ promoted: false, key, reason: "the candidate is not a valid policy", errors: check.errors });
      else {
        out.error(`not promoted: the candidate of ${where} is not a valid policy`);
        printProblems(out, check.errors);
      }
      return EXIT_REFUSED;
    }
    const writes = [{ key, value: candidate }];
    if (current !== null) writes.push({ key: previousKey(key), value: current });
    await putValues(writes, target);
    await deleteValue(candidateKey(key), target);
    if (out.json) out.data({ promoted: true, key, previousKey: current === null ? null : previousKey(key) });
    else {
      out.line(`${out.color.green("promoted")} the candidate of ${where}: the edge enforces it within POLICY_TTL_SECONDS`);
      if (current !== null) out.line(out.color.dim(`the value it replaced is kept: edge-cors rollback ${flags(key, target)} restores it`));
    }
    return EXIT_OK;
  },
};

export const discardCommand: Command = {
  name: "discard",
  summary: "remove the report-only candidate",
  usage: "edge-cors discard [--key HOST|default] [--local|--remote] [--env ENV] [--json]",
  help: `Removes the candidate of KEY. The enforced policy is untouched.

Options:
${KV_HELP.split("\n").filter((line) => !line.includes("--candidate") && !line.includes("rather than the policy")).join("\n")}

Exit: 0 removed, 1 no candidate or wrangler failed, 2 usage error.

Example:
  edge-cors discard --key api.example.com --remote --env production`,
  options: KV_OPTIONS,
  positionals: { min: 0, max: 0 },
  async run({ values }, out) {
    if (values.candidate) throw new UsageError("discard always removes the candidate: leave out --candidate");
    const { policyKey: key, target } = readTarget(values);
    const where = `"${key}" in ${describeTarget(target)}`;
    const candidate = (await getValues([candidateKey(key)], target)).get(candidateKey(key)) ?? null;
    if (candidate === null) return nothingTo(out, "discard", key, `no candidate is stored for ${where}`);
    await deleteValue(candidateKey(key), target);
    if (out.json) out.data({ discarded: true, key });
    else out.line(`${out.color.green("discarded")} the candidate of ${where}`);
    return EXIT_OK;
  },
};

function nothingTo(out: Output, what: "promote" | "discard", key: string, reason: string): number {
  if (out.json) out.data({ [what === "promote" ? "promoted" : "discarded"]: false, key, reason });
  else out.error(`nothing to ${what}: ${reason}`);
  return EXIT_REFUSED;
}
