/**
 * The edge-cors middleware for Hono: answers preflights itself and stamps
 * every other response with exactly the CORS headers the policy allows.
 *
 * @example
 * ```ts
 * const app = new Hono();
 * app.use(edgeCors({ policy: async () => compiled }));
 * app.all("*", (c) => fetch(c.req.raw));
 * ```
 */
import type { Context, MiddlewareHandler } from "hono";
import {
  compareDecisions,
  decide,
  varyWithOrigin,
  type BlockedDecision,
  type CompiledPolicy,
  type CorsRequest,
  type Decision,
  type Disagreement,
  type ForwardDecision,
  type PreflightDecision,
  type Refusal,
} from "../core/index.js";

export interface EdgeCorsOptions {
  /** The compiled policy for this request, or null to fail closed; a promise only when it must wait. */
  policy: (c: Context, url: URL) => CompiledPolicy | null | Promise<CompiledPolicy | null>;
  /**
   * The report-only candidate beside that policy, or null: it never changes
   * an answer, it is only compared with the enforced decision. Never waits.
   * `waited`: this request waited for its policy (a promise), so it has paid
   * for a load already.
   */
  candidate?: (c: Context, url: URL, waited: boolean) => CompiledPolicy | null;
  /** Told of every refused request, and of every request the candidate would answer otherwise. */
  onEvent?: (event: DecisionEvent, c: Context) => void;
}

export interface DecisionEvent {
  request: CorsRequest;
  policy: CompiledPolicy | null;
  decision: Decision;
  /** Why the enforced policy refused, when it did. */
  refusal: Refusal | null;
  candidate: { policy: CompiledPolicy; disagreement: Disagreement } | null;
}

export function edgeCors(options: EdgeCorsOptions): MiddlewareHandler {
  return async function edgeCorsMiddleware(c, next) {
    const headers = c.req.raw.headers;
    const request = new IncomingRequest(c.req.method, new URL(c.req.url), headers);
    const found = options.policy(c, request.url);
    // Awaiting only a real promise keeps the steady state (a policy in memory) free of a microtask turn.
    const waited = found instanceof Promise;
    const policy = waited ? await found : found;
    const decision = decide(policy, request);
    if (options.onEvent) {
      const refusal = decision.allowed ? null : decision.refusal;
      // Without an enforced policy the edge fails closed, and there is nothing to compare with.
      const candidate = policy && options.candidate ? compareCandidate(options.candidate(c, request.url, waited), request, decision) : null;
      if (refusal || candidate) options.onEvent({ request, policy, decision, refusal, candidate }, c);
    }
    if (decision.kind === "preflight") return preflightResponse(decision);
    if (decision.kind === "blocked") return blockedResponse(decision);
    await next();
    const response = stamp(c.res, decision);
    if (response !== c.res) {
      // Hono's setter copies the old response's headers onto the new one; clearing first keeps only ours.
      c.res = undefined;
      c.res = response;
    }
  };
}

/** What CORS looks at in an incoming request. */
class IncomingRequest implements CorsRequest {
  readonly origin: string | null;
  readonly requestMethod: string | null;
  readonly requestHeaders: string | null;

  constructor(
    readonly method: string,
    readonly url: URL,
    private readonly headers: Headers,
  ) {
    this.origin = headers.get("Origin");
    this.requestMethod = headers.get("Access-Control-Request-Method");
    this.requestHeaders = headers.get("Access-Control-Request-Headers");
  }

  // Read only under blockCrossOriginWrites: every other request is spared two header lookups.
  get fetchSite(): string | null {
    return this.headers.get("Sec-Fetch-Site");
  }

  get upgrade(): string | null {
    return this.headers.get("Upgrade");
  }
}

function compareCandidate(candidate: CompiledPolicy | null, request: CorsRequest, enforced: Decision): DecisionEvent["candidate"] {
  if (candidate === null) return null;
  const disagreement = compareDecisions(enforced, decide(candidate, request));
  return disagreement && { policy: candidate, disagreement };
}

/**
 * Answer headers per preflight decision, which the core's memo hands out again
 * and again: workerd takes several µs to build `Headers` from a list, but
 * copies a ready one (as `new Response` does) in a fraction of that.
 */
const preflightHeaders = new WeakMap<PreflightDecision, Headers>();

function preflightResponse(decision: PreflightDecision): Response {
  let headers = preflightHeaders.get(decision);
  if (!headers) {
    headers = decision.allowed
      ? new Headers(decision.headers as [string, string][])
      : new Headers({ "Content-Type": "text/plain; charset=utf-8" });
    headers.set("Vary", decision.vary);
    preflightHeaders.set(decision, headers);
  }
  if (!decision.allowed) return new Response("CORS preflight refused\n", { status: 403, headers });
  return new Response(null, { status: 204, headers });
}

/** A write refused before forwarding: a short reason, and no CORS headers, so no page can read it. */
function blockedResponse(decision: BlockedDecision): Response {
  const headers = new Headers({ "Content-Type": "text/plain; charset=utf-8" });
  if (decision.vary !== null) headers.set("Vary", decision.vary);
  return new Response("cross-origin write refused: the policy does not allow this origin\n", { status: 403, headers });
}

/**
 * The origin's response with the edge's CORS headers in place of its own.
 * A 101 WebSocket upgrade is returned untouched.
 */
export function stamp(response: Response, decision: ForwardDecision): Response {
  if (response.status === 101) return response;
  const stamped = new Response(response.body, response);
  const out = stamped.headers;
  const theirs: string[] = [];
  for (const name of out.keys()) if (name.startsWith("access-control-")) theirs.push(name);
  for (const name of theirs) out.delete(name);
  if (decision.allowed) for (const [name, value] of decision.headers) out.set(name, value);
  if (decision.vary !== null) out.set("Vary", varyWithOrigin(out.get("Vary")));
  return stamped;
}
