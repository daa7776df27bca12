/**
 * `edge-cors report` on what the edge really prints: the lines of a
 * `wrangler dev` run this test drives (a policy and its candidate in local
 * KV), the same lines wrapped as `wrangler tail --format json` prints them,
 * and garbage.
 */
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedPolicies, startEdge, type Edge } from "../../e2e/edge.js";
import { buildReport } from "../../src/cli/report.js";
import { cli, json, tempDir } from "./helpers.js";

const A = "https://a.example";
const B = "https://b.example";
const EVIL = "https://evil.example";

let dir: Awaited<ReturnType<typeof tempDir>>;
let origin: Server;
let edge: Edge;
let devLog: string;

beforeAll(async () => {
  dir = await tempDir();
  origin = createServer((_req, res) => res.end("ok"));
  await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
  const originUrl = `http://127.0.0.1:${(origin.address() as { port: number }).port}`;
  // Requests to 127.0.0.1 have no key of their own: default's policy and default's candidate apply.
  await seedPolicies(dir.dir, {
    default: { origins: [A, B], methods: ["GET", "PUT"] },
    "__edge-cors/candidate/default": { origins: [A], methods: ["GET"] },
  });
  edge = await startEdge({ persistTo: dir.dir, originUrl, policyTtlSeconds: 30, vars: { EVENT_LOG_SECONDS: "0" } });
  const at = `http://127.0.0.1:${edge.port}`;
  // The first request loads the candidate behind its answer.
  await fetch(`${at}/warm-up`);
  const send = async (path: string, init: RequestInit) => (await fetch(`${at}${path}`, init)).arrayBuffer();
  for (let i = 0; i < 3; i++) await send("/items", { headers: { Origin: B } });
  for (let i = 0; i < 2; i++) await send("/items/1", { method: "OPTIONS", headers: { Origin: A, "Access-Control-Request-Method": "PUT" } });
  for (let i = 0; i < 4; i++) await send("/items", { headers: { Origin: EVIL } });
  // Lines are flushed just after each answer.
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && edge.log().filter((line) => line.includes('"cors-event"')).length < 9) await new Promise((r) => setTimeout(r, 100));
  devLog = await dir.file("dev.log", `${edge.log().join("\n")}\n`);
}, 120_000);

afterAll(async () => {
  await edge?.stop();
  origin?.close();
  await dir?.remove();
});

describe("edge-cors report", () => {
  it("on a real wrangler dev run: refusals by rule and origin, the candidate's changes, exit 1 when it would break a client", async () => {
    const run = await cli(["report", devLog, "--json"]);
    expect(run.code).toBe(1);
    const report = json<ReturnType<typeof buildReport>>(run);
    const host = report.hosts.find((entry) => entry.host === "127.0.0.1");
    expect(host?.refusals).toEqual([{ rule: "origin", field: "$.origins", count: 4, origins: [{ origin: EVIL, count: 4 }] }]);
    expect(host?.candidate.map(({ change, route, origin, rule, count, breaks, sample }) => ({ change, route, origin, rule, count, breaks, sample }))).toEqual([
      { change: "allowed-to-refused", route: "$", origin: B, rule: "origin", count: 3, breaks: true, sample: { method: "GET", path: "/items" } },
      { change: "allowed-to-refused", route: "$", origin: A, rule: "method", count: 2, breaks: true, sample: { method: "OPTIONS", path: "/items/1" } },
    ]);
    expect(report.candidateBreaks).toBe(true);
    expect(report.lines.skipped).toBeGreaterThan(0); // wrangler's own lines
    expect(report.lines.malformed).toBe(0);
  });

  it("prints the explain command for each change", async () => {
    const run = await cli(["report", devLog]);
    expect(run.stdout).toContain("would refuse what is allowed today: origin ($.origins)");
    expect(run.stdout).toContain("npx edge-cors explain enforced.json --candidate candidate.json --origin https://b.example --method GET --path /items");
    expect(run.stdout).toContain("the candidate would refuse requests the enforced policy allows");
  });

  it("on the same lines as wrangler tail --format json prints them, mixed with garbage", async () => {
    const edgeLines = (await import("node:fs")).readFileSync(devLog, "utf8").split("\n").filter((line) => line.startsWith("{"));
    const tailEvent = (message: string) =>
      JSON.stringify(
        { outcome: "ok", scriptName: "edge-cors", exceptions: [], logs: [{ message: [message], level: "log", timestamp: 1 }], eventTimestamp: 1, event: { request: { url: "https://x/", method: "GET", headers: {} } } },
        null,
        4,
      );
    const text = [
      "Successfully created tail, expires at 2026-11-22T20:00:00Z",
      ...edgeLines.map(tailEvent),
      "{ not json at all",
      "\u0000\u0001 binary noise",
      JSON.stringify([JSON.parse(tailEvent('{"level":"info","event":"cors-events-overflow","count":7}'))]),
    ].join("\n");
    const file = await dir.file("tail.json", text);
    const fromTail = json<ReturnType<typeof buildReport>>(await cli(["report", file, "--json"]));
    const fromDev = json<ReturnType<typeof buildReport>>(await cli(["report", devLog, "--json"]));
    expect(fromTail.hosts).toEqual(fromDev.hosts);
    expect(fromTail.unattributed).toBe(7);
    expect(fromTail.lines.malformed).toBe(1);
    expect(fromTail.lines.skipped).toBe(2);
  });

  it("on garbage: nothing to report, exit 0; an unreadable file is a usage error", async () => {
    const file = await dir.file("garbage.log", "\u0000\u00ff\n{{{{\n[1,2\nplain text\n");
    const run = await cli(["report", file, "--json"]);
    expect(run.code).toBe(0);
    expect(json<ReturnType<typeof buildReport>>(run)).toMatchObject({ hosts: [], candidateBreaks: false, lines: { read: 4, edge: 0, malformed: 1 } });
    const missing = await cli(["report", `${dir.dir}/missing.log`]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("cannot read");
  });

  it("a candidate that only changes headers or allows more does not fail the gate", () => {
    const line = (kind: string) => JSON.stringify({ level: "info", event: "cors-event", kind, host: "h", route: "$", origin: A, method: "GET", rule: "methods", field: null, path: "/", count: 2 });
    expect(buildReport([line("candidate-headers"), line("candidate-refused-to-allowed")].join("\n")).candidateBreaks).toBe(false);
    expect(buildReport(line("candidate-blocked")).candidateBreaks).toBe(true);
  });
});
