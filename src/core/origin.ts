/**
 * Origins as the Fetch standard serializes them: `scheme://host[:port]`,
 * lowercase, no default port, nothing after the port.
 *
 * Config origins are checked strictly (they must already be canonical, so a
 * byte comparison with the browser's `Origin` header is exact). Request
 * origins are never trusted: they are only compared, never parsed into
 * anything that could widen a match.
 */

export interface OriginParts {
  scheme: string;
  host: string;
  /** The port as written, or "" when absent. */
  port: string;
}

/** A listed origin, or a subdomain pattern `scheme://*.domain[:port]`. */
export type OriginEntry =
  | { kind: "exact"; origin: string }
  | { kind: "pattern"; scheme: string; domain: string; port: string };

export type OriginProblem =
  | "not-an-origin"
  | "uppercase"
  | "path"
  | "trailing-slash"
  | "query"
  | "fragment"
  | "userinfo"
  | "default-port"
  | "bad-port"
  | "bad-host"
  | "not-canonical"
  | "bad-pattern"
  | "pattern-over-ip";

export type OriginCheck =
  | { ok: true; entry: OriginEntry }
  | { ok: false; problem: OriginProblem; canonical?: string };

const DEFAULT_PORTS: Record<string, string> = { http: "80", https: "443", ws: "80", wss: "443" };
const SCHEME = /^[a-z][a-z0-9+.-]*$/;
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
const PORT = /^[1-9][0-9]{0,4}$/;
const IPV4 = /^[0-9.]+$/;

/** Checks one entry of a policy's `origins` list. */
export function checkOrigin(value: string): OriginCheck {
  if (value === "null") return { ok: true, entry: { kind: "exact", origin: "null" } };
  if (value.includes("*")) return checkPattern(value);
  const problem = originProblem(value);
  if (problem) return { ok: false, problem, ...canonicalHint(value) };
  return { ok: true, entry: { kind: "exact", origin: value } };
}

function checkPattern(value: string): OriginCheck {
  const sep = value.indexOf("://*.");
  const scheme = value.slice(0, sep);
  const rest = value.slice(sep + 5);
  if (sep <= 0 || rest.includes("*")) return { ok: false, problem: "bad-pattern" };
  // Before the check below: "x.0.0.1" is no valid http(s) host, which would hide the real problem.
  const target = splitOrigin(`${scheme}://${rest}`);
  if (target && (IPV4.test(target.host) || target.host.startsWith("["))) return { ok: false, problem: "pattern-over-ip" };
  // A pattern is valid when the origin it would match with one more label is.
  const problem = originProblem(`${scheme}://x.${rest}`);
  if (problem || !target) return { ok: false, problem: problem ?? "bad-host" };
  return { ok: true, entry: { kind: "pattern", scheme, domain: target.host, port: target.port } };
}

/** Why `value` is not a canonical serialized origin, or null when it is one. */
function originProblem(value: string): OriginProblem | null {
  const sep = value.indexOf("://");
  if (sep <= 0) return "not-an-origin";
  const scheme = value.slice(0, sep);
  if (!SCHEME.test(scheme)) return scheme.toLowerCase() !== scheme ? "uppercase" : "not-an-origin";
  const rest = value.slice(sep + 3);
  if (rest.includes("@")) return "userinfo";
  if (rest.includes("#")) return "fragment";
  if (rest.includes("?")) return "query";
  const slash = rest.indexOf("/");
  if (slash !== -1) return slash === rest.length - 1 ? "trailing-slash" : "path";
  if (rest.endsWith(":")) return "bad-port";
  const parts = splitOrigin(value);
  if (!parts) return "bad-host";
  if (parts.host !== parts.host.toLowerCase()) return "uppercase";
  if (!validHost(parts.host)) return "bad-host";
  if (parts.port !== "") {
    if (!PORT.test(parts.port) || Number(parts.port) > 65535) return "bad-port";
    if (DEFAULT_PORTS[scheme] === parts.port) return "default-port";
  }
  if (scheme in DEFAULT_PORTS && urlOrigin(value) !== value) return "not-canonical";
  return null;
}

/** For http(s) and ws(s), the serialization a browser would send, as a hint. */
function canonicalHint(value: string): { canonical?: string } {
  const origin = urlOrigin(value);
  return origin && origin !== "null" && origin !== value ? { canonical: origin } : {};
}

function urlOrigin(value: string): string | null {
  try {
    return new URL(value).origin;
  } catch {
    return null;
  }
}

function validHost(host: string): boolean {
  if (host.startsWith("[")) return /^\[[0-9a-f:.]+\]$/.test(host);
  // One trailing dot is the fully qualified form, which browsers send as written (`http://example.com.`).
  const name = host.endsWith(".") ? host.slice(0, -1) : host;
  if (name.length === 0 || name.length > 253) return false;
  return name.split(".").every((label) => LABEL.test(label));
}

const INSECURE_SCHEMES = new Set(["http", "ws"]);

/**
 * Whether pages on this origin (or on every origin of this pattern) travel
 * in clear text beyond this machine: plain http or ws, not loopback.
 */
export function isInsecure(entry: OriginEntry): boolean {
  if (entry.kind === "pattern") return INSECURE_SCHEMES.has(entry.scheme) && !isLocalhostName(entry.domain);
  const parts = splitOrigin(entry.origin);
  return parts !== null && INSECURE_SCHEMES.has(parts.scheme) && !isLoopback(parts.host);
}

function isLoopback(host: string): boolean {
  return isLocalhostName(host) || host === "[::1]" || /^127\.[0-9.]+$/.test(host);
}

/** `localhost` and names under it, which browsers resolve to loopback themselves. */
function isLocalhostName(host: string): boolean {
  const name = host.endsWith(".") ? host.slice(0, -1) : host;
  return name === "localhost" || name.endsWith(".localhost");
}

/**
 * Splits `scheme://host[:port]` without judging it. Returns null when there
 * is no `://` or the host is empty.
 */
export function splitOrigin(value: string): OriginParts | null {
  const sep = value.indexOf("://");
  if (sep <= 0) return null;
  const scheme = value.slice(0, sep);
  const rest = value.slice(sep + 3);
  const close = rest.startsWith("[") ? rest.indexOf("]") : -1;
  const colon = rest.indexOf(":", close + 1);
  const host = colon === -1 ? rest : rest.slice(0, colon);
  const port = colon === -1 ? "" : rest.slice(colon + 1);
  if (host.length === 0 || (colon !== -1 && port.length === 0)) return null;
  return { scheme, host, port };
}

/**
 * The entries that match only origins both lists match: a listed origin the
 * other list matches, and of two overlapping patterns the narrower one.
 */
export function intersectOrigins(a: OriginEntry[], b: OriginEntry[]): OriginEntry[] {
  const kept = new Map<string, OriginEntry>();
  for (const [list, other] of [[a, b], [b, a]] as const) {
    const matcher = new OriginMatcher(other);
    const patterns = new Set(other.filter((entry) => entry.kind === "pattern").map(entryKey));
    for (const entry of list) {
      const inside = entry.kind === "exact" ? matcher.matches(entry.origin) : withinPatterns(entry, patterns);
      if (inside) kept.set(entryKey(entry), entry);
    }
  }
  return [...kept.values()];
}

/** Whether a pattern matches nothing outside `patterns`: one of them has its domain or a parent of it. */
function withinPatterns(entry: Extract<OriginEntry, { kind: "pattern" }>, patterns: ReadonlySet<string>): boolean {
  for (let domain: string | null = entry.domain; domain !== null; domain = parentDomain(domain)) {
    if (patterns.has(entryKey({ ...entry, domain }))) return true;
  }
  return false;
}

function parentDomain(domain: string): string | null {
  const dot = domain.indexOf(".");
  return dot === -1 ? null : domain.slice(dot + 1);
}

function entryKey(entry: OriginEntry): string {
  return entry.kind === "exact" ? entry.origin : `${entry.scheme}://*.${entry.domain}:${entry.port}`;
}

/** The longest `Origin` header value worth comparing; browsers send far less. */
const MAX_ORIGIN_LENGTH = 2048;

/**
 * Matches request origins against a compiled list: a hash lookup for listed
 * origins, and one hash lookup per label for patterns, so the cost does not
 * grow with the size of the list.
 */
export class OriginMatcher {
  private readonly exact = new Set<string>();
  /** Pattern domains, keyed by `scheme://` + port. */
  private readonly patterns = new Map<string, Set<string>>();

  constructor(entries: Iterable<OriginEntry>) {
    for (const entry of entries) {
      if (entry.kind === "exact") {
        this.exact.add(entry.origin);
        continue;
      }
      const key = `${entry.scheme}://${entry.port}`;
      let domains = this.patterns.get(key);
      if (!domains) this.patterns.set(key, (domains = new Set()));
      domains.add(entry.domain);
    }
  }

  matches(origin: string): boolean {
    if (this.exact.has(origin)) return true;
    if (this.patterns.size === 0 || origin.length > MAX_ORIGIN_LENGTH) return false;
    const parts = splitOrigin(origin);
    if (!parts) return false;
    const domains = this.patterns.get(`${parts.scheme}://${parts.port}`);
    if (!domains || !validHost(parts.host) || parts.host.startsWith("[")) return false;
    // Every proper suffix that starts after a dot: whole labels only.
    const host = parts.host;
    for (let dot = host.indexOf("."); dot !== -1; dot = host.indexOf(".", dot + 1)) {
      if (domains.has(host.slice(dot + 1))) return true;
    }
    return false;
  }
}
