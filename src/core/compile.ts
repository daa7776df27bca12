/**
 * Compilation turns a validated policy into lookup structures and ready-made
 * header values, so that a request does hash lookups and nothing else.
 */
import { OriginMatcher } from "./origin.js";
import type { PreflightDecision } from "./decide.js";
import type { Policy, Rules } from "./policy.js";

export type HeaderList = ReadonlyArray<readonly [name: string, value: string]>;

export interface CompiledRules {
  /** JSON path of the scope these rules come from: `$` or `$.routes[N]`. */
  readonly source: string;
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
}

/** Preflight answers kept per rules object; beyond this the oldest goes. */
export const MEMO_SIZE = 1024;
/** Longer keys (hostile headers) are decided every time rather than kept. */
export const MEMO_KEY_LIMIT = 1024;

export function compilePolicy(policy: Policy): CompiledPolicy {
  return {
    rules: compileRules(policy.rules, "$"),
    routes: policy.routes.map((route, index) => ({
      path: route.path.endsWith("/*") ? route.path.slice(0, -1) : route.path,
      prefix: route.path.endsWith("/*"),
      rules: compileRules(route.rules, `$.routes[${index}]`),
    })),
  };
}

/** The rules for a path: the first matching route's, else the top level's. */
export function rulesFor(policy: CompiledPolicy, pathname: string): CompiledRules {
  for (const route of policy.routes) {
    if (route.prefix ? pathname.startsWith(route.path) : pathname === route.path) return route.rules;
  }
  return policy.rules;
}

function compileRules(rules: Rules, source: string): CompiledRules {
  const allowHeaders = new Set(rules.allowHeaders.map((name) => name.toLowerCase()));
  const anyHeader = allowHeaders.delete("*");
  const preflightHeaders: [string, string][] = [];
  const actualHeaders: [string, string][] = [];
  if (rules.credentials) {
    preflightHeaders.push(["Access-Control-Allow-Credentials", "true"]);
    actualHeaders.push(["Access-Control-Allow-Credentials", "true"]);
  }
  preflightHeaders.push(["Access-Control-Allow-Methods", rules.methods.join(", ")]);
  if (rules.allowHeaders.length > 0) {
    preflightHeaders.push(["Access-Control-Allow-Headers", rules.allowHeaders.join(", ")]);
  }
  if (rules.maxAge !== null) preflightHeaders.push(["Access-Control-Max-Age", String(rules.maxAge)]);
  if (rules.exposeHeaders.length > 0) {
    actualHeaders.push(["Access-Control-Expose-Headers", rules.exposeHeaders.join(", ")]);
  }
  return {
    source,
    rules,
    isPublic: rules.origins === "*" && !rules.credentials,
    origins: rules.origins === "*" ? "*" : new OriginMatcher(rules.origins),
    methods: rules.methods.includes("*") ? "*" : new Set(rules.methods),
    allowHeaders,
    anyHeader,
    preflightHeaders,
    actualHeaders,
    memo: new Memo(MEMO_SIZE),
  };
}

/** A map that forgets its oldest entry once full. */
export class Memo<V> {
  private readonly entries = new Map<string, V>();
  constructor(readonly limit: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  set(key: string, value: V): void {
    if (key.length > MEMO_KEY_LIMIT) return;
    if (this.entries.size >= this.limit) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, value);
  }
}
