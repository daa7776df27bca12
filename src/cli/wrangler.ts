/**
 * The CORS_POLICY namespace, read and written through wrangler, so that
 * local and remote KV, environments and accounts work as wrangler sets them up.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { namespaceFlags, readConfig, type NamespaceList } from "./namespace.js";

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
    const stdout = await kvWrangler(["kv", "bulk", "get", file], target);
    const found = parseJson(stdout, "{") as Record<string, { value: string | null } | undefined>;
    return new Map(keys.map((key) => [key, found[key]?.value ?? null]));
  });
}

/** Writes several keys in one wrangler run. */
export async function putValues(entries: { key: string; value: string }[], target: KvTarget): Promise<void> {
  await withTempFile(JSON.stringify(entries), (file) => kvWrangler(["kv", "bulk", "put", file], target));
}

export async function deleteValue(key: string, target: KvTarget): Promise<void> {
  await kvWrangler(["kv", "key", "delete", key], target);
}

/** Every key name in the namespace (wrangler pages through them). */
export async function listKeys(target: KvTarget): Promise<string[]> {
  const stdout = await kvWrangler(["kv", "key", "list"], target);
  return (parseJson(stdout, "[") as { name: string }[]).map((entry) => entry.name);
}

/** The namespace flags of each target, resolved once: a push calls wrangler up to three times. */
const resolved = new WeakMap<KvTarget, Promise<string[]>>();

function namespaceOf(target: KvTarget): Promise<string[]> {
  let flags = resolved.get(target);
  if (!flags) {
    // Local KV at the top level needs no config reading (wrangler's own, about 2 s): the binding names it.
    const plain = !target.remote && !target.env;
    flags = plain ? Promise.resolve(["--binding", BINDING]) : readConfig(target).then((config) => namespaceFlags(target, config, () => listNamespaces(target)));
    resolved.set(target, flags);
  }
  return flags;
}

async function listNamespaces(target: KvTarget): Promise<NamespaceList> {
  return parseJson(await runWrangler(["kv", "namespace", "list", ...configFlags(target)]), "[") as NamespaceList;
}

/** The wrangler to run: the project's own, or EDGE_CORS_WRANGLER (the tests' stand-in for one that needs an account). */
function wranglerBin(): string {
  if (process.env.EDGE_CORS_WRANGLER) return process.env.EDGE_CORS_WRANGLER;
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");
}

function configFlags(target: KvTarget): string[] {
  const flags: string[] = [];
  if (target.env) flags.push("--env", target.env);
  if (target.config) flags.push("--config", target.config);
  return flags;
}

async function kvWrangler(args: string[], target: KvTarget): Promise<string> {
  const flags = [...(await namespaceOf(target)), target.remote ? "--remote" : "--local", ...configFlags(target)];
  if (target.preview) flags.push("--preview");
  if (target.persistTo && !target.remote) flags.push("--persist-to", target.persistTo);
  return runWrangler([...args, ...flags]);
}

function runWrangler(args: string[]): Promise<string> {
  // Miniflare would try to download a sample request.cf for local KV: never needed here.
  const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: process.env.CLOUDFLARE_CF_FETCH_ENABLED ?? "false", NO_COLOR: "1" };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [wranglerBin(), ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
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

/** The JSON document in wrangler's output: wrangler prints a banner and "Success!" around it. */
function parseJson(stdout: string, open: "{" | "["): unknown {
  const close = open === "{" ? "}" : "]";
  const start = stdout.search(open === "{" ? /^\{$/m : /^\[(?:\]|\{|$)/m);
  const end = stdout.lastIndexOf(close);
  if (start === -1 || end < start) throw new WranglerError(`unexpected output from wrangler (no JSON ${open}…${close}):\n${clean(stdout)}`);
  return JSON.parse(stdout.slice(start, end + 1));
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
