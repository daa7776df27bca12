/**
 * push, pull, diff, rollback and check follow wrangler's environments. The
 * remote side needs a Cloudflare account, so a fake wrangler
 * (fake-wrangler.mjs, through EDGE_CORS_WRANGLER) records the command lines
 * the CLI would run; the config is read by the real wrangler code.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, cli, deploy, tempDir } from "./helpers.js";

const FAKE = join(ROOT, "test/cli/fake-wrangler.mjs");
const PRODUCTION = { id: "a1b2c3d4e5f60718293a4b5c6d7e8f90", title: "edge-cors-production-cors-policy" };
const STAGING = { id: "0f0e0d0c0b0a09080706050403020100", title: "edge-cors-staging-cors-policy" };

let tmp: Awaited<ReturnType<typeof tempDir>>;
let fakes = 0;

beforeAll(async () => {
  tmp = await tempDir();
});
afterAll(() => tmp.remove());

/** A fake wrangler of its own for one test: the account's namespaces, and the command lines it was given. */
function fakeWrangler(namespaces: object[] = [PRODUCTION, STAGING]) {
  fakes += 1;
  const log = join(tmp.dir, `calls-${fakes}.log`);
  const env = { EDGE_CORS_WRANGLER: FAKE, FAKE_WRANGLER_LOG: log, FAKE_WRANGLER_NAMESPACES: JSON.stringify(namespaces) };
  return {
    env,
    run: (args: string[]) => cli(args, env),
    /** The wrangler command lines the CLI ran, temp file names replaced. */
    calls(): string[][] {
      let text = "";
      try {
        text = readFileSync(log, "utf8");
      } catch {
        return [];
      }
      return text
        .trim()
        .split("\n")
        .map((line) => (JSON.parse(line) as string[]).map((arg) => (arg.endsWith("kv.json") ? "FILE" : arg)));
    },
  };
}

// Each test has its own fake and files: they run side by side, each CLI run loading wrangler's config reader.
describe.concurrent("--env", () => {
  it("finds the namespace the deploy provisioned by its title, and writes to it by id", async () => {
    const fake = fakeWrangler();
    const run = await fake.run(["push", "examples/policy.json", "--remote", "--env", "production"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('pushed examples/policy.json to "default" in remote KV (env production)');
    const byId = ["--namespace-id", PRODUCTION.id, "--remote", "--env", "production"];
    expect(fake.calls()).toEqual([
      ["kv", "namespace", "list", "--env", "production"],
      ["kv", "bulk", "get", "FILE", ...byId],
      ["kv", "bulk", "put", "FILE", ...byId],
    ]);
  });

  it("takes each environment's own namespace", async () => {
    const fake = fakeWrangler();
    await fake.run(["pull", "--remote", "--env", "staging", "--key", "api.example.com"]);
    expect(fake.calls()[1]).toEqual(["kv", "bulk", "get", "FILE", "--namespace-id", STAGING.id, "--remote", "--env", "staging"]);
  });

  it("passes the binding to wrangler for local KV: wrangler dev's namespace, no account needed", async () => {
    const fake = fakeWrangler();
    const state = join(tmp.dir, "state");
    await fake.run(["diff", "examples/policy.json", "--env", "staging", "--persist-to", state]);
    expect(fake.calls()).toEqual([["kv", "bulk", "get", "FILE", "--binding", "CORS_POLICY", "--local", "--env", "staging", "--persist-to", state]]);
  });

  it("passes the binding when it has an id: wrangler resolves it", async () => {
    const fake = fakeWrangler();
    const config = await tmp.file("with-id.toml", 'name = "w"\nmain = "x.ts"\n[env.prod]\n[[env.prod.kv_namespaces]]\nbinding = "CORS_POLICY"\nid = "feedfeedfeedfeedfeedfeedfeedfeed"\n');
    await fake.run(["pull", "--remote", "--env", "prod", "--config", config]);
    expect(fake.calls()).toEqual([["kv", "bulk", "get", "FILE", "--binding", "CORS_POLICY", "--remote", "--env", "prod", "--config", config]]);
  });

  it("refuses, exit 2 and nothing run against KV, when the namespace has not been provisioned yet", async () => {
    const fake = fakeWrangler([STAGING]);
    const run = await fake.run(["push", "examples/policy.json", "--remote", "--env", "production"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no KV namespace titled "edge-cors-production-cors-policy" in the Cloudflare account');
    expect(run.stderr).toContain("the first deploy creates it (npm run deploy -- --env production)");
    expect(run.stderr).toContain("[[env.production.kv_namespaces]]");
    expect(fake.calls()).toEqual([["kv", "namespace", "list", "--env", "production"]]);
  });

  it.each([["push", "examples/policy.json"], ["pull"], ["diff", "examples/policy.json"], ["rollback"], ["check"]])(
    "%s: an unknown --env is a usage error naming the environments, before any wrangler call",
    async (...command) => {
      const fake = fakeWrangler();
      const unknown = await fake.run([...command, "--remote", "--env", "prod"]);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain("--env prod: wrangler.toml has no [env.prod] section; its environments: staging, production");
      expect(fake.calls()).toEqual([]);
    },
  );

  it.each([["push", "examples/policy.json"], ["check"]])("%s --remote without --env is a usage error: the top level is for local work", async (...command) => {
    const fake = fakeWrangler();
    const missing = await fake.run([...command, "--remote"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--remote needs --env: wrangler.toml defines the environments staging, production");
    expect(fake.calls()).toEqual([]);
  });

  it("names the section to add when the environment has no CORS_POLICY binding (bindings are not inherited)", async () => {
    const fake = fakeWrangler();
    const config = await tmp.file("bare.toml", 'name = "w"\nmain = "x.ts"\n[[kv_namespaces]]\nbinding = "CORS_POLICY"\n[env.bare]\n');
    const run = await fake.run(["push", "examples/policy.json", "--remote", "--env", "bare", "--config", config]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`has no KV binding CORS_POLICY in [env.bare] (environments do not inherit bindings): add\n  [[env.bare.kv_namespaces]]\n  binding = "CORS_POLICY"`);
    const json = await fake.run(["pull", "--env", "bare", "--config", config, "--json"]);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout).error).toContain("has no KV binding CORS_POLICY in [env.bare]");
    expect(fake.calls()).toEqual([]);
  });

  it("check treats a namespace not provisioned yet as holding nothing, so a first deploy can go ahead", async () => {
    const run = await fakeWrangler([]).run(["check", "--remote", "--env", "production"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('nothing to check in remote KV (env production): no KV namespace titled "edge-cors-production-cors-policy"');
  });

  it("npm run deploy refuses to deploy without --env, and deploys with the env the check used", async () => {
    const fake = fakeWrangler([PRODUCTION]);
    const refused = await deploy([], fake.env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("--remote needs --env");
    expect(refused.stderr).toContain("not deployed: see the error above");
    expect(fake.calls()).toEqual([]);
    const deployed = await deploy(["--env", "production", "--minify"], fake.env);
    expect(deployed.code).toBe(0);
    expect(fake.calls()).toEqual([
      ["kv", "namespace", "list", "--env", "production"],
      ["kv", "key", "list", "--namespace-id", PRODUCTION.id, "--remote", "--env", "production"],
      ["deploy", "--env", "production", "--minify"],
    ]);
  });
});
