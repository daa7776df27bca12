/**
 * The deploy check on local KV through real wrangler, in a temporary
 * --persist-to directory: every stored policy validated with this checkout's
 * validator, and `npm run deploy` refusing while one is invalid. The deploy
 * itself is `wrangler deploy --dry-run`, which needs no account.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, cli, deploy, json, tempDir } from "./helpers.js";

let tmp: Awaited<ReturnType<typeof tempDir>>;
let persist: string[];

beforeAll(async () => {
  tmp = await tempDir();
  persist = ["--local", "--persist-to", join(tmp.dir, "state")];
});
afterAll(() => tmp.remove());

/** Writes a value with wrangler itself, as someone bypassing the CLI would. */
async function wranglerPut(key: string, value: unknown): Promise<void> {
  const file = await tmp.file(`value-${Math.random().toString(36).slice(2)}.json`, value);
  const run = spawnSync(
    process.execPath,
    [join(ROOT, "node_modules/wrangler/bin/wrangler.js"), "kv", "key", "put", key, "--path", file, "--binding", "CORS_POLICY", ...persist],
    { cwd: ROOT, encoding: "utf8", env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false" } },
  );
  expect(run.status, run.stderr).toBe(0);
}

const INVALID = { origins: ["https://app.example.com", "https://*.com"], credentials: true, maxAge: 100000 };

describe("edge-cors check and npm run deploy on local KV", () => {
  it("passes on an empty namespace, and on valid policies, printing warnings without failing", async () => {
    const empty = await cli(["check", ...persist]);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toContain("nothing stored in local KV: nothing to check");

    expect((await cli(["push", "examples/policy.json", ...persist])).code).toBe(0);
    await wranglerPut("api.example.com", { origins: ["https://app.example.com"], maxAge: 9000 });
    const run = await cli(["check", ...persist]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("api.example.com: valid, with warnings\n  warning $.maxAge");
    expect(run.stdout).toContain("default: valid\n");
    expect(run.stdout).toContain("all 2 stored policies in local KV are valid");
  });

  it("fails naming the invalid key, each problem's path and fix; skips rollback copies, checks candidates", async () => {
    await wranglerPut("broken.example.com", INVALID);
    // The push keeps the invalid value as the rollback copy: not live, not checked.
    await wranglerPut("replaced.example.com", INVALID);
    expect((await cli(["push", "examples/policy.json", "--key", "replaced.example.com", ...persist])).code).toBe(0);
    await wranglerPut("__edge-cors/candidate/staged.example.com", { origins: "*", credentials: true });

    const run = await cli(["check", ...persist]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("broken.example.com: invalid\n  error   $.maxAge");
    expect(run.stdout).toContain("  error   $.origins[1]");
    expect(run.stdout).toMatch(/\$\.origins\[1\].*\n\s+fix: /);
    expect(run.stdout).toContain("__edge-cors/candidate/staged.example.com: invalid\n  error   $.origins");
    expect(run.stdout).toContain("replaced.example.com: valid");
    expect(run.stdout).not.toContain("__edge-cors/previous/");
    expect(run.stdout).toContain("2 of 5 stored policies in local KV are invalid: __edge-cors/candidate/staged.example.com, broken.example.com");

    const data = json<{ ok: boolean; keys: { key: string; ok: boolean; errors: { path: string; hint: string }[] }[] }>(await cli(["check", ...persist, "--json"]));
    expect(data.ok).toBe(false);
    const broken = data.keys.find((entry) => entry.key === "broken.example.com");
    expect(broken?.errors.map((error) => error.path)).toEqual(["$.maxAge", "$.origins[1]"]);
    for (const error of broken?.errors ?? []) expect(error.hint).not.toBe("");
  });

  it("npm run deploy refuses without running wrangler deploy while the check fails, and deploys once it passes", async () => {
    const refused = await deploy(["--env", "production", ...persist, "--dry-run"], { CLOUDFLARE_CF_FETCH_ENABLED: "false" });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain("broken.example.com: invalid");
    expect(refused.stderr).toContain("not deployed: the check above failed");
    // wrangler deploy never started: it would have printed its bundle and bindings.
    expect(refused.stderr).not.toContain("> wrangler deploy");
    expect(refused.stdout + refused.stderr).not.toContain("--dry-run: exiting now");

    await wranglerPut("broken.example.com", { origins: ["https://app.example.com"] });
    await wranglerPut("__edge-cors/candidate/staged.example.com", { origins: "*" });
    const deployed = await deploy(["--env", "production", ...persist, "--dry-run"], { CLOUDFLARE_CF_FETCH_ENABLED: "false" });
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stderr).toContain("> wrangler deploy --env production --dry-run");
    expect(deployed.stdout).toContain("--dry-run: exiting now");
  });
});
