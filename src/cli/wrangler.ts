/**
 * The CORS_POLICY namespace, read and written through wrangler, so that
 * local and remote KV, environments and accounts work as wrangler sets them up.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export const BINDING = "CORS_POLICY";
/** Holds the value a push replaced. The `/` keeps it apart from every hostname key. */
export const PREVIOUS_PREFIX = "__edge-cors/previous/";

export interface KvTarget {
  remote: boolean;
  env?: string | undefined;
  config?: string | undefined;
  persistTo?: string | undefined;
  preview?: boolean | undefined;
}

export class WranglerError extends Error {}

export function previousKey(key: string): string {
  return `${PREVIOUS_PREFIX}${key}`;
}

export function describeTarget(target: KvTarget): string {
  return `${target.remote ? "remote" : "local"}${target.preview ? " preview" : ""} KV${target.env ? ` (env ${target.env})` : ""}`;
}

/** Reads several keys in one wrangler run; an absent key reads as null. */
export async function getValues(keys: string[], target: KvTarget): Promise<Map<string, string | null>> {
  return withTempFile(JSON.stringify(keys), async (file) => {
    const stdout = await wrangler(["kv", "bulk", "get", file], target);
    const found = parseJsonObject(stdout) as Record<string, { value: string | null } | undefined>;
    return new Map(keys.map((key) => [key, found[key]?.value ?? null]));
  });
}

/** Writes several keys in one wrangler run. */
export async function putValues(entries: { key: string; value: string }[], target: KvTarget): Promise<void> {
  await withTempFile(JSON.stringify(entries), (file) => wrangler(["kv", "bulk", "put", file], target));
}

export async function deleteValue(key: string, target: KvTarget): Promise<void> {
  await wrangler(["kv", "key", "delete", key], target);
}

function wranglerBin(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");
}

function wrangler(args: string[], target: KvTarget): Promise<string> {
  const flags = ["--binding", BINDING, target.remote ? "--remote" : "--local"];
  if (target.preview) flags.push("--preview");
  if (target.env) flags.push("--env", target.env);
  if (target.config) flags.push("--config", target.config);
  if (target.persistTo && !target.remote) flags.push("--persist-to", target.persistTo);
  // Miniflare would try to download a sample request.cf for local KV: never needed here.
  const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: process.env.CLOUDFLARE_CF_FETCH_ENABLED ?? "false", NO_COLOR: "1" };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [wranglerBin(), ...args, ...flags], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", (err) => reject(new WranglerError(`could not start wrangler: ${err.message}`)));
    child.on("close", (code) => {
      if (code === 0) return resolve(stdout);
      const said = clean(`${stderr}\n${stdout}`);
      reject(new WranglerError(`wrangler ${args.slice(0, 3).join(" ")} failed (exit ${code})${said ? `:\n${said}` : ""}`));
    });
  });
}

/** wrangler prints a banner and "Success!" around the JSON document. */
function parseJsonObject(stdout: string): unknown {
  const start = stdout.search(/^\{$/m);
  const end = stdout.lastIndexOf("\n}");
  if (start === -1 || end === -1) throw new WranglerError(`unexpected output from wrangler kv bulk get:\n${clean(stdout)}`);
  return JSON.parse(stdout.slice(start, end + 2));
}

async function withTempFile<T>(content: string, use: (file: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "edge-cors-"));
  const file = join(dir, "kv.json");
  try {
    await writeFile(file, content);
    return await use(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function clean(text: string): string {
  return text.replace(/\x1b\[[0-9;]*m/g, "").trim().split("\n").slice(-20).join("\n");
}
