/**
 * How a candidate policy's decision differs from the enforced one's, for
 * report-only mode: the edge answers by the enforced policy and records
 * every way the candidate would have answered otherwise.
 */
import type { HeaderList } from "./compile.js";
import type { Decision } from "./decide.js";

/** The CORS headers whose change a report names, by the policy field behind each. */
const COMPARED: readonly [header: string, field: string][] = [
  ["Access-Control-Allow-Origin", "origins"],
  ["Access-Control-Allow-Credentials", "credentials"],
  ["Access-Control-Allow-Methods", "methods"],
  ["Access-Control-Allow-Headers", "allowHeaders"],
  ["Access-Control-Expose-Headers", "exposeHeaders"],
  ["Access-Control-Max-Age", "maxAge"],
];

export type Disagreement =
  /** The candidate refuses what the enforced policy allows: enforcing it would break a client. */
  | { change: "allowed-to-refused"; decision: Decision }
  /** The candidate refuses before forwarding a write the enforced policy lets through (blockCrossOriginWrites). */
  | { change: "blocked"; decision: Decision }
  /** The candidate lets through a write the enforced policy refuses before forwarding. */
  | { change: "unblocked"; decision: Decision }
  /** The candidate allows what the enforced policy refuses. */
  | { change: "refused-to-allowed"; decision: Decision }
  /** Both allow, with different CORS headers: the policy fields whose headers change. */
  | { change: "headers"; fields: string[]; decision: Decision };

/**
 * Preflight decisions come from each policy's memo, so the same pair comes
 * back request after request: each pair is compared once.
 */
const comparedPreflights = new WeakMap<Decision, { enforced: Decision; result: Disagreement | null }>();

/** How `candidate` differs from `enforced` for one request; null when it would answer the same. */
export function compareDecisions(enforced: Decision, candidate: Decision): Disagreement | null {
  if (candidate.kind !== "preflight") return compare(enforced, candidate);
  const known = comparedPreflights.get(candidate);
  if (known?.enforced === enforced) return known.result;
  const result = compare(enforced, candidate);
  comparedPreflights.set(candidate, { enforced, result });
  return result;
}

function compare(enforced: Decision, candidate: Decision): Disagreement | null {
  if (enforced === candidate) return null;
  if (candidate.kind === "blocked" && enforced.kind !== "blocked") return { change: "blocked", decision: candidate };
  if (enforced.kind === "blocked" && candidate.kind !== "blocked") return { change: "unblocked", decision: candidate };
  if (enforced.allowed && !candidate.allowed) return { change: "allowed-to-refused", decision: candidate };
  if (!enforced.allowed && candidate.allowed) return { change: "refused-to-allowed", decision: candidate };
  if (!enforced.allowed || !candidate.allowed) return null;
  const fields = changedFields(enforced.headers, candidate.headers);
  return fields.length === 0 ? null : { change: "headers", fields, decision: candidate };
}

/** Whether enforcing the candidate would break a client that works today. */
export function breaks(disagreement: Disagreement): boolean {
  return disagreement.change === "allowed-to-refused" || disagreement.change === "blocked";
}

function changedFields(a: HeaderList, b: HeaderList): string[] {
  const fields: string[] = [];
  for (const [header, field] of COMPARED) {
    if (valueOf(a, header) !== valueOf(b, header)) fields.push(field);
  }
  return fields;
}

function valueOf(headers: HeaderList, name: string): string | undefined {
  for (const [header, value] of headers) if (header === name) return value;
  return undefined;
}
