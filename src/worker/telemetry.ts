/**
 * Decision telemetry: every refusal, and every request on which a report-only
 * candidate disagrees with the enforced policy, becomes an event.
 *
 * Each event is one Analytics Engine data point when `CORS_EVENTS` is bound.
 * Logs are aggregated in the isolate, because Workers Logs bill per line and a
 * flood of hostile origins must not become a flood of lines: each distinct
 * (host, kind, route, origin, rule) is logged at most once a minute, with its
 * count since its last line, and the distinct keys held are bounded, with
 * what overflows counted in one summary line. Counts are never lost: what a
 * line does not carry yet, a later line does.
 */
import { rulesFor, type CompiledPolicy, type CorsRequest, type Disagreement, type Refusal } from "../core/index.js";
import type { DecisionEvent } from "./cors.js";
import { clip, logInfo, type LogFields } from "./log.js";

export interface CorsEvent {
  /** `refused` by the enforced policy, or how the candidate would differ: `candidate-…`. */
  kind: "refused" | "candidate-allowed-to-refused" | "candidate-refused-to-allowed" | "candidate-headers" | "candidate-blocked" | "candidate-unblocked";
  host: string;
  /** The scope whose rules decided: `$` or `$.routes[N]`. */
  route: string;
  origin: string | null;
  method: string;
  /** The request's path: a sample, not part of what makes an event distinct. */
  path: string;
  /** The refusing rule (`origin`, `method`, `header`, `cross-origin-write`, `no-policy`), or the changed fields for `candidate-headers`. */
  rule: string;
  /** JSON path of the policy field behind it, when there is one. */
  field: string | null;
}

/** The slice of an Analytics Engine dataset binding the edge uses. */
export interface DataPointSink {
  writeDataPoint(point: { indexes?: string[]; blobs?: (string | null)[]; doubles?: number[] }): void;
}

/** How often one distinct event may be logged, unless EVENT_LOG_SECONDS says otherwise. */
export const LOG_INTERVAL_MS = 60_000;
/** Distinct events counted at once; beyond this they are counted together. */
export const MAX_EVENT_KEYS = 500;

interface Tally {
  event: CorsEvent;
  /** Events since the last line. */
  count: number;
  /** When its last line was logged; 0 when never. */
  loggedAt: number;
}

export class Telemetry {
  private readonly tallies = new Map<string, Tally>();
  private overflow = { count: 0, loggedAt: 0 };
  private flushing = false;

  constructor(private readonly options: { now?: () => number; maxKeys?: number } = {}) {}

  /**
   * Records one event: a data point now (it does not block), and a log line
   * later, flushed through `waitUntil` after the response has gone out.
   */
  record(event: CorsEvent, to: { sink?: DataPointSink | undefined; waitUntil: (promise: Promise<unknown>) => void; intervalMs?: number }): void {
    if (to.sink) writePoint(to.sink, event);
    this.count(event);
    if (this.flushing) return;
    this.flushing = true;
    to.waitUntil(afterResponse().then(() => this.flush(to.intervalMs ?? LOG_INTERVAL_MS)));
  }

  /** Logs every tally whose interval has passed and that has something to say. */
  flush(intervalMs = LOG_INTERVAL_MS): void {
    this.flushing = false;
    const now = this.now();
    for (const [key, tally] of this.tallies) {
      if (now - tally.loggedAt < intervalMs) continue;
      if (tally.count === 0) {
        // Quiet for a whole minute: its place goes to another event.
        this.tallies.delete(key);
        continue;
      }
      logInfo("cors-event", eventFields(tally.event, tally.count));
      tally.count = 0;
      tally.loggedAt = now;
    }
    if (this.overflow.count > 0 && now - this.overflow.loggedAt >= intervalMs) {
      logInfo("cors-events-overflow", { count: this.overflow.count, distinctHeld: this.tallies.size, reason: `more than ${this.maxKeys} distinct events within a minute` });
      this.overflow = { count: 0, loggedAt: now };
    }
  }

  private count(event: CorsEvent): void {
    const key = `${event.host}\n${event.kind}\n${event.route}\n${event.origin}\n${event.rule}`;
    const tally = this.tallies.get(key);
    if (tally) tally.count += 1;
    else if (this.tallies.size < this.maxKeys) this.tallies.set(key, { event, count: 1, loggedAt: 0 });
    else this.overflow.count += 1;
  }

  private get maxKeys(): number {
    return this.options.maxKeys ?? MAX_EVENT_KEYS;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}

/** The CORS_DEBUG line: one for every refusal, with its reason in full. */
export function logRefusal(refusal: Refusal, request: CorsRequest): void {
  logInfo("cors-refused", {
    origin: clip(request.origin),
    method: request.method,
    requestMethod: clip(request.requestMethod),
    path: clip(request.url.pathname),
    rule: refusal.rule,
    field: refusal.field,
    reason: refusal.message,
  });
}

/** The events one decision makes: its refusal, and how the candidate would differ. */
export function eventsOf({ request, policy, refusal, candidate }: DecisionEvent, host: string): CorsEvent[] {
  const base = { host, origin: clip(request.origin), method: request.method, path: clip(request.url.pathname) ?? "/" };
  const events: CorsEvent[] = [];
  if (refusal) events.push({ ...base, kind: "refused", route: routeOf(policy, request.url), rule: refusal.rule, field: refusal.field });
  if (candidate) {
    const { disagreement } = candidate;
    const cause = causeOf(disagreement, refusal);
    events.push({ ...base, kind: `candidate-${disagreement.change}`, route: routeOf(candidate.policy, request.url), ...cause });
  }
  return events;
}

/** What changes: the candidate's refusing rule, what it stops refusing, or the fields whose headers change. */
function causeOf(disagreement: Disagreement, enforcedRefusal: Refusal | null): { rule: string; field: string | null } {
  if (disagreement.change === "headers") return { rule: disagreement.fields.join(","), field: null };
  const decision = disagreement.decision;
  const refusal = decision.allowed ? enforcedRefusal : decision.refusal;
  return { rule: refusal?.rule ?? "none", field: refusal?.field ?? null };
}

function routeOf(policy: CompiledPolicy | null, url: URL): string {
  return policy ? rulesFor(policy, url.pathname).source : "$";
}

/** One data point: the host as index, the event's fields as blobs, its count as the double. */
function writePoint(sink: DataPointSink, event: CorsEvent): void {
  try {
    sink.writeDataPoint({
      indexes: [event.host],
      blobs: [event.kind, event.host, event.route, event.origin, event.method, event.rule, event.field, event.path],
      doubles: [1],
    });
  } catch {
    // Telemetry never fails a request; the log line still counts the event.
  }
}

function eventFields(event: CorsEvent, count: number): LogFields {
  return { kind: event.kind, host: event.host, route: event.route, origin: event.origin, method: event.method, rule: event.rule, field: event.field, path: event.path, count };
}

/** Resolves once the current request's response is on its way. */
function afterResponse(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
