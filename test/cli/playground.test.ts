/**
 * The playground as a newcomer uses it: `npm start`'s script, the page in
 * Chromium, Firefox and WebKit (e2e/engines), a policy change with `edge-cors push --local`, and `explain`
 * naming the rule behind every refused call; then a report-only candidate
 * (playground/candidate.json) through push, the page's verdicts, report,
 * promote and rollback.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENGINES, engine, type Engine, type EngineName } from "../../e2e/engines/engine.js";
import { CASES, explainArgs } from "../../playground/cases.js";
import { ROOT, cli, json, tempDir } from "./helpers.js";
import type { HostReport } from "../../src/cli/report.js";

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
  /** Per case, how the stored candidate would change its answer (data-candidate), null without a candidate. */
  candidate: Record<string, string | null>;
  candidateStatus: string;
  /** The commands the page prints for the candidate: push, then report, promote, rollback. */
  candidateCommands: string;
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
    candidate: Object.fromEntries(sections.map((s) => [s.getAttribute("data-case"), s.getAttribute("data-candidate")])),
    candidateStatus: document.querySelector("#candidate-status")?.textContent ?? "",
    candidateCommands: (document.querySelector("#candidate-push")?.textContent ?? "") + "\\n" + (document.querySelector("#candidate-commands")?.textContent ?? ""),
  };
})()`;

/** The words of `edge-cors explain --candidate`'s change, as the page's data-candidate codes. */
const CHANGE_CODES: Record<string, string> = {
  "would refuse before forwarding a request that reaches the origin today": "blocked",
  "would refuse what is allowed today": "allowed-to-refused",
  "would allow what is refused today": "refused-to-allowed",
  "would answer with other CORS headers": "headers",
  "would answer exactly the same": "same",
};

/** One candidate change as `edge-cors report --json` lists it. */
type ReportChange = HostReport["candidate"][number];

describe("the playground", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let dev: ChildProcess;
  let output = "";
  let pageUrl: string;
  let edgeUrl: string;
  let otherUrl: string;
  let persist: string;
  let edgeLog: string;
  let policyFile: string;
  let candidateFile: string;

  beforeAll(async () => {
    tmp = await tempDir();
    persist = join(tmp.dir, "state");
    edgeLog = join(tmp.dir, "edge.log");
    const [edgePort, originPort, pagePort, otherPort, inspectorPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
    pageUrl = `http://localhost:${pagePort}`;
    edgeUrl = `http://127.0.0.1:${edgePort}`;
    otherUrl = `http://127.0.0.1:${otherPort}`;
    // The example policy, listing this run's page origin in place of http://localhost:3000.
    const example = readFileSync(join(ROOT, "examples/policy.json"), "utf8");
    const policy = (policyFile = await tmp.file("policy.json", example.replace(ORIGINS.page, pageUrl)));
    const candidate = readFileSync(join(ROOT, "playground/candidate.json"), "utf8");
    candidateFile = await tmp.file("candidate.json", candidate.replace(ORIGINS.page, pageUrl));
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
        EDGE_LOG: edgeLog,
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

  /**
   * `edge-cors explain --candidate` on each of the page's calls: how the candidate would change it (as
   * the page's data-candidate code), and the browser's verdict under the candidate.
   */
  let predicted: Promise<Record<string, { change: string; verdict: string }>> | undefined;
  function predict(): Promise<Record<string, { change: string; verdict: string }>> {
    predicted ??= Promise.all(
      cases.map(async (c) => {
        const run = await cli(["explain", ...explainArgs(c, c.from === "page" ? pageUrl : otherUrl, policyFile), "--candidate", candidateFile, "--json"]);
        const result = json<{ change: string; candidate: { allowed: boolean } }>(run);
        return [c.id, { change: CHANGE_CODES[result.change] ?? "unknown", verdict: result.candidate.allowed ? "allowed" : "refused" }] as const;
      }),
    ).then((entries) => Object.fromEntries(entries));
    return predicted;
  }

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

    // The candidate's verdicts on the page are checked in every engine; the report, promote and
    // rollback (three more wrangler runs and two reloads, about 30 s) in the last one only: they test
    // the edge and the CLI, which do not depend on the engine that made the calls. The candidate
    // stays stored from one engine to the next (pushing it again changes nothing), so the next
    // engine's first two tests also check that a reported candidate never changes an answer.
    const fullFlow = name === ENGINES[ENGINES.length - 1];

    it(`[${name}] shows what a pushed candidate would change on each call${fullFlow ? ", reports it, promotes it and rolls it back" : ""}`, async () => {
      const flags = ["--local", "--persist-to", persist];
      const predictions = predict(); // what explain says of each call, while wrangler stores the candidate
      const push = await cli(["push", candidateFile, "--candidate", ...flags]);
      expect(push.code, push.stdout + push.stderr).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 2200)); // POLICY_TTL_SECONDS=2
      const logStart = statSync(edgeLog).size;
      const shown = await show();

      // The page prints the commands to push, report, promote and roll back, with this run's --persist-to and log file.
      expect(shown.candidateCommands).toContain(`npx edge-cors push --local --persist-to ${persist} playground/candidate.json --candidate`);
      expect(shown.candidateCommands).toContain(`npx edge-cors report ${edgeLog}`);
      expect(shown.candidateCommands).toContain(`npx edge-cors promote --local --persist-to ${persist}`);
      expect(shown.candidateCommands).toContain(`npx edge-cors rollback --local --persist-to ${persist}`);
      expect(shown.candidateStatus).toContain("A candidate is stored under \"__edge-cors/candidate/default\"");
      // The responses do not change while the candidate is only reported.
      expect(shown.verdicts).toEqual(Object.fromEntries(cases.map((c) => [c.id, c.expected])));
      // Each call shows the change `edge-cors explain --candidate` predicts for it.
      const predicted = await predictions;
      const changes = (pick: (p: { change: string; verdict: string }) => string) => Object.fromEntries(Object.entries(predicted).map(([id, p]) => [id, pick(p)]));
      expect(shown.candidate).toEqual(changes((p) => p.change));
      // The candidate is chosen so that some calls change and others do not.
      expect(predicted["put-json"]!.change).toBe("allowed-to-refused");
      expect(predicted["simple-get"]!.change).toBe("headers");
      expect(predicted["other-origin"]!.change).toBe("same");
      expect(shown.text["put-json"]).toContain("The candidate: would refuse what is allowed today (method, $.methods)");
      expect(shown.text["simple-get"]).toContain("actual - Access-Control-Expose-Headers: X-Request-Id");
      expect(shown.text["patch"]).toContain("The candidate: would answer exactly the same");

      if (!fullFlow) return;

      // The page's calls, as the gateway logged them (EVENT_LOG_SECONDS=0: each at once).
      await new Promise((resolve) => setTimeout(resolve, 500));
      const lines = await tmp.file("page-calls.log", readFileSync(edgeLog, "utf8").slice(logStart));
      const report = await cli(["report", lines, "--json"]);
      expect(report.code, report.stdout + report.stderr).toBe(1); // the candidate would refuse an allowed call
      const hosts = json<{ hosts: { host: string; candidate: ReportChange[] }[]; candidateBreaks: boolean }>(report).hosts;
      const reported = hosts.flatMap((h) => h.candidate).map((c) => ({ change: c.change, route: c.route, origin: c.origin, rule: c.rule, count: c.count }));
      // Each call is made twice: by the browser, then by the page server's replay that shows the edge's headers.
      // The edge loads the pushed candidate in the background, so the browser's first calls may come before it
      // has it: the replays, which come last, always count. PUT's preflight comes late enough for both.
      const count = (change: string, route: string, origin: string) =>
        reported.filter((c) => c.change === change && c.route === route && c.origin === origin).reduce((sum, c) => sum + c.count, 0);
      // PUT's preflight, browser's and replay's: the candidate's methods no longer list PUT.
      expect(reported).toContainEqual({ change: "allowed-to-refused", route: "$", origin: pageUrl, rule: "method", count: 2 });
      // simple-get, credentialed and the PUT itself: no more Access-Control-Expose-Headers.
      expect(count("headers", "$", pageUrl)).toBeGreaterThanOrEqual(3);
      expect(count("headers", "$", pageUrl)).toBeLessThanOrEqual(6);
      // public-route and public-route-credentials: the route inherits the top-level exposeHeaders.
      expect(count("headers", "$.routes[0]", otherUrl)).toBeGreaterThanOrEqual(2);
      expect(count("headers", "$.routes[0]", otherUrl)).toBeLessThanOrEqual(4);
      // Nothing else: the calls explain says the candidate answers the same for are not in the report.
      expect(reported.every((c) => (c.change === "allowed-to-refused" && c.rule === "method") || (c.change === "headers" && c.rule === "exposeHeaders"))).toBe(true);
      const text = await cli(["report", lines]);
      expect(text.code).toBe(1);
      expect(text.stdout).toContain("would refuse what is allowed today: method ($.methods)");
      expect(text.stdout).toContain(`$, from ${pageUrl}, e.g. OPTIONS /api/items/1`);
      expect(text.stdout).toContain("the candidate would refuse requests the enforced policy allows");

      const promote = await cli(["promote", ...flags]);
      expect(promote.code, promote.stdout + promote.stderr).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 2200));
      const promoted = await show();
      // The calls now follow the candidate, as explain said they would.
      expect(promoted.verdicts).toEqual(changes((p) => p.verdict));
      expect(promoted.verdicts["put-json"]).toBe("refused");
      expect(promoted.text["put-json"]).toContain("preflight OPTIONS /api/items/1 → 403");
      expect(promoted.text["simple-get"]).toContain("X-Request-Id: (not readable)");
      expect(promoted.verdicts["public-route"]).toBe("allowed");
      // The candidate became the policy: none is stored any more.
      expect(promoted.candidateStatus).toContain("No candidate is stored");
      expect(Object.values(promoted.candidate).every((change) => change === null)).toBe(true);

      const rollback = await cli(["rollback", ...flags]);
      expect(rollback.code, rollback.stdout + rollback.stderr).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 2200));
      const back = await show();
      expect(back.verdicts).toEqual(Object.fromEntries(cases.map((c) => [c.id, c.expected])));
      expect(back.text["simple-get"]).toMatch(/X-Request-Id: [0-9a-f-]{36}/);
    }, 150_000);
  });
});
