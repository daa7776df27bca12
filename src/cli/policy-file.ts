/** Reading a policy file and printing what the validator says about it. */
import { readFile } from "node:fs/promises";
import { parsePolicy, type Problem, type ValidationResult } from "../core/index.js";
import { UsageError } from "./command.js";
import type { Output } from "./output.js";

export interface PolicyFile {
  file: string;
  text: string;
  result: ValidationResult;
}

/** A file that cannot be read is a usage error: the command was given a wrong path. */
export async function readPolicyFile(file: string): Promise<PolicyFile> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read ${file}: ${code === "ENOENT" ? "no such file" : err instanceof Error ? err.message : String(err)}`);
  }
  return { file, text, result: parsePolicy(text) };
}

export function problems(result: ValidationResult): Problem[] {
  return [...(result.ok ? [] : result.errors), ...result.warnings];
}

/** Each problem on two lines: where and what, then the fix. */
export function printProblems(out: Output, list: Problem[], indent = "  "): void {
  const { red, yellow, dim, bold } = out.color;
  for (const problem of list) {
    const label = problem.severity === "error" ? red("error  ") : yellow("warning");
    out.line(`${indent}${label} ${bold(problem.path)}  ${problem.message}`);
    out.line(`${indent}        ${dim("fix:")} ${problem.hint}`);
  }
}

export function summary(result: ValidationResult): string {
  const errors = result.ok ? 0 : result.errors.length;
  const warnings = result.warnings.length;
  const parts = [];
  if (errors > 0) parts.push(`${errors} error${errors === 1 ? "" : "s"}`);
  if (warnings > 0) parts.push(`${warnings} warning${warnings === 1 ? "" : "s"}`);
  return parts.length > 0 ? parts.join(", ") : "no problems";
}
