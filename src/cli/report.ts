/**
 * `edge-cors report`: what the edge refused, and what a report-only
 * candidate would change, read from the edge's own log lines.
 *
 * It reads the JSON lines `wrangler dev` prints, `wrangler tail --format
 * json` (one event object over several lines, the edge's lines inside
 * `logs[].message`), and Workers Logs exports of the same events, one after
 * another or in a JSON array. Anything else is skipped and counted; a
 * malformed line is never fatal.
 */
import { readFile } from "node:fs/promises";
import { EXIT_OK, EXIT_REFUSED, UsageError, type Command } from "./command.js";
import type { Output } from "./output.js";

/** An aggregated event line as the edge logs it (src/worker/telemetry.ts). */
interface EventLine {
  event: "cors-event";
  kind: string;
  host: string;
  route: string;
  origin: string | null;
  method: string;
  path?: string;
  rule: string;
  field: string | null;
  count: number;
}

/** Candidate changes that break a client working today: enforcing the candidate would refuse it. */
const BREAKING = new Set(["candidate-allowed-to-refused", "candidate-blocked"]);
const TOP_ORIGINS = 5;

export interface Report {
  hosts: HostReport[];
  /** Events the edge counted without telling them apart (too many distinct ones within a minute). */
  unattributed: number;
  /** Whether enforcing the candidate would refuse something the enforced policy allows. */
  candidateBreaks: boolean;
  lines: { read: number; edge: number; skipped: number; malformed: number };
}

export interface HostReport {
  host: string;
  refusals: { rule: string; field: string | null; count: number; origins: { origin: string | null; count: number }[] }[];
  candidate: {
    change: string;
    route: string;
    origin: string | null;
    rule: string;
    field: string | null;
    count: number;
    breaks: boolean;
    sample: { method: string; path: string };
  }[];
}

/** Reads log text in any of the accepted shapes into the edge's own lines, counting what is not. */
export function edgeLines(text: string): { lines: Record<string, unknown>[]; read: number; skipped: number; malformed: number } {
  const lines: Record<string, unknown>[] = [];
  const counts = { read: 0, skipped: 0, malformed: 0 };
  const rows = text.split(/\r?\n/);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    if (row.trim() === "") continue;
    counts.read += 1;
    const single = parseJson(row.trim());
    if (single !== undefined) {
      collect(single, lines, counts);
      continue;
    }
    // A value printed over several lines ends at the first line that closes it at column 0.
    if (row === "{" || row === "[") {
      const close = row === "{" ? "}" : "]";
      const end = rows.indexOf(close, i + 1);
      const value = end === -1 ? undefined : parseJson(rows.slice(i, end + 1).join("\n"));
      if (value !== undefined) {
        counts.read += end - i;
        collect(value, lines, counts);
        i = end;
        continue;
      }
    }
    if (row.trimStart().startsWith("{")) counts.malformed += 1;
    else counts.skipped += 1;
  }
  return { lines, ...counts };
}

function parseJson(text: string): unknown {
  if (!(text.startsWith("{") || text.startsWith("["))) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The edge's lines in a value: the line itself, or those inside a tail event's logs, or in an array of either. */
function collect(value: unknown, lines: Record<string, unknown>[], counts: { skipped: number }): void {
  if (Array.isArray(value)) {
    for (const item of value) collect(item, lines, counts);
    return;
  }
  if (!isObject(value)) return void (counts.skipped += 1);
  if (typeof value.event === "string" && typeof value.level === "string") return void lines.push(value);
  if (!Array.isArray(value.logs)) return void (counts.skipped += 1);
  for (const log of value.logs) {
    const message = isObject(log) && Array.isArray(log.message) ? log.message : [];
    for (const part of message) {
      const inner = typeof part === "string" ? parseJson(part) : part;
      if (isObject(inner) && typeof inner.event === "string") lines.push(inner);
    }
  }
}

export function buildReport(text: string): Report {
  const { lines, ...counts } = edgeLines(text);
  const hosts = new Map<string, HostReport>();
  let unattributed = 0;
  for (const line of lines) {
    if (line.event === "cors-events-overflow") unattributed += Number(line.count) || 0;
    if (!isEventLine(line)) continue;
    let host = hosts.get(line.host);
    if (!host) hosts.set(line.host, (host = { host: line.host, refusals: [], candidate: [] }));
    if (line.kind === "refused") addRefusal(host, line);
    else addCandidate(host, line);
  }
  const sorted = [...hosts.values()].sort((a, b) => a.host.localeCompare(b.host));
  for (const host of sorted) {
    host.refusals.sort((a, b) => b.count - a.count);
    for (const refusal of host.refusals) refusal.origins = refusal.origins.sort((a, b) => b.count - a.count).slice(0, TOP_ORIGINS);
    host.candidate.sort((a, b) => Number(b.breaks) - Number(a.breaks) || b.count - a.count);
  }
  return {
    hosts: sorted,
    unattributed,
    candidateBreaks: sorted.some((host) => host.candidate.some((change) => change.breaks)),
    lines: { read: counts.read, edge: lines.length, skipped: counts.skipped, malformed: counts.malformed },
  };
}

function addRefusal(host: HostReport, line: EventLine): void {
  let refusal = host.refusals.find((r) => r.rule === line.rule && r.field === line.field);
  if (!refusal) host.refusals.push((refusal = { rule: line.rule, field: line.field, count: 0, origins: [] }));
  refusal.count += line.count;
  const origin = refusal.origins.find((o) => o.origin === line.origin);
  if (origin) origin.count += line.count;
  else refusal.origins.push({ origin: line.origin, count: line.count });
}

function addCandidate(host: HostReport, line: EventLine): void {
  const change = line.kind.replace(/^candidate-/, "");
  const same = host.candidate.find((c) => c.change === change && c.route === line.route && c.origin === line.origin && c.rule === line.rule);
  if (same) {
    same.count += line.count;
    return;
  }
  host.candidate.push({
    change,
    route: line.route,
    origin: line.origin,
    rule: line.rule,
    field: line.field,
    count: line.count,
    breaks: BREAKING.has(line.kind),
    sample: { method: line.method, path: line.path ?? "/" },
  });
}

function isEventLine(line: Record<string, unknown>): line is Record<string, unknown> & EventLine {
  return line.event === "cors-event" && typeof line.kind === "string" && typeof line.host === "string" && typeof line.count === "number";
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The `edge-cors explain` command that shows one change side by side. */
function explainCommandFor(change: HostReport["candidate"][number]): string {
  const quote = (value: string) => (/^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`);
  const origin = change.origin ?? "null";
  return `npx edge-cors explain enforced.json --candidate candidate.json --origin ${quote(origin)} --method ${quote(change.sample.method)} --path ${quote(change.sample.path)}`;
}

const CHANGES: Record<string, string> = {
  "allowed-to-refused": "would refuse what is allowed today",
  blocked: "would refuse before forwarding a write that reaches the origin today",
  "refused-to-allowed": "would allow what is refused today",
  unblocked: "would let through a write refused today",
  headers: "would answer with other CORS headers",
};

function print(report: Report, out: Output): void {
  const { red, green, yellow, dim, bold } = out.color;
  if (report.hosts.length === 0) out.line("no refusals and no candidate changes in these lines");
  for (const host of report.hosts) {
    out.line(bold(host.host));
    if (host.refusals.length > 0) {
      out.line("  refused, by rule:");
      for (const refusal of host.refusals) {
        out.line(`    ${String(refusal.count).padStart(7)}  ${refusal.rule}${refusal.field ? dim(`  (${refusal.field})`) : ""}`);
        for (const origin of refusal.origins) out.line(dim(`             ${String(origin.count).padStart(7)}  ${origin.origin ?? "(no Origin)"}`));
      }
    }
    if (host.candidate.length > 0) {
      out.line("  the candidate:");
      for (const change of host.candidate) {
        const what = `${CHANGES[change.change] ?? change.change}${change.change === "headers" ? ` (${change.rule})` : `: ${change.rule}${change.field ? ` (${change.field})` : ""}`}`;
        out.line(`    ${String(change.count).padStart(7)}  ${change.breaks ? red(what) : yellow(what)}`);
        out.line(dim(`             ${change.route}, from ${change.origin ?? "(no Origin)"}, e.g. ${change.sample.method} ${change.sample.path}`));
        out.line(dim(`             ${explainCommandFor(change)}`));
      }
    }
  }
  if (report.unattributed > 0) out.line(yellow(`${report.unattributed} more events were counted without their details (too many distinct ones within a minute)`));
  const { lines } = report;
  out.line(dim(`${lines.read} lines read: ${lines.edge} from the edge, ${lines.skipped} others skipped, ${lines.malformed} malformed`));
  out.line(report.candidateBreaks ? red("the candidate would refuse requests the enforced policy allows") : green("the candidate would refuse nothing the enforced policy allows"));
}

export const reportCommand: Command = {
  name: "report",
  summary: "what the edge refused, and what a candidate policy would change, from its log lines",
  usage: "edge-cors report [FILE…] [--json]",
  help: `Reads the edge's log lines from the files, or from stdin when none is given:
the JSON lines wrangler dev prints (npm start keeps them in .edge-cors/edge.log),
\`wrangler tail --format json\` output, or Workers Logs exports of the same events.
Prints, per host, refusals by rule with the top origins, and the report-only
candidate's changes by route, origin and change, each with a sample request and
the \`edge-cors explain\` command that shows it. Lines that are not the edge's
are skipped and counted.

Options:
  --json   print the report as one JSON document

Exit: 0 the candidate would refuse nothing the enforced policy allows (or there
is none), 1 it would, 2 usage error or unreadable file.

Example: gate a promote on it
  npx wrangler tail --format json > tail.json   # for a while, then Ctrl-C
  npx edge-cors report tail.json && npx edge-cors promote --remote`,
  options: {},
  positionals: { min: 0, max: Infinity },
  async run({ positionals }, out) {
    const texts: string[] = [];
    if (positionals.length === 0) texts.push(await readStdin());
    for (const file of positionals) {
      try {
        texts.push(await readFile(file, "utf8"));
      } catch (err) {
        throw new UsageError(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    const report = buildReport(texts.join("\n"));
    if (out.json) out.data(report);
    else print(report, out);
    return report.candidateBreaks ? EXIT_REFUSED : EXIT_OK;
  },
};

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
