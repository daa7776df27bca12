/**
 * Compilation turns a validated policy into lookup structures and ready-made
 * header values, so that a request does hash lookups and nothing else (an
 * origin list's very first lookup scans it instead: see `OriginMatcher`).
 */
import { intersectOrigins, OriginMatcher } from "./origin.js";
import type { PreflightDecision } from "./decide.js";
import { needsReading, normalizePath, pathReadings } from "./path.js";
import type { Policy, Rules } from "./policy.js";

export type HeaderList = ReadonlyArray<readonly [name: string, value: string]>;

export interface CompiledRules {
  /** JSON path of the scope these rules come from: `$` or `$.routes[N]` (several joined by ` & ` for an ambiguous path). */
  readonly source: string;
  /** For an ambiguous path, the scopes whose rules all apply; null for one scope. */
  readonly parts: readonly CompiledRules[] | null;
  readonly rules: Rules;
  /** `origins: "*"` without credentials: `Access-Control-Allow-Origin: *` and no `Vary: Origin`. */
  readonly isPublic: boolean;
  readonly origins: OriginMatcher | "*";
  readonly methods: ReadonlySet<string> | "*";
  /** Lowercase names; `*` is kept apart because it never covers Authorization. */
  readonly allowHeaders: ReadonlySet<string>;
  readonly anyHeader: boolean;
  /** Preflight answer headers other than `Access-Control-Allow-Origin`. */
  readonly preflightHeaders: HeaderList;
  /** Actual-response headers other than `Access-Control-Allow-Origin`. */
  readonly actualHeaders: HeaderList;
  /** Answers to preflights already decided, bounded. */
  readonly memo: Memo<PreflightDecision>;
}

export interface CompiledRoute {
  readonly path: string;
  readonly prefix: boolean;
  readonly rules: CompiledRules;
}

export interface CompiledPolicy {
  readonly rules: CompiledRules;
  readonly routes: readonly CompiledRoute[];
  /** The combined rules of the scopes an ambiguous path reads as, built once per set of scopes. */
  readonly combined: Memo<CompiledRules>;
}

/** Preflight answers kept per rules object; beyond this the oldest goes. */
export const MEMO_SIZE = 1024;
/** Longer keys (hostile headers) are decided every time rather than kept. */
export const MEMO_KEY_LIMIT = 1024;

export function compilePolicy(policy: Policy): CompiledPolicy {
  return {
    rules: compileRules(policy.rules, "$"),
    routes: policy.routes.map((route, index) => ({
      // Requests are matched on their normal form, so routes are too.
      path: normalizePath(route.path.endsWith("/*") ? route.path.slice(0, -1) : route.path),
      prefix: route.path.endsWith("/*"),
      rules: compileRules(route.rules, `$.routes[${index}]`),
    })),
    combined: new Memo(COMBINED_SIZE),
  };
}

/** Sets of scopes kept combined; an attacker can make only as many as the policy has subsets of routes. */
const COMBINED_SIZE = 64;

/**
 * The rules for a URL's pathname: the first matching route's, else the top
 * level's, matched on the path as servers read it. When servers may read it
 * in several ways that fall in different scopes, it gets only what all of
 * them allow, so no spelling is allowed more than the plain path.
 */
export function rulesFor(policy: CompiledPolicy, pathname: string): CompiledRules {
  if (!needsReading(pathname)) return scopeFor(policy, pathname);
  const scopes = [...new Set(pathReadings(pathname).map((path) => scopeFor(policy, path)))];
  if (scopes.length === 1) return scopes[0]!;
  const source = scopes.map((scope) => scope.source).join(" & ");
  let combined = policy.combined.get(source);
  if (!combined) {
    combined = compileRules(scopes.map((scope) => scope.rules).reduce(intersectRules), source, scopes);
    policy.combined.set(source, combined);
  }
  return combined;
}

function scopeFor(policy: CompiledPolicy, path: string): CompiledRules {
  for (const route of policy.routes) {
    if (route.prefix ? path.startsWith(route.path) : path === route.path) return route.rules;
  }
  return policy.rules;
}

/** Rules that allow only what both allow. */
export function intersectRules(a: Rules, b: Rules): Rules {
  return {
    origins: a.origins === "*" ? b.origins : b.origins === "*" ? a.origins : intersectOrigins(a.origins, b.origins),
    credentials: a.credentials && b.credentials,
    methods: intersectTokens(a.methods, b.methods, (method) => method, null),
    allowHeaders: intersectTokens(a.allowHeaders, b.allowHeaders, (name) => name.toLowerCase(), "authorization"),
    exposeHeaders: intersectTokens(a.exposeHeaders, b.exposeHeaders, (name) => name.toLowerCase(), null),
    maxAge: (a.maxAge ?? BROWSER_DEFAULT_MAX_AGE) <= (b.maxAge ?? BROWSER_DEFAULT_MAX_AGE) ? a.maxAge : b.maxAge,
    allowInsecureOriginsWithCredentials: a.allowInsecureOriginsWithCredentials && b.allowInsecureOriginsWithCredentials,
    blockCrossOriginWrites: a.blockCrossOriginWrites || b.blockCrossOriginWrites,
  };
}

/** Seconds a browser caches a preflight answer without `Access-Control-Max-Age`. */
const BROWSER_DEFAULT_MAX_AGE = 5;

/** The names both lists allow; `"*"` allows any name except `notCovered`. */
function intersectTokens(a: string[], b: string[], key: (token: string) => string, notCovered: string | null): string[] {
  const allows = (list: string[], token: string) => {
    const name = key(token);
    return list.some((other) => key(other) === name) || (list.includes("*") && name !== notCovered);
  };
  const both = a.filter((token) => token !== "*" && allows(b, token));
  for (const token of b) if (token !== "*" && allows(a, token) && !both.some((kept) => key(kept) === key(token))) both.push(token);
  return a.includes("*") && b.includes("*") ? ["*", ...both] : both;
}

function compileRules(rules: Rules, source: string, parts: readonly CompiledRules[] | null = null): CompiledRules {
  return {
    source,
    parts,
    rules,
    isPublic: rules.origins === "*" && !rules.credentials,
    origins: rules.origins === "*" ? "*" : new OriginMatcher(rules.origins),
    ...sharedParts(rules),
    memo: new Memo(MEMO_SIZE),
  };
}

/** What compiled rules hold beside their origins, which no request changes. */
type SharedParts = Pick<CompiledRules, "methods" | "allowHeaders" | "anyHeader" | "preflightHeaders" | "actualHeaders">;

/**
 * Shared parts already built, by what they are built from. The tenants of a
 * platform mostly differ in their origins alone, so 100,000 held policies
 * share a handful of these. Bounded: beyond the limit, parts are built apart.
 */
const builtParts = new Map<string, SharedParts>();
const BUILT_PARTS_LIMIT = 1024;

function sharedParts(rules: Rules): SharedParts {
  const key = JSON.stringify([rules.credentials, rules.methods, rules.allowHeaders, rules.exposeHeaders, rules.maxAge]);
  let parts = builtParts.get(key);
  if (!parts) {
    parts = buildParts(rules);
    // Long lists are rare and would make long keys: built apart, the map stays small.
    if (builtParts.size < BUILT_PARTS_LIMIT && key.length <= MEMO_KEY_LIMIT) builtParts.set(key, parts);
  }
  return parts;
}

function buildParts(rules: Rules): SharedParts {
  const allowHeaders = new Set(rules.allowHeaders.map((name) => name.toLowerCase()));
  const anyHeader = allowHeaders.delete("*");
  const preflightHeaders: [string, string][] = [];
  const actualHeaders: [string, string][] = [];
  if (rules.credentials) {
    preflightHeaders.push(["Access-Control-Allow-Credentials", "true"]);
    actualHeaders.push(["Access-Control-Allow-Credentials", "true"]);
  }
  if (rules.methods.length > 0) preflightHeaders.push(["Access-Control-Allow-Methods", rules.methods.join(", ")]);
  if (rules.allowHeaders.length > 0) {
    preflightHeaders.push(["Access-Control-Allow-Headers", rules.allowHeaders.join(", ")]);
  }
  if (rules.maxAge !== null) preflightHeaders.push(["Access-Control-Max-Age", String(rules.maxAge)]);
  if (rules.exposeHeaders.length > 0) {
    actualHeaders.push(["Access-Control-Expose-Headers", rules.exposeHeaders.join(", ")]);
  }
  return {
    methods: rules.methods.includes("*") ? "*" : new Set(rules.methods),
    allowHeaders,
    anyHeader,
    preflightHeaders,
    actualHeaders,
  };
}

/** A map that forgets its oldest entry once full. Made on first use: most of 100,000 held policies never need theirs. */
export class Memo<V> {
  private entries: Map<string, V> | null = null;
  constructor(readonly limit: number) {}

  get size(): number {
    return this.entries?.size ?? 0;
  }

  get(key: string): V | undefined {
    return this.entries?.get(key);
  }

  set(key: string, value: V): void {
    if (key.length > MEMO_KEY_LIMIT) return;
    const entries = (this.entries ??= new Map());
    if (entries.size >= this.limit) {
      const oldest = entries.keys().next();
      if (!oldest.done) entries.delete(oldest.value);
    }
    entries.set(key, value);
  }
}
