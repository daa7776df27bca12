/**
 * A report-only candidate's life on local KV, through real wrangler: push it
 * beside the live policy, read it back, promote it, roll the promote back,
 * discard another; and every refusal on the way.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, cli, json, tempDir } from "./helpers.js";

let tmp: Awaited<ReturnType<typeof tempDir>>;
let at: string[];
const live = readFileSync(join(ROOT, "examples/policy.json"), "utf8");
const tighter = `${JSON.stringify({ origins: ["https://app.example.com"], credentials: true, blockCrossOriginWrites: true, methods: ["GET", "POST"] }, null, 2)}\n`;

beforeAll(async () => {
  tmp = await tempDir();
  at = ["--key", "api.example.com", "--local", "--persist-to", join(tmp.dir, "state")];
});
afterAll(() => tmp.remove());

/** A key as wrangler itself reads it, or null. */
function stored(key: string): string | null {
  const run = spawnSync(
    process.execPath,
    [join(ROOT, "node_modules/wrangler/bin/wrangler.js"), "kv", "key", "get", key, "--binding", "CORS_POLICY", "--text", "--local", "--persist-to", join(tmp.dir, "state")],
    { cwd: ROOT, encoding: "utf8", env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false" } },
  );
  // wrangler ends what it prints with a newline of its own.
  return run.status === 0 && !run.stdout.startsWith("Value not found") ? run.stdout.replace(/\n$/, "") : null;
}

describe("report-only candidates on local KV", () => {
  it("push --candidate, pull and diff it, promote, roll back, and discard", async () => {
    expect((await cli(["push", await tmp.file("live.json", live), ...at])).code).toBe(0);
    const nothing = await cli(["promote", ...at]);
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toContain('nothing to promote: no candidate is stored for "api.example.com" in local KV');

    const candidateFile = await tmp.file("candidate.json", tighter);
    const pushed = await cli(["push", candidateFile, "--candidate", ...at]);
    expect(pushed.code).toBe(0);
    expect(pushed.stdout).toContain('to "__edge-cors/candidate/api.example.com" in local KV');
    expect(pushed.stdout).toContain("edge-cors promote --key api.example.com --local");
    expect(stored("__edge-cors/candidate/api.example.com")).toBe(tighter);
    expect(stored("api.example.com")).toBe(live);

    expect(json<{ value: string }>(await cli(["pull", "--candidate", ...at, "--json"])).value).toBe(tighter);
    expect((await cli(["diff", candidateFile, "--candidate", ...at])).code).toBe(0);
    expect((await cli(["diff", candidateFile, ...at])).code).toBe(1);

    const promoted = await cli(["promote", ...at, "--json"]);
    expect(json(promoted)).toEqual({ promoted: true, key: "api.example.com", previousKey: "__edge-cors/previous/api.example.com" });
    expect(stored("api.example.com")).toBe(tighter);
    expect(stored("__edge-cors/candidate/api.example.com")).toBeNull();

    expect((await cli(["rollback", ...at])).code).toBe(0);
    expect(stored("api.example.com")).toBe(live);

    expect((await cli(["push", candidateFile, "--candidate", ...at])).code).toBe(0);
    expect(json(await cli(["discard", ...at, "--json"]))).toEqual({ discarded: true, key: "api.example.com" });
    expect(stored("__edge-cors/candidate/api.example.com")).toBeNull();
    expect(stored("api.example.com")).toBe(live);
    expect((await cli(["discard", ...at])).code).toBe(1);
  });

  it("refuses an invalid candidate on push, and on promote one written some other way", async () => {
    const invalid = await tmp.file("invalid.json", { origins: "*", credentials: true });
    const push = await cli(["push", invalid, "--candidate", ...at]);
    expect(push.code).toBe(1);
    expect(stored("__edge-cors/candidate/api.example.com")).toBeNull();

    const put = spawnSync(
      process.execPath,
      [join(ROOT, "node_modules/wrangler/bin/wrangler.js"), "kv", "key", "put", "__edge-cors/candidate/api.example.com", '{"origins": "*", "credentials": true}', "--binding", "CORS_POLICY", "--local", "--persist-to", join(tmp.dir, "state")],
      { cwd: ROOT, encoding: "utf8", env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false" } },
    );
    expect(put.status, put.stderr).toBe(0);
    const before = stored("api.example.com");
    const promote = await cli(["promote", ...at]);
    expect(promote.code).toBe(1);
    expect(promote.stderr).toContain("not promoted: the candidate of");
    expect(stored("api.example.com")).toBe(before);
    expect((await cli(["promote", "--candidate", ...at])).code).toBe(2);
  });
});
