/**
 * A plain reference model of the CORS policy rules, written from the policy
 * format's specification (README, "The policy" and "What the edge does"),
 * not from src/core: string operations only, no shared code. The property
 * tests check the real core and the real Worker against it.
 */

export interface ModelRules {
  origins: "*" | string[];
  credentials: boolean;
  methods: string[];
  allowHeaders: string[];
  exposeHeaders: string[];
  maxAge: number | null;
}

export interface ModelPolicy {
  top: ModelRules;
  routes: { path: string; rules: ModelRules }[];
}

/** A policy document as the operator writes it (assumed valid). */
export interface PolicyDoc extends Partial<ModelRules> {
  allowInsecureOriginsWithCredentials?: boolean;
  routes?: (Partial<ModelRules> & { path: string })[];
}

export interface ModelRequest {
  method: string;
  url: string;
  origin: string | null;
  requestMethod: string | null;
  requestHeaders: string | null;
}

/** What the edge must answer: the CORS headers it sets (lowercase names) and its Vary. */
export type ModelAnswer =
  | { kind: "preflight"; allowed: boolean; headers: Record<string, string>; vary: string }
  | { kind: "forward"; allowed: boolean; headers: Record<string, string>; vary: string | null };

const TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LABEL_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-_";

export function modelPolicy(doc: PolicyDoc): ModelPolicy {
  const top: ModelRules = {
    origins: doc.origins ?? [],
    credentials: doc.credentials ?? false,
    methods: doc.methods ?? ["GET", "HEAD", "POST"],
    allowHeaders: doc.allowHeaders ?? [],
    exposeHeaders: doc.exposeHeaders ?? [],
    maxAge: doc.maxAge ?? null,
  };
  const routes = (doc.routes ?? []).map(({ path, ...own }) => {
    const rules = { ...top };
    for (const [name, value] of Object.entries(own)) if (value !== undefined) Object.assign(rules, { [name]: value });
    return { path, rules };
  });
  return { top, routes };
}

/** The first route whose path is equal (exact) or a prefix (ending in `/*`), else the top level. */
export function rulesForPath(policy: ModelPolicy, path: string): ModelRules {
  for (const route of policy.routes) {
    if (route.path.endsWith("/*") ? path.startsWith(route.path.slice(0, -1)) : path === route.path) return route.rules;
  }
  return policy.top;
}

/** A DNS label as browsers serialize it: lowercase letters, digits, `-` and `_`, 1 to 63, no `-` at either end. */
export function isLabel(label: string): boolean {
  if (label.length === 0 || label.length > 63 || label.startsWith("-") || label.endsWith("-")) return false;
  for (const ch of label) if (!LABEL_CHARS.includes(ch)) return false;
  return true;
}

export function isToken(value: string): boolean {
  if (value.length === 0) return false;
  for (const ch of value) if (!TOKEN_CHARS.includes(ch)) return false;
  return true;
}

/**
 * A listed origin matches byte for byte; a pattern `scheme://*.domain[:port]`
 * matches one or more whole labels in front of the domain, same scheme, same port.
 */
export function originMatches(entry: string, origin: string): boolean {
  const star = entry.indexOf("://*.");
  if (star === -1) return entry === origin;
  const prefix = entry.slice(0, star + 3);
  const suffix = entry.slice(star + 4); // ".domain[:port]"
  if (origin.length <= prefix.length + suffix.length) return false;
  if (!origin.startsWith(prefix) || !origin.endsWith(suffix)) return false;
  const labels = origin.slice(prefix.length, origin.length - suffix.length);
  const host = labels + suffix.split(":")[0];
  return host.length <= 253 && labels.split(".").every(isLabel);
}

export function originAllowed(rules: ModelRules, origin: string): boolean {
  return rules.origins === "*" || rules.origins.some((entry) => originMatches(entry, origin));
}

function trimSpaces(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && (value[start] === " " || value[start] === "\t")) start++;
  while (end > start && (value[end - 1] === " " || value[end - 1] === "\t")) end--;
  return value.slice(start, end);
}

/** Every requested header name is listed (any case); `*` stands for any name but Authorization. */
function headersAllowed(rules: ModelRules, requested: string): boolean {
  const listed = rules.allowHeaders.map((name) => name.toLowerCase());
  for (const element of requested.split(",")) {
    const name = trimSpaces(element).toLowerCase();
    if (name === "") continue;
    if (!isToken(name)) return false;
    if (listed.includes(name)) continue;
    if (listed.includes("*") && name !== "authorization") continue;
    return false;
  }
  return true;
}

function urlOrigin(url: string): string {
  const afterScheme = url.indexOf("://") + 3;
  const slash = url.indexOf("/", afterScheme);
  return slash === -1 ? url : url.slice(0, slash);
}

function urlPath(url: string): string {
  const slash = url.indexOf("/", url.indexOf("://") + 3);
  const path = slash === -1 ? "/" : url.slice(slash);
  const query = path.search(/[?#]/);
  return query === -1 ? path : path.slice(0, query);
}

/** What the edge answers, per the rules. `policy` null: no valid policy, fail closed. */
export function modelDecide(policy: ModelPolicy | null, request: ModelRequest): ModelAnswer {
  const rules = policy && rulesForPath(policy, urlPath(request.url));
  const isPublic = rules !== null && rules.origins === "*" && !rules.credentials;
  const origin = request.origin;
  const vary = isPublic ? null : "Origin";
  if (origin === null || origin === urlOrigin(request.url)) {
    // A public answer goes to everyone alike (caches included), so it always says `*`.
    if (isPublic) return { kind: "forward", allowed: true, headers: actualHeaders(rules, "*"), vary };
    return { kind: "forward", allowed: false, headers: {}, vary };
  }
  if (request.method === "OPTIONS" && request.requestMethod !== null) {
    const preflightVary = `${isPublic ? "" : "Origin, "}Access-Control-Request-Method, Access-Control-Request-Headers`;
    const refused = { kind: "preflight" as const, allowed: false, headers: {}, vary: preflightVary };
    if (!rules || !originAllowed(rules, origin)) return refused;
    const method = request.requestMethod;
    const safelisted = method === "GET" || method === "HEAD" || method === "POST";
    if (!isToken(method) || !(safelisted || rules.methods.includes("*") || rules.methods.includes(method))) return refused;
    if (request.requestHeaders !== null && !headersAllowed(rules, request.requestHeaders)) return refused;
    const headers: Record<string, string> = { "access-control-allow-origin": isPublic ? "*" : origin };
    if (rules.credentials) headers["access-control-allow-credentials"] = "true";
    if (rules.methods.length > 0) headers["access-control-allow-methods"] = rules.methods.join(", ");
    if (rules.allowHeaders.length > 0) headers["access-control-allow-headers"] = rules.allowHeaders.join(", ");
    if (rules.maxAge !== null) headers["access-control-max-age"] = String(rules.maxAge);
    return { kind: "preflight", allowed: true, headers, vary: preflightVary };
  }
  if (!rules || !originAllowed(rules, origin)) return { kind: "forward", allowed: false, headers: {}, vary };
  return { kind: "forward", allowed: true, headers: actualHeaders(rules, isPublic ? "*" : origin), vary };
}

function actualHeaders(rules: ModelRules, allowOrigin: string): Record<string, string> {
  const headers: Record<string, string> = { "access-control-allow-origin": allowOrigin };
  if (rules.credentials) headers["access-control-allow-credentials"] = "true";
  if (rules.exposeHeaders.length > 0) headers["access-control-expose-headers"] = rules.exposeHeaders.join(", ");
  return headers;
}
