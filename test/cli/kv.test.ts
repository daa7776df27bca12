/**
 * push, pull, diff and rollback against local KV through real wrangler, in a
 * temporary --persist-to directory so that the dev state is never touched.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, cli, json, tempDir } from "./helpers.js";

let tmp: Awaited<ReturnType<typeof tempDir>>;
let persist: string[];
const example = readFileSync(join(ROOT, "examples/policy.json"), "utf8");
const narrower = `${JSON.stringify({ origins: ["http://localhost:3000"], methods: ["GET"] }, null, 2)}\n`;

beforeAll(async () => {
  tmp = await tempDir();
  persist = ["--local", "--persist-to", join(tmp.dir, "state")];
});
afterAll(() => tmp.remove());

/** Reads a key with wrangler itself, not through the CLI under test. */
function wranglerGet(key: string): string {
  const run = spawnSync(
    process.execPath,
    [join(ROOT, "node_modules/wrangler/bin/wrangler.js"), "kv", "key", "get", key, "--binding", "CORS_POLICY", "--text", ...persist],
    { cwd: ROOT, encoding: "utf8", env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false" } },
  );
  expect(run.status, run.stderr).toBe(0);
  return run.stdout;
}

describe("push, pull, diff and rollback on local KV", () => {
  it("refuses what it cannot do on an empty namespace, and stores nothing for an invalid policy", async () => {
    const pull = await cli(["pull", ...persist]);
    expect(pull.code).toBe(1);
    expect(pull.stderr).toContain('nothing is stored under "default" in local KV');

    const rollback = await cli(["rollback", ...persist]);
    expect(rollback.code).toBe(1);
    expect(rollback.stderr).toContain("nothing to roll back to");

    const invalid = await tmp.file("invalid.json", { origins: "*", credentials: true, maxAge: 100000 });
    const push = await cli(["push", invalid, ...persist]);
    expect(push.code).toBe(1);
    // credentials without blockCrossOriginWrites also warns.
    expect(push.stdout).toContain("invalid (2 errors, 1 warning): not pushed");
    expect(push.stdout).toContain("error   $.origins");
    expect(push.stdout).toContain("error   $.maxAge");
    expect(wranglerGet("default")).toBe("Value not found\n");
  });

  it("pushes, keeps the replaced value, diffs, and rolls back and forth", async () => {
    const first = await cli(["push", "examples/policy.json", ...persist]);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('pushed examples/policy.json to "default" in local KV');
    expect(first.stdout).toContain("nothing to roll back to");

    // Stored byte for byte, so pull gives back the file.
    const pulled = await cli(["pull", ...persist]);
    expect(pulled.code).toBe(0);
    expect(pulled.stdout).toBe(example);

    const again = await cli(["push", "examples/policy.json", ...persist]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("already holds examples/policy.json: nothing written");

    const file = await tmp.file("narrower.json", narrower);
    const diff = await cli(["diff", file, ...persist]);
    expect(diff.code).toBe(1);
    expect(diff.stdout).toContain(`--- "default" in local KV\n+++ ${file}\n`);
    expect(diff.stdout).toContain('-    "https://app.example.com",\n');
    expect(diff.stdout).toContain(' "http://localhost:3000"'.replace(" ", "     "));
    expect(diff.stdout).toContain('-  "credentials": true,\n');
    const same = await cli(["diff", "examples/policy.json", ...persist]);
    expect(same.code).toBe(0);
    expect(same.stdout).toContain("holds the same policy as examples/policy.json");

    const second = await cli(["push", file, ...persist, "--json"]);
    expect(second.code).toBe(0);
    expect(json(second)).toEqual({ pushed: true, key: "default", previousKey: "__edge-cors/previous/default", warnings: [] });
    expect(wranglerGet("default")).toBe(narrower + "\n");
    expect(wranglerGet("__edge-cors/previous/default")).toBe(`${example}\n`);

    const rollback = await cli(["rollback", ...persist]);
    expect(rollback.code).toBe(0);
    expect(rollback.stdout).toContain('rolled back "default" in local KV');
    expect((await cli(["pull", ...persist])).stdout).toBe(example);

    // A second rollback undoes the first.
    const forward = await cli(["rollback", ...persist, "--json"]);
    expect(json(forward)).toEqual({ rolledBack: true, key: "default" });
    expect(json(await cli(["pull", ...persist, "--json"]))).toEqual({ key: "default", found: true, valid: true, value: narrower });
  });

  it("keeps hostname keys apart from default, and refuses to roll back to an invalid value", async () => {
    const push = await cli(["push", "examples/policy.json", "--key", "api.example.com", ...persist]);
    expect(push.code).toBe(0);
    expect(json(await cli(["pull", "--key", "api.example.com", ...persist, "--json"]))).toMatchObject({ found: true, value: example });
    expect(json(await cli(["pull", ...persist, "--json"]))).toMatchObject({ value: narrower });

    // Someone wrote an invalid value with wrangler directly, then pushed over it.
    const broken = await tmp.file("broken.json", '{"origins": "*", "credentials": true}');
    const put = spawnSync(
      process.execPath,
      [join(ROOT, "node_modules/wrangler/bin/wrangler.js"), "kv", "key", "put", "broken.example.com", "--path", broken, "--binding", "CORS_POLICY", ...persist],
      { cwd: ROOT, encoding: "utf8", env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false" } },
    );
    expect(put.status, put.stderr).toBe(0);
    expect((await cli(["push", "examples/policy.json", "--key", "broken.example.com", ...persist])).code).toBe(0);
    const rollback = await cli(["rollback", "--key", "broken.example.com", ...persist]);
    expect(rollback.code).toBe(1);
    expect(rollback.stderr).toContain("not rolled back: the previous value of \"broken.example.com\" in local KV is not a valid policy");
    expect((await cli(["pull", "--key", "broken.example.com", ...persist])).stdout).toBe(example);
  });

  it("keeps the previous value under a key no hostname can be", () => {
    // The worker looks policies up by URL hostname; a hostname never holds "/".
    const url = new URL("http://__edge-cors/previous/default");
    expect(url.hostname).toBe("__edge-cors");
    expect(() => new URL("http://__edge-cors%2Fprevious%2Fdefault/")).toThrow();
  });
});
