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
    // A public answer is the same for everyone and caches may hand it to anyone, so it carries `*` even without Origin.
    if (rules?.isPublic) return { kind: "forward", allowed: true, headers: actualHeaders(rules, "*"), vary };
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
  const scope = refusingScope(rules, (part) => !originAllowed(part, origin));
  return {
    rule: "origin",
    field: `${scope.source}.origins`,
    message: `origin ${describe(origin)} is not listed in ${scope.source}.origins and matches none of its patterns${ambiguity(rules)}`,
  };
}

/** The Fetch standard's preflight check lets these through whatever Access-Control-Allow-Methods says. */
const SAFELISTED_METHODS = new Set(["GET", "HEAD", "POST"]);

function checkMethod(rules: CompiledRules, method: string): Refusal | null {
  if (!isToken(method)) return { rule: "method", field: `${rules.source}.methods`, message: `requested method ${describe(method)} is not a valid method` };
  if (SAFELISTED_METHODS.has(method) || methodAllowed(rules, method)) return null;
  const field = `${refusingScope(rules, (part) => !methodAllowed(part, method)).source}.methods`;
  return { rule: "method", field, message: `method ${method} is not listed in ${field}${ambiguity(rules)}` };
}

function methodAllowed(rules: CompiledRules, method: string): boolean {
  return rules.methods === "*" || rules.methods.has(method);
}

function checkHeaders(rules: CompiledRules, value: string): Refusal | null {
  const names = parseHeaderList(value);
  if (names === null) {
    const field = `${rules.source}.allowHeaders`;
    return { rule: "header", field, message: `Access-Control-Request-Headers ${describe(value)} is not a list of header names` };
  }
  for (const name of names) {
    if (headerAllowed(rules, name)) continue;
    const scope = refusingScope(rules, (part) => !headerAllowed(part, name));
    const why = scope.anyHeader ? ` ("*" never covers authorization)` : "";
    return { rule: "header", field: `${scope.source}.allowHeaders`, message: `request header ${name} is not listed in ${scope.source}.allowHeaders${why}${ambiguity(rules)}` };
  }
  return null;
}

function headerAllowed(rules: CompiledRules, name: string): boolean {
  return rules.allowHeaders.has(name) || (rules.anyHeader && name !== "authorization");
}

/** For the combined rules of an ambiguous path, the scope that refuses; else the rules themselves. */
function refusingScope(rules: CompiledRules, refuses: (part: CompiledRules) => boolean): CompiledRules {
  return rules.parts?.find(refuses) ?? rules;
}

function ambiguity(rules: CompiledRules): string {
  return rules.parts ? ` (servers may read this path in several ways, so the rules of ${rules.source} all apply)` : "";
}

/** A request value for a log line: JSON-quoted and cut short. */
function describe(value: string): string {
  return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);
}
