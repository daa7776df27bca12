/**
 * The playground as a newcomer uses it: `npm start`'s script, the page in
 * Chromium, Firefox and WebKit (e2e/engines), a policy change with `edge-cors push --local`, and `explain`
 * naming the rule behind every refused call.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENGINES, engine, type Engine, type EngineName } from "../../e2e/engines/engine.js";
import { CASES, explainArgs } from "../../playground/cases.js";
import { ROOT, cli, json, tempDir } from "./helpers.js";

const cases = CASES;
const ORIGINS = { page: "http://localhost:3000", other: "http://127.0.0.1:3001" };

describe("edge-cors explain on the playground's calls", () => {
  it("has allowed and refused calls to show", () => {
    expect(cases.filter((c) => c.expected === "allowed").length).toBeGreaterThanOrEqual(3);
    expect(cases.filter((c) => c.expected === "refused").length).toBeGreaterThanOrEqual(3);
  });

  it.each(cases.map((c) => [c.id, c] as const))("%s: the same verdict, and the refusing rule named", async (_id, testCase) => {
    const run = await cli(["explain", ...explainArgs(testCase, ORIGINS[testCase.from]), "--json"]);
    const result = json<{ allowed: boolean; refusal: { field: string; fix: string } | null }>(run);
    expect(result.allowed).toBe(testCase.expected === "allowed");
    expect(run.code).toBe(testCase.expected === "allowed" ? 0 : 1);
    if (testCase.expected === "refused") {
      expect(result.refusal?.field).toBe(testCase.refusedBy);
      expect(result.refusal?.fix).not.toBe("");
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** What the playground page showed once it was done: a verdict and the text of each case. */
interface Shown {
  state: string | null;
  status: string;
  verdicts: Record<string, string | null>;
  text: Record<string, string>;
}

/** Waits in the page until it has run every case (or 15 s), then reads what it shows. */
const READ_PAGE = `(async () => {
  const deadline = Date.now() + 15000;
  while (!document.body?.dataset.state && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  const sections = [...document.querySelectorAll("[data-case]")];
  return {
    state: document.body?.dataset.state ?? null,
    status: document.querySelector("#status")?.textContent ?? "",
    verdicts: Object.fromEntries(sections.map((s) => [s.getAttribute("data-case"), s.getAttribute("data-verdict")])),
    text: Object.fromEntries(sections.map((s) => [s.getAttribute("data-case"), s.textContent ?? ""])),
  };
})()`;

describe("the playground", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let dev: ChildProcess;
  let output = "";
  let pageUrl: string;
  let edgeUrl: string;
  let persist: string;

  beforeAll(async () => {
    tmp = await tempDir();
    persist = join(tmp.dir, "state");
    const [edgePort, originPort, pagePort, otherPort, inspectorPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
    pageUrl = `http://localhost:${pagePort}`;
    edgeUrl = `http://127.0.0.1:${edgePort}`;
    // The example policy, listing this run's page origin in place of http://localhost:3000.
    const example = readFileSync(join(ROOT, "examples/policy.json"), "utf8");
    const policy = await tmp.file("policy.json", example.replace(ORIGINS.page, pageUrl));
    dev = spawn(process.execPath, ["scripts/dev.mjs"], {
      cwd: ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        EDGE_PORT: String(edgePort),
        ORIGIN_PORT: String(originPort),
        PAGE_PORT: String(pagePort),
        OTHER_PORT: String(otherPort),
        INSPECTOR_PORT: String(inspectorPort),
        PERSIST_TO: persist,
        POLICY: policy,
      },
    });
    dev.stdout!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    dev.stderr!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    const deadline = Date.now() + 90_000;
    while (!output.includes("edge-cors is ready")) {
      if (Date.now() > deadline || dev.exitCode !== null) throw new Error(`the playground did not start:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });

  afterAll(async () => {
    if (dev?.pid && dev.exitCode === null) {
      const exited = new Promise((resolve) => dev.once("exit", resolve));
      process.kill(-dev.pid, "SIGTERM");
      await exited;
    }
    await tmp?.remove();
  });

  it("prints the URLs to open and answers the README's preflight", async () => {
    expect(output).toContain(`Playground:  ${pageUrl}/`);
    const res = await fetch(`${edgeUrl}/api`, { method: "OPTIONS", headers: { Origin: pageUrl, "Access-Control-Request-Method": "PUT" } });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(pageUrl);
  });

  // The engines take turns on the one playground: each pushes a policy and rolls it back.
  describe.each(ENGINES)("in %s", (name: EngineName) => {
    let browser: Engine;

    beforeAll(async () => {
      browser = await engine(name);
      await browser.start({ hosts: [] });
    });

    afterAll(async () => {
      await browser?.stop();
    });

    /** Opens the playground in a fresh context and reads what it shows; on a failure, says what the page saw. */
    async function show(): Promise<Shown> {
      const page = await browser.open(`${pageUrl}/`);
      try {
        const shown = await page.run<Shown>(READ_PAGE);
        expect(shown.state, `[${name}] ${shown.status}\n${await page.report()}`).toBe("done");
        return shown;
      } finally {
        await page.close();
      }
    }

    it(`[${name}] shows each call as the browser judged it, with the edge's headers`, async () => {
      const { verdicts: seen, text } = await show();
      expect(seen).toEqual(Object.fromEntries(cases.map((c) => [c.id, c.expected])));
      expect(text["put-json"]).toContain("access-control-allow-headers: Content-Type, Authorization");
      expect(text["put-custom-header"]).toContain("preflight OPTIONS /api/items/2 → 403");
      expect(text["put-custom-header"]).toContain("The browser does not send the actual request.");
      expect(text["put-custom-header"]).toContain("npx edge-cors explain examples/policy.json");
      expect(text["public-route-credentials"]).toContain("access-control-allow-origin: *");
      expect(text["simple-get"]).toMatch(/X-Request-Id: [0-9a-f-]{36}/);
      // blockCrossOriginWrites: the unlisted origin's form-style POST stops at the edge, before the origin.
      expect(text["cross-origin-write"]).toContain("POST /api/transfer → 403");
      expect(text["cross-origin-write"]).not.toMatch(/access-control-/i);
      expect(text["cross-origin-write"]).toContain('The edge\'s answer: "cross-origin write refused');
      expect(text["cross-origin-write"]).toContain("npx edge-cors explain examples/policy.json --origin http://127.0.0.1:");
    });

    it(`[${name}] shows a policy pushed with edge-cors push --local after a reload, and the rollback`, async () => {
      const allowCustom = readFileSync(join(ROOT, "playground/allow-x-custom.json"), "utf8").replace(ORIGINS.page, pageUrl);
      const file = await tmp.file("allow-x-custom.json", allowCustom);
      const push = await cli(["push", file, "--local", "--persist-to", persist]);
      expect(push.code, push.stdout + push.stderr).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 2200)); // POLICY_TTL_SECONDS=2
      const after = await show();
      expect(after.verdicts["put-custom-header"]).toBe("allowed");
      expect(after.text["put-custom-header"]).toContain("the stored policy differs");
      expect(after.verdicts["patch"]).toBe("refused");
      // The pushed policy keeps blockCrossOriginWrites: the unlisted origin's POST still stops at the edge.
      expect(after.text["cross-origin-write"]).toContain("POST /api/transfer → 403");

      const rollback = await cli(["rollback", "--local", "--persist-to", persist]);
      expect(rollback.code, rollback.stdout + rollback.stderr).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 2200));
      expect((await show()).verdicts["put-custom-header"]).toBe("refused");
    });
  });
});
