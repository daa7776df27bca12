/**
 * The CORS decision for one request: pure, so the worker, the CLI's
 * `explain` and the benchmarks all get the very same answer.
 */
import { rulesFor, type CompiledPolicy, type CompiledRules, type HeaderList } from "./compile.js";
import { isToken, parseHeaderList } from "./headers.js";

/** What a request carries that CORS looks at. */
export interface CorsRequest {
  method: string;
  url: URL;
  /** The `Origin` header, or null when absent. */
  origin: string | null;
  /** `Access-Control-Request-Method`, or null when absent. */
  requestMethod: string | null;
  /** `Access-Control-Request-Headers`, or null when absent. */
  requestHeaders: string | null;
}

/** Why a request gets no CORS access: the rule, and what it is about. */
export interface Refusal {
  rule: "no-policy" | "origin" | "method" | "header";
  /** JSON path of the policy field that refused, when there is one. */
  field: string | null;
  message: string;
}

export type PreflightDecision =
  | { kind: "preflight"; allowed: true; headers: HeaderList; vary: string }
  | { kind: "preflight"; allowed: false; refusal: Refusal; vary: string };

export type ForwardDecision =
  | { kind: "forward"; allowed: true; headers: HeaderList; vary: string | null }
  | { kind: "forward"; allowed: false; refusal: Refusal | null; vary: string | null };

export type Decision = PreflightDecision | ForwardDecision;

const PREFLIGHT_VARY = "Access-Control-Request-Method, Access-Control-Request-Headers";
const PREFLIGHT_VARY_ORIGIN = `Origin, ${PREFLIGHT_VARY}`;
const NO_POLICY: Refusal = { rule: "no-policy", field: null, message: "no valid policy is loaded for this host" };

export function isPreflight(request: CorsRequest): boolean {
  return request.method === "OPTIONS" && request.origin !== null && request.requestMethod !== null;
}

/**
 * Decides a request. `policy` is null when no valid policy was ever loaded:
 * then the edge fails closed, refusing preflights and adding no CORS headers.
 */
export function decide(policy: CompiledPolicy | null, request: CorsRequest): Decision {
  const rules = policy && rulesFor(policy, request.url.pathname);
  const vary = rules?.isPublic ? null : "Origin";
  const origin = request.origin;
  if (origin === null || origin === request.url.origin) {
    return { kind: "forward", allowed: false, refusal: null, vary };
  }
  if (isPreflight(request)) {
    if (!rules) return { kind: "preflight", allowed: false, refusal: NO_POLICY, vary: PREFLIGHT_VARY_ORIGIN };
    return decidePreflight(rules, origin, request.requestMethod!, request.requestHeaders);
  }
  if (!rules) return { kind: "forward", allowed: false, refusal: NO_POLICY, vary };
  if (!originAllowed(rules, origin)) {
    return { kind: "forward", allowed: false, refusal: originRefusal(rules, origin), vary };
  }
  return { kind: "forward", allowed: true, headers: actualHeaders(rules, origin), vary };
}

/** Decides a preflight, reusing the answer for a request seen before. */
export function decidePreflight(
  rules: CompiledRules,
  origin: string,
  method: string,
  requestHeaders: string | null,
): PreflightDecision {
  const key = `${origin}\n${method}\n${requestHeaders ?? ""}`;
  const known = rules.memo.get(key);
  if (known) return known;
  const decision = preflight(rules, origin, method, requestHeaders);
  rules.memo.set(key, decision);
  return decision;
}

function preflight(rules: CompiledRules, origin: string, method: string, requestHeaders: string | null): PreflightDecision {
  const vary = rules.isPublic ? PREFLIGHT_VARY : PREFLIGHT_VARY_ORIGIN;
  const refuse = (refusal: Refusal): PreflightDecision => ({ kind: "preflight", allowed: false, refusal, vary });
  if (!originAllowed(rules, origin)) return refuse(originRefusal(rules, origin));
  const methodRefusal = checkMethod(rules, method);
  if (methodRefusal) return refuse(methodRefusal);
  const headerRefusal = requestHeaders === null ? null : checkHeaders(rules, requestHeaders);
  if (headerRefusal) return refuse(headerRefusal);
  const headers: HeaderList = [["Access-Control-Allow-Origin", rules.isPublic ? "*" : origin], ...rules.preflightHeaders];
  return { kind: "preflight", allowed: true, headers, vary };
}

function originAllowed(rules: CompiledRules, origin: string): boolean {
  return rules.origins === "*" || rules.origins.matches(origin);
}

function actualHeaders(rules: CompiledRules, origin: string): HeaderList {
  return [["Access-Control-Allow-Origin", rules.isPublic ? "*" : origin], ...rules.actualHeaders];
}

function originRefusal(rules: CompiledRules, origin: string): Refusal {
  return {
    rule: "origin",
    field: `${rules.source}.origins`,
    message: `origin ${describe(origin)} is not listed in ${rules.source}.origins and matches none of its patterns`,
  };
}

function checkMethod(rules: CompiledRules, method: string): Refusal | null {
  const field = `${rules.source}.methods`;
  if (!isToken(method)) return { rule: "method", field, message: `requested method ${describe(method)} is not a valid method` };
  if (rules.methods === "*" || rules.methods.has(method)) return null;
  return { rule: "method", field, message: `method ${method} is not listed in ${field}` };
}

function checkHeaders(rules: CompiledRules, value: string): Refusal | null {
  const field = `${rules.source}.allowHeaders`;
  const names = parseHeaderList(value);
  if (names === null) {
    return { rule: "header", field, message: `Access-Control-Request-Headers ${describe(value)} is not a list of header names` };
  }
  for (const name of names) {
    if (rules.allowHeaders.has(name)) continue;
    if (rules.anyHeader && name !== "authorization") continue;
    const why = rules.anyHeader ? ` ("*" never covers authorization)` : "";
    return { rule: "header", field, message: `request header ${name} is not listed in ${field}${why}` };
  }
  return null;
}

/** A request value for a log line: JSON-quoted and cut short. */
function describe(value: string): string {
  return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);
}
