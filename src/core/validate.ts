/**
 * Policy validation: every problem at once, each with the JSON path it is
 * about, a message and a one-line hint. It never throws on any input.
 */
import { isToken } from "./headers.js";
import { checkOrigin, isInsecure, isPlainSecure, patternDomain, type OriginProblem } from "./origin.js";
import { normalizePath, pathReadings } from "./path.js";
import { isPublicSuffix } from "./public-suffix.js";
import {
  DEFAULT_RULES,
  ENGINE_MAX_AGE,
  MAX_AGE_LIMIT,
  RULE_NAMES,
  type Policy,
  type Route,
  type RuleName,
  type Rules,
} from "./policy.js";

export type ProblemCode =
  | "invalid-json"
  | "too-large"
  | "wrong-type"
  | "unknown-field"
  | "missing-field"
  | "origin-not-canonical"
  | "origin-pattern"
  | "wildcard-in-origin-list"
  | "wildcard-origin-with-credentials"
  | "null-origin-with-credentials"
  | "public-suffix-pattern"
  | "wildcard-with-credentials"
  | "insecure-origin-with-credentials"
  | "not-a-token"
  | "forbidden-method"
  | "method-case"
  | "max-age-range"
  | "route-path"
  // Warnings: the policy works, but probably not as meant.
  | "max-age-capped"
  | "duplicate"
  | "null-origin"
  | "authorization-not-covered"
  | "route-path-spelling"
  | "file-origin"
  | "forbidden-request-header"
  | "response-header-in-allow-headers"
  | "never-exposed"
  | "cross-origin-writes-open";

export interface Problem {
  severity: "error" | "warning";
  code: ProblemCode;
  /** JSON path of the offending value, like `$.routes[0].origins[2]`. */
  path: string;
  message: string;
  hint: string;
}

export type ValidationResult =
  | { ok: true; policy: Policy; warnings: Problem[] }
  | { ok: false; errors: Problem[]; warnings: Problem[] };

/** KV values may be 25 MiB; a policy this large is a mistake, not a policy. Counted in UTF-8 bytes, as stored. */
export const MAX_POLICY_BYTES = 4 * 1024 * 1024;

const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);
/** `fetch()` uppercases these, so the lowercase spelling never matches. */
const NORMALIZED_METHODS = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);
/** An exact path, or a prefix ending in `/*` (`/*` alone matches every path). */
export const ROUTE_PATH = /^\/(?:[^?#*]*|(?:[^?#*]*\/)?\*)$/;

const ORIGIN_HINTS: Record<OriginProblem, string> = {
  "not-an-origin": 'write it as scheme://host[:port], like "https://app.example.com"',
  uppercase: "write the scheme and host in lowercase, as browsers send them",
  path: "remove the path: an origin ends after the host and port",
  "trailing-slash": "remove the trailing slash: browsers never send one",
  query: "remove the query: an origin ends after the host and port",
  fragment: "remove the fragment: an origin ends after the host and port",
  userinfo: "remove the user name and password",
  "default-port": "remove the default port: browsers leave it out",
  "bad-port": "use a port from 1 to 65535 with no leading zero",
  "bad-host": "use a host name of letters, digits and hyphens, an IPv4 address or a [IPv6] literal",
  "not-canonical": "write the origin exactly as a browser serializes it",
  "bad-pattern": 'a pattern is one "*" standing for whole leftmost labels: "https://*.example.org"',
  "pattern-over-ip": "patterns match host names, not IP addresses: list the origin instead",
};

/** Options of `validatePolicy`. */
export interface ValidateOptions {
  /**
   * True (the default): entries of the plain secure shape are cleared by one
   * regular expression. False: every entry goes through every check, which
   * is slower and must give the very same result (test/property/origin-fast.test.ts).
   */
  plainShortcut?: boolean;
  /**
   * True (the default): warnings are looked for too. False: errors only, as
   * the edge needs, which then skips hashing every origin to find repeats.
   * Errors never depend on warnings.
   */
  warnings?: boolean;
}

class Report {
  readonly plainShortcut: boolean;
  readonly warns: boolean;
  readonly errors: Problem[] = [];
  readonly warnings: Problem[] = [];
  constructor(options: ValidateOptions) {
    this.plainShortcut = options.plainShortcut ?? true;
    this.warns = options.warnings ?? true;
  }
  error(path: string, code: ProblemCode, message: string, hint: string): void {
    this.errors.push({ severity: "error", code, path, message, hint });
  }
  warn(path: string, code: ProblemCode, message: string, hint: string): void {
    if (this.warns) this.warnings.push({ severity: "warning", code, path, message, hint });
  }
}

/** Parses and validates a stored policy. */
export function parsePolicy(text: string, options: ValidateOptions = {}): ValidationResult {
  if (tooLarge(text)) {
    const problem: Problem = {
      severity: "error",
      code: "too-large",
      path: "$",
      message: `policy is more than the ${MAX_POLICY_BYTES} bytes allowed`,
      hint: "use subdomain patterns or split the policy by hostname",
    };
    return { ok: false, errors: [problem], warnings: [] };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    const problem: Problem = {
      severity: "error",
      code: "invalid-json",
      path: "$",
      message: `not valid JSON: ${err instanceof Error ? err.message : String(err)}`,
      hint: "check the file with a JSON linter",
    };
    return { ok: false, errors: [problem], warnings: [] };
  }
  return validatePolicy(json, options);
}

/**
 * Whether the UTF-8 form of `text` passes MAX_POLICY_BYTES, the limit the
 * worker reads KV values up to. A UTF-16 unit is at most 3 UTF-8 bytes, so
 * only long texts need encoding.
 */
function tooLarge(text: string): boolean {
  if (text.length > MAX_POLICY_BYTES) return true;
  return text.length > MAX_POLICY_BYTES / 3 && new TextEncoder().encode(text).byteLength > MAX_POLICY_BYTES;
}

/** Validates a policy document already parsed from JSON. */
export function validatePolicy(input: unknown, options: ValidateOptions = {}): ValidationResult {
  const report = new Report(options);
  const policy = readPolicy(input, report);
  if (report.errors.length > 0 || !policy) {
    return { ok: false, errors: report.errors, warnings: report.warnings };
  }
  return { ok: true, policy, warnings: report.warnings };
}

/** A scope's own fields as written, with where each value stands. */
interface Scope {
  path: string;
  values: Partial<Rules>;
  /** Index in the written list of each entry of `values.origins`; null when every written entry was kept, in order. */
  originIndexes: number[] | null;
  /** Indexes in `values.origins` of the entries not of the plain secure shape: the only ones a credentials check can refuse. */
  notPlain: number[];
  /** JSON path of each entry of the token lists in `values`, in the same order. */
  tokenPaths: Partial<Record<TokenField, string[]>>;
}

type TokenField = "methods" | "allowHeaders" | "exposeHeaders";

/** Tokens as read, each with the JSON path it stands at. */
interface Tokens {
  tokens: string[];
  paths: string[];
}

function readPolicy(input: unknown, report: Report): Policy | null {
  if (!isObject(input)) {
    report.error("$", "wrong-type", `policy must be a JSON object, not ${typeName(input)}`, 'start from {"origins": []}');
    return null;
  }
  for (const key of Object.keys(input)) {
    if (!RULE_NAMES.has(key) && key !== "routes" && key !== "$schema") unknownField(report, "$", key);
  }
  if (input.$schema !== undefined && typeof input.$schema !== "string") {
    report.error("$.$schema", "wrong-type", "$schema must be a string", "point it at the edge-cors JSON Schema");
  }
  if (!("origins" in input)) {
    report.error("$.origins", "missing-field", "origins is required", 'add "origins": [] and list the origins to allow');
  }
  const top = readScope(input, "$", report);
  const rules: Rules = { ...DEFAULT_RULES, origins: [], ...top.values };
  checkCombinations(rules, top, top, report);
  return { rules, routes: readRoutes(input.routes, rules, top, report) };
}

function readRoutes(value: unknown, base: Rules, top: Scope, report: Report): Route[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    report.error("$.routes", "wrong-type", `routes must be a list, not ${typeName(value)}`, 'write "routes": [{"path": "/public/*", ...}]');
    return [];
  }
  const routes: Route[] = [];
  value.forEach((item: unknown, index) => {
    const path = `$.routes[${index}]`;
    if (!isObject(item)) {
      report.error(path, "wrong-type", `a route must be an object, not ${typeName(item)}`, 'write {"path": "/public/*", ...}');
      return;
    }
    for (const key of Object.keys(item)) {
      if (!RULE_NAMES.has(key) && key !== "path") unknownField(report, path, key);
    }
    const routePath = readRoutePath(item.path, `${path}.path`, report);
    const own = readScope(item, path, report);
    const rules: Rules = { ...base, ...own.values };
    checkCombinations(rules, own, top, report);
    if (routePath !== null) routes.push({ path: routePath, rules });
  });
  return routes;
}

function readRoutePath(value: unknown, path: string, report: Report): string | null {
  if (value === undefined) {
    report.error(path, "missing-field", "a route needs a path", 'add "path": "/exact" or "path": "/prefix/*"');
    return null;
  }
  if (typeof value !== "string") {
    report.error(path, "wrong-type", `path must be a string, not ${typeName(value)}`, 'write "path": "/public/*"');
    return null;
  }
  if (!ROUTE_PATH.test(value)) {
    report.error(
      path,
      "route-path",
      `${quote(value)} is not an exact path or a prefix ending in /*`,
      'start with "/", use "*" only as the final "/*", and leave out any query',
    );
    return null;
  }
  const prefix = value.endsWith("/*") ? value.slice(0, -1) : value;
  if (pathReadings(prefix).length > 1 || normalizePath(prefix) !== prefix) {
    report.warn(path, "route-path-spelling", `${quote(value)} is not how servers read a path, so it is matched as ${quote(normalizePath(prefix) + value.slice(prefix.length))}`, "write the path with escapes only where needed, no dot segments, no empty segments and no ;parameters");
  }
  return value;
}

/** Reads the rule fields present in `object`, reporting each bad value. */
function readScope(object: Record<string, unknown>, path: string, report: Report): Scope {
  const scope: Scope = { path, values: {}, originIndexes: null, notPlain: [], tokenPaths: {} };
  const has = (name: RuleName) => object[name] !== undefined;
  if (has("origins")) readOrigins(object.origins, scope, report);
  for (const name of ["credentials", "allowInsecureOriginsWithCredentials", "blockCrossOriginWrites"] as const) {
    if (!has(name)) continue;
    const value = object[name];
    if (typeof value === "boolean") scope.values[name] = value;
    else report.error(`${path}.${name}`, "wrong-type", `${name} must be true or false, not ${typeName(value)}`, "write true or false, without quotes");
  }
  if (has("methods")) {
    const methods = readTokens(object.methods, `${path}.methods`, "method", report);
    if (methods) {
      const kept = checkMethods(methods, report);
      scope.values.methods = kept.tokens;
      scope.tokenPaths.methods = kept.paths;
    }
  }
  for (const name of ["allowHeaders", "exposeHeaders"] as const) {
    if (!has(name)) continue;
    const headers = readTokens(object[name], `${path}.${name}`, "header name", report);
    if (headers) {
      scope.values[name] = headers.tokens;
      scope.tokenPaths[name] = headers.paths;
      warnDeadHeaders(name, headers, report);
    }
  }
  if (has("maxAge")) {
    const maxAge = object.maxAge;
    if (typeof maxAge !== "number" || !Number.isInteger(maxAge) || maxAge < 0 || maxAge > MAX_AGE_LIMIT) {
      report.error(`${path}.maxAge`, typeof maxAge === "number" ? "max-age-range" : "wrong-type", `maxAge must be a whole number of seconds from 0 to ${MAX_AGE_LIMIT}, not ${typeName(maxAge)}`, "600 (ten minutes) is a common choice");
    } else {
      const capped = Object.entries(ENGINE_MAX_AGE).filter(([, cap]) => maxAge > cap);
      if (capped.length > 0) {
        const caps = capped.map(([engine, cap]) => `${engine} at ${cap}`).join(", ");
        const lowest = Math.min(...capped.map(([, cap]) => cap));
        report.warn(`${path}.maxAge`, "max-age-capped", `browsers cache a preflight for less than ${maxAge} seconds: ${caps}`, `use at most ${lowest} for the same behaviour in every browser`);
      }
      scope.values.maxAge = maxAge;
    }
  }
  return scope;
}

function readOrigins(value: unknown, scope: Scope, report: Report): void {
  const path = `${scope.path}.origins`;
  if (value === "*") {
    scope.values.origins = "*";
    return;
  }
  if (!Array.isArray(value)) {
    report.error(path, "wrong-type", `origins must be "*" or a list of origins, not ${typeName(value)}`, 'write "origins": ["https://app.example.com"]');
    return;
  }
  // Lists run to 100,000 entries, nearly all of the plain secure shape, which
  // one regular expression clears of every check: only the others are checked one by one.
  const notPlain = notPlainIndexes(value, report.plainShortcut);
  const isNotPlain = new Set(notPlain);
  // Repeats are only warned about: without warnings, no need to hash every entry.
  if (!report.warns || new Set(value).size === value.length) {
    const refused = new Set(notPlain.filter((index) => !checkEntry(value, index, path, report, null)));
    if (refused.size > 0) return keepOrigins(value, scope, (index) => !refused.has(index), isNotPlain);
    const entries = value.slice() as string[];
    scope.values.origins = entries;
    scope.notPlain = notPlain;
    return;
  }
  // Repeats: every entry in order, so that each problem is reported in the order of the list.
  const seen = new Set<string>();
  keepOrigins(value, scope, (index) => checkEntry(value, index, path, report, seen, !isNotPlain.has(index)), isNotPlain);
}

/**
 * The indexes of the entries that are not strings of the plain secure shape
 * (every index without the shortcut). A function of its own: V8 optimizes
 * this loop while a big list's first load runs it, and a small function is
 * optimized sooner and at a fraction of the cost (helper-thread CPU of a
 * first request at 20,000 entries: about 4.8 ms inside `readOrigins`, 1.9 ms here).
 */
function notPlainIndexes(list: unknown[], shortcut: boolean): number[] {
  const found: number[] = [];
  for (let index = 0; index < list.length; index++) {
    const item = list[index];
    if (!shortcut || typeof item !== "string" || !isPlainSecure(item)) found.push(index);
  }
  return found;
}

/**
 * Keeps the entries that `keep` accepts (never a hole), with their written
 * indexes: the slower way, for a list with problems. `keep` is called once
 * per index, in order.
 */
function keepOrigins(value: unknown[], scope: Scope, keep: (index: number) => boolean, isNotPlain: ReadonlySet<number>): void {
  const entries: string[] = [];
  const indexes: number[] = [];
  const notPlain: number[] = [];
  for (let index = 0; index < value.length; index++) {
    if (!(index in value) || !keep(index)) continue;
    if (isNotPlain.has(index)) notPlain.push(entries.length);
    entries.push(value[index] as string);
    indexes.push(index);
  }
  scope.values.origins = entries;
  scope.originIndexes = indexes;
  scope.notPlain = notPlain;
}

/**
 * Every check of one entry: false when it is refused (or a hole). With
 * `seen`, a repeat is reported too; `plain` says the entry is known to pass
 * every other check.
 */
function checkEntry(list: unknown[], index: number, path: string, report: Report, seen: Set<string> | null, plain = false): boolean {
  // Holes of a sparse list are skipped, as forEach skipped them.
  if (!(index in list)) return false;
  const item = list[index];
  if (!plain) {
    if (typeof item !== "string") {
      report.error(elementPath(path, index), "wrong-type", `an origin must be a string, not ${typeName(item)}`, 'write "https://app.example.com"');
      return false;
    }
    if (item === "*") {
      report.error(elementPath(path, index), "wildcard-in-origin-list", '"*" inside the origins list', 'write "origins": "*" to allow any origin, or list the origins');
      return false;
    }
    const check = checkOrigin(item);
    if (!check.ok) {
      const code = check.problem === "bad-pattern" || check.problem === "pattern-over-ip" ? "origin-pattern" : "origin-not-canonical";
      const hint = check.canonical ? `write "${check.canonical}"` : ORIGIN_HINTS[check.problem];
      report.error(elementPath(path, index), code, `${quote(item)} is not a canonical origin or pattern (${check.problem})`, hint);
      return false;
    }
  }
  const entry = item as string;
  if (seen && seen.size === seen.add(entry).size) report.warn(elementPath(path, index), "duplicate", `${quote(entry)} is listed twice`, "remove the second one");
  if (entry === "null") {
    report.warn(elementPath(path, index), "null-origin", 'the "null" origin is shared by every sandboxed page and data: URL', "list the real origins of the pages instead");
  }
  if (entry.startsWith("file://")) {
    report.warn(elementPath(path, index), "file-origin", `browsers send the origin of a file: page as "null", never ${quote(entry)}, so this entry matches nothing`, "serve the page over http(s), and list that origin");
  }
  return true;
}

/** The JSON path of a list's element, built only when a problem is reported there. */
function elementPath(path: string, index: number): string {
  return `${path}[${index}]`;
}

/** Reads `"*"` or a list of HTTP tokens; `"*"` stands for `["*"]`. */
function readTokens(value: unknown, path: string, what: string, report: Report): Tokens | null {
  if (value === "*") return { tokens: ["*"], paths: [path] };
  if (!Array.isArray(value)) {
    report.error(path, "wrong-type", `must be a list of ${what}s, not ${typeName(value)}`, `write ["…"], one ${what} a string`);
    return null;
  }
  const tokens: Tokens = { tokens: [], paths: [] };
  const seen = new Set<string>();
  value.forEach((item: unknown, index) => {
    const itemPath = `${path}[${index}]`;
    if (typeof item !== "string") {
      report.error(itemPath, "wrong-type", `a ${what} must be a string, not ${typeName(item)}`, `write the ${what} in quotes`);
    } else if (!isToken(item)) {
      report.error(itemPath, "not-a-token", `${quote(item)} is not a valid ${what}`, "use letters, digits and !#$%&'*+-.^_`|~ only, one name a string, no spaces or commas");
    } else {
      const key = what === "method" ? item : item.toLowerCase();
      if (seen.has(key)) report.warn(itemPath, "duplicate", `${quote(item)} is listed twice`, "remove the second one");
      seen.add(key);
      tokens.tokens.push(item);
      tokens.paths.push(itemPath);
    }
  });
  return tokens;
}

function checkMethods(methods: Tokens, report: Report): Tokens {
  const kept: Tokens = { tokens: [], paths: [] };
  methods.tokens.forEach((method, index) => {
    const path = methods.paths[index]!;
    const upper = method.toUpperCase();
    if (FORBIDDEN_METHODS.has(upper)) {
      report.error(path, "forbidden-method", `${method} is a forbidden method: browsers never send it`, `remove ${method}`);
      return;
    }
    if (method !== upper && NORMALIZED_METHODS.has(upper)) {
      report.error(path, "method-case", `browsers send "${upper}", and methods are compared case-sensitively`, `write "${upper}"`);
      return;
    }
    kept.tokens.push(method);
    kept.paths.push(path);
  });
  return kept;
}

/**
 * Rules that involve two fields. In a route they are checked only when the
 * route itself sets one of the two, so an inherited problem is reported once.
 */
function checkCombinations(rules: Rules, own: Scope, top: Scope, report: Report): void {
  const isTop = own === top;
  const credentialsOwn = isTop || own.values.credentials !== undefined;
  const credentialsPath = `${own.path}.credentials`;
  if (!rules.credentials) {
    warnUncoveredAuthorization(rules, own, report);
    return;
  }
  checkCredentialedOrigins(rules, own, top, report);
  warnOpenWrites(rules, own, report);
  for (const name of ["methods", "allowHeaders", "exposeHeaders"] as const) {
    const fieldOwn = isTop || own.values[name] !== undefined;
    const index = rules[name].indexOf("*");
    if (index === -1 || !(fieldOwn || credentialsOwn)) continue;
    const fieldPath = own.tokenPaths[name]?.[index] ?? `${own.path}.${name}`;
    report.error(fieldOwn ? fieldPath : credentialsPath, "wildcard-with-credentials", `"*" in ${name} is taken literally by browsers when credentials are on`, `list the ${name === "methods" ? "methods" : "header names"}, or set credentials to false`);
  }
}

/**
 * Origins that must not be trusted with credentials. Each problem is reported
 * where it is caused: at the entry when the scope lists its own origins, else
 * at the field that turned credentials (or plain http) on.
 */
function checkCredentialedOrigins(rules: Rules, own: Scope, top: Scope, report: Report): void {
  const isTop = own === top;
  const originsOwn = isTop || own.values.origins !== undefined;
  const credentialsOwn = isTop || own.values.credentials !== undefined;
  const insecureOwn = isTop || own.values.allowInsecureOriginsWithCredentials !== undefined;
  const inherited = originsOwn ? "" : ` (origins inherited from ${top.path}.origins)`;
  const causedAt = (index: number, field: string) => (originsOwn ? `${own.path}.origins[${own.originIndexes?.[index] ?? index}]` : `${own.path}.${field}`);
  if (rules.origins === "*") {
    if (originsOwn || credentialsOwn) {
      report.error(originsOwn ? `${own.path}.origins` : `${own.path}.credentials`, "wildcard-origin-with-credentials", `origins "*" with credentials would let any site act as its users${inherited}`, "list the origins, or set credentials to false");
    }
    return;
  }
  // Entries of the plain secure shape pass every check below.
  for (const index of (originsOwn ? own : top).notPlain) {
    const entry = rules.origins[index]!;
    if (originsOwn || credentialsOwn) {
      if (entry === "null") {
        report.error(causedAt(index, "credentials"), "null-origin-with-credentials", `the "null" origin with credentials would trust every sandboxed page${inherited}`, 'remove "null", or set credentials to false');
        continue;
      }
      const domain = patternDomain(entry);
      if (domain !== null && isPublicSuffix(domain.endsWith(".") ? domain.slice(0, -1) : domain)) {
        report.error(causedAt(index, "credentials"), "public-suffix-pattern", `"*.${domain}" is open to anyone who registers a name there, and credentials are on${inherited}`, "list each origin you trust under it instead");
        continue;
      }
    }
    if ((originsOwn || credentialsOwn || insecureOwn) && isInsecure(entry) && !rules.allowInsecureOriginsWithCredentials) {
      const path = causedAt(index, credentialsOwn ? "credentials" : "allowInsecureOriginsWithCredentials");
      report.error(path, "insecure-origin-with-credentials", `${quote(entry)} is a plain-http origin, and credentials are on: anyone on the network path of that page can inject script into it and read this API's credentialed answers${inherited}`, 'use https, or set "allowInsecureOriginsWithCredentials": true in this scope if you accept that risk');
    }
  }
}

/** Cookies travel with cross-site form posts, which CORS does not stop: say so where credentials are on. */
function warnOpenWrites(rules: Rules, own: Scope, report: Report): void {
  if (rules.blockCrossOriginWrites) return;
  const blockOwn = own.values.blockCrossOriginWrites !== undefined;
  const isTop = own.path === "$";
  if (!isTop && !blockOwn && own.values.credentials === undefined) return;
  report.warn(
    `${own.path}.${blockOwn ? "blockCrossOriginWrites" : "credentials"}`,
    "cross-origin-writes-open",
    "credentials are on, but cross-origin writes are not blocked: any site can still post forms to this API with its users' cookies (CORS only hides the answer)",
    'set "blockCrossOriginWrites": true, unless another defence (SameSite cookies, CSRF tokens) covers every write',
  );
}

/** Request headers a page can never set (Fetch's forbidden request-header names), lowercase. */
const FORBIDDEN_REQUEST_HEADERS = new Set([
  "accept-charset", "accept-encoding", "connection", "content-length", "cookie", "cookie2", "date", "dnt", "expect",
  "host", "keep-alive", "origin", "referer", "set-cookie", "te", "trailer", "transfer-encoding", "upgrade", "via",
]);
const FORBIDDEN_REQUEST_PREFIXES = ["proxy-", "sec-", "access-control-request-"];
/** Response headers browsers never let a script read, whatever Access-Control-Expose-Headers says. */
const NEVER_EXPOSED = new Set(["set-cookie", "set-cookie2"]);

/** Warns about header names that a browser will never send (allowHeaders) or let a script read (exposeHeaders). */
function warnDeadHeaders(field: "allowHeaders" | "exposeHeaders", headers: Tokens, report: Report): void {
  headers.tokens.forEach((name, index) => {
    const lower = name.toLowerCase();
    const path = headers.paths[index]!;
    if (field === "allowHeaders") {
      if (FORBIDDEN_REQUEST_HEADERS.has(lower) || FORBIDDEN_REQUEST_PREFIXES.some((prefix) => lower.startsWith(prefix))) {
        report.warn(path, "forbidden-request-header", `${quote(name)} is a header browsers set themselves: no page can send it, so listing it does nothing`, `remove ${quote(name)}`);
      } else if (lower.startsWith("access-control-")) {
        report.warn(path, "response-header-in-allow-headers", `${quote(name)} is a CORS response header: the edge sends it, pages never need to`, `remove ${quote(name)}; the edge sets the CORS response headers from the policy`);
      }
    } else if (NEVER_EXPOSED.has(lower) || lower.startsWith("access-control-")) {
      const why = NEVER_EXPOSED.has(lower) ? "browsers never let a script read it" : "it is a CORS header, which the edge removes from the origin's answer";
      report.warn(path, "never-exposed", `${quote(name)} cannot be exposed: ${why}`, `remove ${quote(name)}`);
    }
  });
}

function warnUncoveredAuthorization(rules: Rules, own: Scope, report: Report): void {
  if (own.values.allowHeaders === undefined) return;
  const headers = rules.allowHeaders.map((name) => name.toLowerCase());
  if (headers.includes("*") && !headers.includes("authorization")) {
    report.warn(`${own.path}.allowHeaders`, "authorization-not-covered", '"*" never covers the Authorization header', 'add "Authorization" beside "*" if pages send it');
  }
}

function unknownField(report: Report, path: string, key: string): void {
  const known = [...RULE_NAMES, path === "$" ? "routes" : "path"];
  const near = known.find((name) => name.toLowerCase() === key.toLowerCase());
  report.error(`${path}.${key}`, "unknown-field", `unknown field ${quote(key)}`, near ? `did you mean "${near}"?` : `known fields: ${known.join(", ")}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  return `${typeof value} ${typeof value === "string" ? quote(value) : String(value)}`;
}

/** A value for a message: quoted, and cut short so one bad entry cannot flood a log. */
function quote(value: string): string {
  const json = JSON.stringify(value);
  return json.length > 80 ? `${json.slice(0, 77)}…"` : json;
}
