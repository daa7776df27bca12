/**
 * Terminal output: colour only on a TTY and never with NO_COLOR
 * (https://no-color.org); FORCE_COLOR turns it on for pipes.
 */
export interface Output {
  readonly json: boolean;
  readonly color: Colors;
  /** A line on stdout. */
  line(text?: string): void;
  /** A line on stderr. */
  error(text: string): void;
  /** A JSON document on stdout. */
  data(value: unknown): void;
}

export interface Colors {
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

const PLAIN: Colors = { red: same, green: same, yellow: same, dim: same, bold: same };
const ANSI: Colors = {
  red: (text) => `\x1b[31m${text}\x1b[39m`,
  green: (text) => `\x1b[32m${text}\x1b[39m`,
  yellow: (text) => `\x1b[33m${text}\x1b[39m`,
  dim: (text) => `\x1b[2m${text}\x1b[22m`,
  bold: (text) => `\x1b[1m${text}\x1b[22m`,
};

function same(text: string): string {
  return text;
}

export function useColor(env: NodeJS.ProcessEnv, isTTY: boolean): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR && env.FORCE_COLOR !== "0") return true;
  return isTTY && env.TERM !== "dumb";
}

export function terminalOutput(json: boolean): Output {
  const color = !json && useColor(process.env, process.stdout.isTTY === true) ? ANSI : PLAIN;
  return {
    json,
    color,
    line: (text = "") => void process.stdout.write(`${text}\n`),
    error: (text) => void process.stderr.write(`${text}\n`),
    data: (value) => void process.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
  };
}
