/** Runs the real CLI as a user does: `node bin/edge-cors.mjs …`, a separate process. */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = join(ROOT, "bin", "edge-cors.mjs");

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return runNode(BIN, args, env);
}

/** `npm run deploy -- ARGS`: scripts/deploy.mjs, the check and then wrangler deploy. */
export function deploy(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return runNode(join(ROOT, "scripts", "deploy.mjs"), args, env);
}

function runNode(script: string, args: string[], env: Record<string, string | undefined>): Promise<Run> {
  return new Promise((resolve, reject) => {
    // No colour unless a test asks for it, whatever the terminal running the tests does.
    const childEnv: Record<string, string | undefined> = { ...process.env, NO_COLOR: undefined, FORCE_COLOR: undefined, ...env };
    for (const key of Object.keys(childEnv)) if (childEnv[key] === undefined) delete childEnv[key];
    const child = spawn(process.execPath, [script, ...args], { cwd: ROOT, env: childEnv as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The CLI's --json output of a run, parsed. */
export function json<T = Record<string, unknown>>(run: Run): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
}

/** A temporary directory, removed by the returned function. */
export async function tempDir(): Promise<{ dir: string; file(name: string, content: unknown): Promise<string>; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "edge-cors-test-"));
  return {
    dir,
    async file(name, content) {
      const path = join(dir, name);
      await writeFile(path, typeof content === "string" ? content : `${JSON.stringify(content, null, 2)}\n`);
      return path;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
