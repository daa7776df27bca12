/**
 * Which CORS_POLICY namespace a command means: the binding of the chosen
 * wrangler environment, read from the config as wrangler itself reads it.
 * A binding without an id is provisioned by `wrangler deploy`, which does not
 * write the id back to a TOML config: the namespace is then found by the title
 * wrangler gave it.
 */
import { relative } from "node:path";
import { BINDING, type KvTarget } from "./wrangler.js";

/** The chosen environment or its binding is missing: exit 2, nothing written. */
export class ConfigError extends Error {}

/** The binding has no id and the first deploy has not created the namespace yet. */
export class NotProvisionedError extends ConfigError {}

export interface WranglerConfig {
  name?: string | undefined;
  configPath?: string | undefined;
  definedEnvironments?: string[] | undefined;
  kv_namespaces: { binding: string; id?: string | undefined }[];
}

/** What `wrangler kv namespace list` prints: a JSON array. */
export type NamespaceList = { id: string; title: string }[];

/**
 * The title `wrangler deploy` gives a namespace it provisions: the Worker's
 * name (for an environment, "<name>-<env>") and the binding, lowercase, "_" as "-"
 * (runProvisioningFlow in wrangler 4.86's deployment-bundle/bindings.ts).
 */
export function provisionedTitle(workerName: string): string {
  return `${workerName}-${BINDING.toLowerCase().replaceAll("_", "-")}`;
}

/** Reads the config for `target.env` as wrangler does; wrangler's own message on an unknown env. */
export async function readConfig(target: KvTarget): Promise<WranglerConfig> {
  const { unstable_readConfig } = await import("wrangler");
  try {
    return unstable_readConfig({ config: target.config, env: target.env }, { hideWarnings: true }) as WranglerConfig;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (target.env && message.includes("No environment found")) {
      const names = /environment names are: (\[.*\])/.exec(message)?.[1];
      const known = names ? `; its environments: ${(JSON.parse(names) as string[]).join(", ")}` : "";
      throw new ConfigError(`--env ${target.env}: ${target.config ?? "wrangler.toml"} has no [env.${target.env}] section${known}`);
    }
    throw new ConfigError(message);
  }
}

/**
 * The wrangler flags that name the namespace: `--binding CORS_POLICY` when
 * wrangler can resolve it (locally, or a binding with an id), else the id of
 * the namespace the deploy provisioned, looked up by its title.
 */
export async function namespaceFlags(target: KvTarget, config: WranglerConfig, list: () => Promise<NamespaceList>): Promise<string[]> {
  const file = config.configPath ? relative(process.cwd(), config.configPath) || config.configPath : "the wrangler config";
  const environments = config.definedEnvironments ?? [];
  if (target.remote && !target.env && environments.length > 0) {
    throw new ConfigError(`--remote needs --env: ${file} defines the environments ${environments.join(", ")} (for example --env ${environments[0]})`);
  }
  const section = target.env ? `env.${target.env}.` : "";
  const binding = config.kv_namespaces.find((namespace) => namespace.binding === BINDING);
  if (!binding) {
    const where = target.env ? `[env.${target.env}]` : "the top level";
    throw new ConfigError(
      `${file} has no KV binding ${BINDING} in ${where} (environments do not inherit bindings): add\n  [[${section}kv_namespaces]]\n  binding = "${BINDING}"`,
    );
  }
  if (!target.remote || binding.id || target.preview) return ["--binding", BINDING];
  const title = provisionedTitle(config.name ?? "");
  const found = (await list()).find((namespace) => namespace.title === title);
  if (!found) {
    const deploy = `npm run deploy${target.env ? ` -- --env ${target.env}` : ""}`;
    throw new NotProvisionedError(
      `no KV namespace titled "${title}" in the Cloudflare account: the first deploy creates it (${deploy}), or give the binding an existing namespace's id in ${file} ([[${section}kv_namespaces]] id = "…")`,
    );
  }
  return ["--namespace-id", found.id];
}
