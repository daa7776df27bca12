/** The CLI as a user runs it: spawned processes, real files, exit codes and output. */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, cli, json, tempDir } from "./helpers.js";

const COMMANDS = ["validate", "explain", "push", "pull", "diff", "rollback", "promote", "discard", "check", "report", "schema"];
let tmp: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  tmp = await tempDir();
});
afterAll(() => tmp.remove());

describe("edge-cors", () => {
  it("lists its commands with --help and exits 0", async () => {
    const run = await cli(["--help"]);
    expect(run.code).toBe(0);
    for (const name of COMMANDS) expect(run.stdout).toMatch(new RegExp(`^  ${name} `, "m"));
  });

  it.each(COMMANDS)("%s --help shows its usage and exits 0, without doing anything", async (name) => {
    const run = await cli([name, "--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Usage: edge-cors ${name}`);
    expect(run.stdout).toContain("Example:");
  });

  it("exits 2 on usage errors, naming what is wrong", async () => {
    const cases: [string[], RegExp][] = [
      [[], /Usage: edge-cors COMMAND/],
      [["frobnicate"], /unknown command "frobnicate"/],
      [["validate"], /missing argument: edge-cors validate FILE/],
      [["validate", "examples/policy.json", "--frob"], /Unknown option '--frob'/],
      [["explain", "examples/policy.json"], /--origin is required/],
      [["explain", "examples/policy.json", "--origin", "https://*.example.org"], /one origin, not a pattern/],
      [["explain", "examples/policy.json", "--origin", "https://a.example.org", "--path", "api"], /--path must start with "\/"/],
      [["explain", "examples/policy.json", "--origin", "https://a.example.org", "--header", "X Y"], /is not a header name/],
      [["validate", "no/such/file.json"], /cannot read no\/such\/file.json: no such file/],
      [["push", "examples/policy.json", "--local", "--remote"], /--local or --remote, not both/],
      [["pull", "--key", "https://api.example.com"], /is not a hostname.*: use --key api\.example\.com$/m],
      [["pull", "--key", "API.Example.com"], /--key "API.Example.com" is not a hostname as the edge looks it up .*: use --key api\.example\.com$/m],
      [["push", "examples/policy.json", "--key", "api.example.com."], /no trailing dot.*: use --key api\.example\.com$/m],
      [["diff", "examples/policy.json", "--key", "bücher.example"], /punycode for IDN.*: use --key xn--bcher-kva\.example$/m],
      [["rollback", "--key", "api.example.com:8443"], /no port.*: use --key api\.example\.com$/m],
      [["push", "examples/policy.json", "--key", "__edge-cors/previous/default"], /keys under __edge-cors\/ are edge-cors's own/],
      [["pull", "--key", "a b"], /--key "a b" is not a hostname as the edge looks it up [^:]*$/m],
      [["schema", "extra"], /unexpected argument "extra"/],
    ];
    for (const [args, message] of cases) {
      const run = await cli(args);
      expect({ args, code: run.code }).toEqual({ args, code: 2 });
      expect(run.stderr).toMatch(message);
      expect(run.stdout).toBe("");
    }
  });

  it("colours only when asked: not in a pipe, not with NO_COLOR, yes with FORCE_COLOR", async () => {
    const bad = await tmp.file("colour.json", { origins: ["https://a.example.com/"] });
    const piped = await cli(["validate", bad]);
    expect(piped.stdout).not.toContain("\x1b[");
    const forced = await cli(["validate", bad], { FORCE_COLOR: "1" });
    expect(forced.stdout).toContain("\x1b[31minvalid\x1b[39m");
    const refused = await cli(["validate", bad], { FORCE_COLOR: "1", NO_COLOR: "1" });
    expect(refused.stdout).not.toContain("\x1b[");
  });

  it("colours on a terminal, unless NO_COLOR is set", () => {
    const bad = join(tmp.dir, "colour.json");
    // util-linux `script` runs the CLI on a pseudo-terminal; -e passes its exit code on.
    const onTty = (env: Record<string, string>) =>
      spawnSync("script", ["-qec", `node bin/edge-cors.mjs validate ${bad}`, "/dev/null"], {
        cwd: ROOT,
        encoding: "utf8",
        env: { ...process.env, NO_COLOR: "", FORCE_COLOR: "", TERM: "xterm", ...env },
      });
    const coloured = onTty({});
    expect(coloured.status).toBe(1);
    expect(coloured.stdout).toContain("\x1b[31minvalid\x1b[39m");
    const plain = onTty({ NO_COLOR: "1" });
    expect(plain.status).toBe(1);
    expect(plain.stdout).toContain("invalid");
    expect(plain.stdout).not.toContain("\x1b[");
  });
});

describe("edge-cors validate", () => {
  it("passes a valid policy with exit 0", async () => {
    const run = await cli(["validate", "examples/policy.json"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("examples/policy.json: valid (no problems)\n");
  });

  it("reports every problem at once, each with its JSON path and a fix, and exits 1", async () => {
    const file = await tmp.file("bad.json", {
      origins: ["https://app.example.com/", "HTTPS://B.example.com", "*"],
      credentials: true,
      methods: ["put", "TRACE"],
      maxAge: 90000,
      routes: [{ path: "/x", origins: "*" }],
    });
    const run = await cli(["validate", file]);
    expect(run.code).toBe(1);
    // credentials without blockCrossOriginWrites also warns.
    expect(run.stdout).toContain(`${file}: invalid (7 errors, 1 warning)`);
    const expected: [string, string][] = [
      ["$.origins[0]", 'fix: write "https://app.example.com"'],
      ["$.origins[1]", 'fix: write "https://b.example.com"'],
      ["$.origins[2]", 'fix: write "origins": "*" to allow any origin'],
      ["$.methods[0]", 'fix: write "PUT"'],
      ["$.methods[1]", "fix: remove TRACE"],
      ["$.maxAge", "fix: 600 (ten minutes) is a common choice"],
      ["$.routes[0].origins", "fix: list the origins, or set credentials to false"],
    ];
    const lines = run.stdout.split("\n");
    for (const [path, fix] of expected) {
      const at = lines.findIndex((line) => line.includes(`error   ${path} `));
      expect(at, `error at ${path}`).toBeGreaterThan(0);
      expect(lines[at + 1]).toContain(fix);
    }
  });

  it("shows warnings without failing, and fails on them with --strict", async () => {
    const file = await tmp.file("warn.json", { origins: ["https://a.example.com"], maxAge: 86400 });
    const run = await cli(["validate", file]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("valid (1 warning)");
    expect(run.stdout).toContain("warning $.maxAge  browsers cache a preflight for less than 86400 seconds: WebKit (Safari) at 600, Chromium at 7200");
    expect(run.stdout).toContain("fix: use at most 600");
    const strict = await cli(["validate", "--strict", file]);
    expect(strict.code).toBe(1);
  });

  it("checks several files and fails when any one is invalid; --json gives every problem", async () => {
    const bad = await tmp.file("bad-json.json", '{"origins": [');
    const run = await cli(["validate", "examples/policy.json", bad, "--json"]);
    expect(run.code).toBe(1);
    const result = json<{ ok: boolean; files: { file: string; ok: boolean; errors: { code: string; path: string; hint: string }[] }[] }>(run);
    expect(result.ok).toBe(false);
    expect(result.files.map((f) => [f.file, f.ok])).toEqual([["examples/policy.json", true], [bad, false]]);
    expect(result.files[1]!.errors).toEqual([expect.objectContaining({ code: "invalid-json", path: "$", hint: "check the file with a JSON linter" })]);
  });
});

describe("edge-cors explain", () => {
  it("shows an allowed preflighted request: both answers' exact headers, exit 0", async () => {
    const run = await cli([
      "explain", "examples/policy.json", "--origin", "http://localhost:3000", "--method", "put", "--path", "/api/items/1",
      "--header", "Content-Type: application/json", "--header", "Authorization", "--credentials",
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("PUT /api/items/1 from http://localhost:3000 with credentials");
    expect(run.stdout).toContain("  > Access-Control-Request-Headers: authorization,content-type\n");
    expect(run.stdout).toContain("edge answers 204 No Content");
    expect(run.stdout).toContain(
      [
        "  < Access-Control-Allow-Origin: http://localhost:3000",
        "  < Access-Control-Allow-Credentials: true",
        "  < Access-Control-Allow-Methods: GET, POST, PUT, DELETE",
        "  < Access-Control-Allow-Headers: Content-Type, Authorization",
        "  < Access-Control-Max-Age: 600",
        "  < Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
      ].join("\n"),
    );
    expect(run.stdout).toContain("  < Access-Control-Expose-Headers: X-Request-Id\n");
    expect(run.stdout).toContain("ALLOWED");
  });

  it("sends no preflight for a simple request", async () => {
    const run = await cli(["explain", "examples/policy.json", "--origin", "https://a.b.example.org", "--method", "POST", "--header", "Content-Type: text/plain"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("no preflight: a simple request");
    expect(run.stdout).toContain("< Access-Control-Allow-Origin: https://a.b.example.org");
  });

  it("names the refusing rule and the fix: origin, method, header, credentials on a public route", async () => {
    const cases: [string[], { rule: string; field: string; by: string; fix: RegExp }][] = [
      [["--origin", "https://evil.example"], { rule: "origin", field: "$.origins", by: "edge", fix: /^add "https:\/\/evil.example" to \$.origins$/ }],
      [["--origin", "https://app.example.com", "--method", "PATCH"], { rule: "method", field: "$.methods", by: "edge", fix: /^add "PATCH" to \$.methods$/ }],
      // A simple cross-site POST would reach the origin with the user's cookies: the example policy blocks it.
      [["--origin", "https://evil.example", "--method", "POST", "--header", "Content-Type: text/plain"], { rule: "cross-origin-write", field: "$.blockCrossOriginWrites", by: "edge", fix: /^add "https:\/\/evil.example" to the origins of \$, or set \$.blockCrossOriginWrites to false$/ }],
      [["--origin", "https://app.example.com", "--method", "PUT", "--header", "X-Custom"], { rule: "header", field: "$.allowHeaders", by: "edge", fix: /^add "X-Custom" to \$.allowHeaders$/ }],
      [["--origin", "https://evil.example", "--path", "/public/a", "--credentials"], { rule: "credentials", field: "$.routes[0].credentials", by: "browser", fix: /send the request without credentials/ }],
      // The public route does not set allowHeaders: the fix goes where the route takes it from.
      [["--origin", "https://evil.example", "--path", "/public/a", "--header", "X-Custom"], { rule: "header", field: "$.routes[0].allowHeaders", by: "edge", fix: /^add "X-Custom" to \$.allowHeaders \(which \$.routes\[0\] inherits\)/ }],
    ];
    for (const [args, expected] of cases) {
      const run = await cli(["explain", "examples/policy.json", ...args, "--json"]);
      expect({ args, code: run.code }).toEqual({ args, code: 1 });
      const { refusal, allowed } = json<{ allowed: boolean; refusal: { rule: string; field: string; by: string; fix: string } }>(run);
      expect(allowed).toBe(false);
      expect({ args, rule: refusal.rule, field: refusal.field, by: refusal.by }).toEqual({ args, rule: expected.rule, field: expected.field, by: expected.by });
      expect(refusal.fix).toMatch(expected.fix);
    }
  });

  it("with --candidate, explains both policies and names the change; the exit follows the enforced one", async () => {
    const candidate = await tmp.file("candidate.json", { origins: ["https://app.example.com"], credentials: true, blockCrossOriginWrites: true, methods: ["GET", "POST"] });
    const cases: [string[], string, number][] = [
      [["--origin", "https://app.example.com", "--method", "PUT"], "would refuse what is allowed today", 0],
      [["--origin", "https://a.example.org"], "would refuse what is allowed today", 0],
      [["--origin", "https://app.example.com"], "would answer with other CORS headers", 0],
      [["--origin", "https://evil.example"], "would answer exactly the same", 1],
    ];
    for (const [args, change, code] of cases) {
      const run = await cli(["explain", "examples/policy.json", "--candidate", candidate, ...args, "--json"]);
      const result = json<{ allowed: boolean; change: string; candidate: { allowed: boolean } }>(run);
      expect({ args, change: result.change, code: run.code }).toEqual({ args, change, code });
    }
    const text = await cli(["explain", "examples/policy.json", "--candidate", candidate, "--origin", "https://app.example.com", "--method", "PUT"]);
    expect(text.stdout).toContain(`under the candidate, ${candidate}:`);
    expect(text.stdout).toContain("the candidate would refuse what is allowed today");
    const invalid = await tmp.file("bad-candidate.json", { origins: "*", credentials: true });
    const refused = await cli(["explain", "examples/policy.json", "--candidate", invalid, "--origin", "https://app.example.com"]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain(`${invalid}: invalid`);
  });

  it("says a cross-origin write is refused at the edge and never forwarded", async () => {
    const run = await cli(["explain", "examples/policy.json", "--origin", "https://evil.example", "--method", "POST", "--header", "Content-Type: application/x-www-form-urlencoded"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("actual request  POST /, 403 Forbidden at the edge: a cross-origin write, never forwarded");
    expect(run.stdout).toContain("rule   cross-origin-write  ($.blockCrossOriginWrites)");
    const listed = await cli(["explain", "examples/policy.json", "--origin", "https://app.example.com", "--method", "POST", "--header", "Content-Type: text/plain"]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain("forwarded to the origin");
  });

  it("says the actual request is never sent when the preflight fails", async () => {
    const run = await cli(["explain", "examples/policy.json", "--origin", "https://app.example.com", "--method", "PATCH"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("edge answers 403 Forbidden");
    expect(run.stdout).toContain("actual request  not sent: the preflight failed");
    expect(run.stdout).toContain("REFUSED by the edge\n  rule   method  ($.methods)\n  why    method PATCH is not listed in $.methods\n  fix    add \"PATCH\" to $.methods");
  });

  it("states per engine how long a passed preflight is cached: each caps Access-Control-Max-Age differently", async () => {
    const cached = async (policy: object) => {
      const file = await tmp.file("explain-max-age.json", policy);
      const run = await cli(["explain", file, "--origin", "https://app.example.com", "--method", "PUT", "--json"]);
      expect(run.code).toBe(0);
      return json<{ engines: { preflightCache: { engine: string; seconds: number }[] } }>(run).engines.preflightCache;
    };
    const base = { origins: ["https://app.example.com"], methods: ["PUT"] };
    // Chromium caps at 7,200 s, Firefox at 86,400 s, WebKit/Safari at 600 s.
    expect(await cached({ ...base, maxAge: 3600 })).toEqual([
      { engine: "Chromium", seconds: 3600 },
      { engine: "Firefox", seconds: 3600 },
      { engine: "WebKit/Safari", seconds: 600 },
    ]);
    expect((await cached({ ...base, maxAge: 86400 })).map((c) => c.seconds)).toEqual([7200, 86400, 600]);
    // Without Access-Control-Max-Age every engine keeps a preflight for 5 s.
    expect((await cached(base)).map((c) => c.seconds)).toEqual([5, 5, 5]);

    const file = await tmp.file("explain-max-age.json", { ...base, maxAge: 3600 });
    const run = await cli(["explain", file, "--origin", "https://app.example.com", "--method", "PUT"]);
    expect(run.stdout).toContain("cached for Chromium 3600 s, Firefox 3600 s, WebKit/Safari 600 s");
  });

  it("says what each engine's script sees of a refusal, and when WebKit drops Secure cookies", async () => {
    const refused = await cli(["explain", "examples/policy.json", "--origin", "https://evil.example"]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('the page\'s script sees only a TypeError: Chromium "Failed to fetch", Firefox "NetworkError when attempting to fetch resource.", WebKit/Safari "Load failed"');

    const webkitNote = "WebKit/Safari never sends a Secure cookie over plain http to localhost";
    const local = await cli(["explain", "examples/policy.json", "--origin", "http://localhost:3000", "--credentials"]);
    expect(local.code).toBe(0);
    expect(local.stdout).toContain(webkitNote);
    expect(local.stdout).not.toContain("sees only a TypeError");
    const secure = await cli(["explain", "examples/policy.json", "--origin", "https://app.example.com", "--credentials"]);
    expect(secure.stdout).not.toContain(webkitNote);
    const anonymous = await cli(["explain", "examples/policy.json", "--origin", "http://localhost:3000"]);
    expect(anonymous.stdout).not.toContain(webkitNote);
  });

  it("refuses to explain with an invalid policy, exit 1", async () => {
    const file = await tmp.file("explain-bad.json", { origins: "*", credentials: true });
    const run = await cli(["explain", file, "--origin", "https://a.example.com"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("the edge would never use this policy");
    expect(run.stdout).toContain("$.origins");
  });
});
