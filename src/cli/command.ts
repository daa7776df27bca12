/**
 * What every command shares: its options for util.parseArgs, its help text,
 * and the exit codes scripts rely on.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import type { Output } from "./output.js";

export const EXIT_OK = 0;
/** The policy is invalid, the request is refused, or the stored value differs. */
export const EXIT_REFUSED = 1;
export const EXIT_USAGE = 2;

export type Options = NonNullable<ParseArgsConfig["options"]>;
export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Help lines after the usage line: what it does, its options, an example. */
  help: string;
  options: Options;
  positionals: { min: number; max: number };
  run(args: { values: Values; positionals: string[] }, out: Output): Promise<number>;
}

/** Bad command line: exit 2 with the command's usage line. */
export class UsageError extends Error {}

/** Options every command takes. */
export const COMMON_OPTIONS: Options = {
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

export function parseCommand(command: Command, argv: string[]): { values: Values; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...COMMON_OPTIONS, ...command.options }, allowPositionals: true, strict: true });
  } catch (err) {
    // parseArgs' messages name the option; the extra advice about "--" does not apply here.
    throw new UsageError((err instanceof Error ? err.message : String(err)).replace(/ To specify a positional argument.*$/s, ""));
  }
  const { values, positionals } = parsed;
  if (values.help) return { values, positionals };
  const { min, max } = command.positionals;
  if (positionals.length < min) throw new UsageError(`missing argument: ${command.usage}`);
  if (positionals.length > max) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[max])}`);
  return { values, positionals };
}

export function stringOption(values: Values, name: string): string | undefined {
  const value = values[name];
  return typeof value === "string" ? value : undefined;
}

export function listOption(values: Values, name: string): string[] {
  const value = values[name];
  const items = Array.isArray(value) ? value : [value];
  return items.filter((item): item is string => typeof item === "string");
}
