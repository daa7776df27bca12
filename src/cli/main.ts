/**
 * edge-cors: the operator CLI. Every check runs the pure core in src/core,
 * the very code the worker runs, so the CLI cannot disagree with the edge.
 */
import { readFileSync } from "node:fs";
import { EXIT_OK, EXIT_REFUSED, EXIT_USAGE, UsageError, parseCommand, type Command } from "./command.js";
import { checkCommand } from "./check.js";
import { explainCommand } from "./explain.js";
import { diffCommand, discardCommand, promoteCommand, pullCommand, pushCommand, rollbackCommand } from "./kv.js";
import { terminalOutput, type Output } from "./output.js";
import { reportCommand } from "./report.js";
import { schemaCommand } from "./schema.js";
import { validateCommand } from "./validate.js";
import { ConfigError } from "./namespace.js";
import { WranglerError } from "./wrangler.js";

const COMMANDS: Command[] = [validateCommand, explainCommand, pushCommand, pullCommand, diffCommand, rollbackCommand, promoteCommand, discardCommand, checkCommand, reportCommand, schemaCommand];

function overview(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  return `edge-cors: check, explain and ship the CORS policy of the edge-cors gateway

Usage: edge-cors COMMAND [options]

Commands:
${COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`).join("\n")}

Every command takes --help and --json.
Exit codes: 0 ok, 1 invalid policy, refused request or differing value, 2 usage error.
Colour only on a terminal; NO_COLOR turns it off.`;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const json = argv.includes("--json");
  const out = terminalOutput(json);
  if (name === undefined) {
    out.error(overview());
    return EXIT_USAGE;
  }
  if (name === "--help" || name === "-h" || name === "help") {
    const command = COMMANDS.find((candidate) => candidate.name === rest[0]);
    out.line(command ? commandHelp(command) : overview());
    return EXIT_OK;
  }
  if (name === "--version" || name === "-v") {
    out.line(version());
    return EXIT_OK;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (!command) return usageError(out, null, `unknown command ${JSON.stringify(name)}; commands: ${COMMANDS.map((c) => c.name).join(", ")}`);
  try {
    const args = parseCommand(command, rest);
    if (args.values.help) {
      out.line(commandHelp(command));
      return EXIT_OK;
    }
    return await command.run(args, out);
  } catch (err) {
    if (err instanceof UsageError) return usageError(out, command, err.message);
    // Before any write: the environment or its binding is missing from the config.
    if (err instanceof ConfigError) {
      if (out.json) out.data({ error: err.message });
      out.error(`edge-cors ${command.name}: ${err.message}`);
      return EXIT_USAGE;
    }
    if (err instanceof WranglerError) {
      if (out.json) out.data({ error: err.message });
      out.error(`edge-cors ${command.name}: ${err.message}`);
      return EXIT_REFUSED;
    }
    throw err;
  }
}

function commandHelp(command: Command): string {
  return `${command.summary}\n\nUsage: ${command.usage}\n\n${command.help}`;
}

function usageError(out: Output, command: Command | null, message: string): number {
  if (out.json) out.data({ error: message });
  out.error(`edge-cors${command ? ` ${command.name}` : ""}: ${message}`);
  out.error(command ? `usage: ${command.usage}\nrun edge-cors ${command.name} --help for more` : "run edge-cors --help for the commands");
  return EXIT_USAGE;
}
