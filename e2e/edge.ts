/**
 * The Worker under `wrangler dev`, with its own local KV directory, and the
 * KV writes a scenario needs, done with wrangler's own CLI on that directory.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const WRANGLER = join(ROOT, "node_modules/wrangler/bin/wrangler.js");
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 5_000;

// No internet here: Miniflare must not fetch a sample `request.cf`.
const ENV = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", FORCE_COLOR: "0" };

export interface EdgeOptions {
  persistTo: string;
  originUrl: string;
  policyTtlSeconds: number;
  /** More `--var`s for the Worker. */
  vars?: Record<string, string>;
}

export interface Edge {
  port: number;
  /** Everything `wrangler dev` printed so far, one entry a line (request lines and the Worker's logs). */
  log(): string[];
  stop(): Promise<void>;
}

export async function startEdge(options: EdgeOptions): Promise<Edge> {
  const [port, inspectorPort] = [await freePort(), await freePort()];
  const args = [
    "dev",
    "--ip", "127.0.0.1",
    "--port", String(port),
    "--inspector-port", String(inspectorPort),
    "--persist-to", options.persistTo,
    "--var", `ORIGIN_URL:${options.originUrl}`,
    "--var", `POLICY_TTL_SECONDS:${options.policyTtlSeconds}`,
    "--var", "CORS_DEBUG:1",
    ...Object.entries(options.vars ?? {}).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
    "--no-show-interactive-dev-session",
  ];
  // Its own process group, so that stopping it also stops workerd.
  const child = spawn(process.execPath, [WRANGLER, ...args], { cwd: ROOT, env: ENV, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const lines: string[] = [];
  const collect = (chunk: Buffer) => lines.push(...chunk.toString("utf8").split("\n").filter((line) => line.trim() !== ""));
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  // Should the run itself be killed, workerd must not outlive it.
  const orphanGuard = () => signalGroup(child, "SIGKILL");
  process.once("exit", orphanGuard);
  const edge: Edge = {
    port,
    log: () => lines,
    stop: async () => {
      await stop(child);
      process.off("exit", orphanGuard);
    },
  };
  try {
    await waitUntilReady(child, port, lines);
  } catch (err) {
    await edge.stop();
    throw err;
  }
  return edge;
}

async function waitUntilReady(child: ChildProcess, port: number, lines: string[]): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}:\n${lines.join("\n")}`);
    if (lines.some((line) => line.includes("Ready on"))) {
      // Any answer will do, a 502 included: the edge is listening.
      const answered = await fetch(`http://127.0.0.1:${port}/__e2e-ready`).then(() => true, () => false);
      if (answered) return;
    }
    await sleep(200);
  }
  throw new Error(`wrangler dev was not ready within ${START_TIMEOUT_MS} ms:\n${lines.join("\n")}`);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  signalGroup(child, "SIGTERM");
  const timer = setTimeout(() => signalGroup(child, "SIGKILL"), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // Already gone.
  }
}

/** Writes policies into the local KV under `persistTo`, one key each, in one wrangler call. */
export async function seedPolicies(persistTo: string, policies: Record<string, unknown>): Promise<void> {
  const file = join(persistTo, "seed.json");
  const pairs = Object.entries(policies).map(([key, policy]) => ({ key, value: JSON.stringify(policy) }));
  await writeFile(file, JSON.stringify(pairs));
  await wrangler(["kv", "bulk", "put", file, "--binding", "CORS_POLICY", "--local", "--persist-to", persistTo]);
}

/** Replaces one policy in local KV while the edge is running, as an operator would. */
export async function putPolicy(persistTo: string, key: string, policy: unknown): Promise<void> {
  await wrangler(["kv", "key", "put", key, JSON.stringify(policy), "--binding", "CORS_POLICY", "--local", "--persist-to", persistTo]);
}

function wrangler(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRANGLER, ...args], { cwd: ROOT, env: ENV, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`wrangler ${args.slice(0, 3).join(" ")} exited with ${code}:\n${output}`))));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
