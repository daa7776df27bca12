import { EXIT_OK, EXIT_REFUSED, type Command } from "./command.js";
import { printProblems, readPolicyFile, summary, type PolicyFile } from "./policy-file.js";

export const validateCommand: Command = {
  name: "validate",
  summary: "check policy files with the edge's own validator",
  usage: "edge-cors validate FILE… [--strict] [--json]",
  help: `Reports every problem of each file at once, each with its JSON path and a
one-line fix. Warnings (a maxAge above what an engine honours, duplicates…) do not
fail the check unless --strict is given.

Options:
  --strict   warnings fail the check too
  --json     print {ok, files: [{file, ok, errors, warnings}]}

Exit: 0 every file is valid, 1 some file is not, 2 usage error or unreadable file.

Example:
  edge-cors validate examples/policy.json`,
  options: { strict: { type: "boolean" } },
  positionals: { min: 1, max: Infinity },
  async run({ values, positionals }, out) {
    const files: PolicyFile[] = [];
    for (const file of positionals) files.push(await readPolicyFile(file));
    const failed = (entry: PolicyFile) => !entry.result.ok || (values.strict === true && entry.result.warnings.length > 0);
    const ok = !files.some(failed);
    if (out.json) {
      out.data({
        ok,
        files: files.map((entry) => ({
          file: entry.file,
          ok: !failed(entry),
          errors: entry.result.ok ? [] : entry.result.errors,
          warnings: entry.result.warnings,
        })),
      });
      return ok ? EXIT_OK : EXIT_REFUSED;
    }
    const { red, green, yellow } = out.color;
    for (const entry of files) {
      const { result } = entry;
      const verdict = failed(entry) ? red("invalid") : result.warnings.length > 0 ? yellow("valid") : green("valid");
      out.line(`${entry.file}: ${verdict} (${summary(result)})`);
      printProblems(out, [...(result.ok ? [] : result.errors), ...result.warnings]);
    }
    return ok ? EXIT_OK : EXIT_REFUSED;
  },
};
