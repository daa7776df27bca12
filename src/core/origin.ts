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

/**
 * Checks one entry of a policy's `origins` list. The common shape (lowercase
 * DNS labels, an optional port) is recognized by one scan of the string; any
 * other value, valid or not, goes to `checkOriginByParsing`, which says what
 * is wrong with it. The two agree on every value (test/property/origin-fast.test.ts).
 */
export function checkOrigin(value: string): OriginCheck {
  const entry = plainEntry(value);
  return entry !== null ? { ok: true, entry } : checkOriginByParsing(value);
}

/**
 * The original check, through regular expressions and the URL parser:
 * slower, but it handles every shape and names every problem.
 */
export function checkOriginByParsing(value: string): OriginCheck {
  if (value === "null") return { ok: true, entry: { kind: "exact", origin: "null" } };
  if (value.includes("*")) return checkPattern(value);
  const problem = originProblem(value);
  if (problem) return { ok: false, problem, ...canonicalHint(value) };
  return { ok: true, entry: { kind: "exact", origin: value } };
}

const DIGIT_0 = 48, DIGIT_9 = 57, LOWER_A = 97, LOWER_F = 102, LOWER_X = 120, DOT = 46, STAR = 42;
const MAX_NAME = 253;
/** Schemes whose origin the URL parser serializes itself (host parsing, IPv4, IDNA), so `checkOriginByParsing` asks it. */
const SPECIAL_SCHEMES = new Set(["http", "https", "ws", "wss"]);
const COMMON_SCHEMES = ["https", "http", "wss", "ws"];
/**
 * The plain canonical shape: a lowercase scheme, `://`, an optional `*.`,
 * lowercase labels of letters, digits, `-` and `_` (1 to 63 long, no `-` at
 * either end), one optional trailing dot, an optional port without a leading
 * zero. One regular expression, compiled to native code, is the fastest way
 * through 100,000 of them; what it cannot say (lengths, ports, IDNA, IPv4)
 * is checked after it.
 */
const PLAIN = /^[a-z][a-z0-9+.-]*:\/\/(?:\*\.)?(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.?(?::[1-9][0-9]{0,4})?$/;

/**
 * The entry for a value of the plain canonical shape (`PLAIN`), or null for
 * anything else, which the full check then decides. Only values whose answer
 * is plain are accepted: a name at most 253 long, a port up to 65535 that is
 * not the scheme's default, and, for http(s) and ws(s), no label starting
 * with `xn--` (IDNA) and no last label that reads as a number (IPv4), the
 * only cases where the URL parser would serialize such a host differently.
 */
function plainEntry(value: string): OriginEntry | null {
  if (!PLAIN.test(value)) return null;
  // The scheme holds no colon, so the first one ends it; a later one starts the port.
  const schemeEnd = value.indexOf(":");
  const portColon = value.indexOf(":", schemeEnd + 1);
  const isPattern = value.charCodeAt(schemeEnd + 3) === STAR;
  const start = schemeEnd + (isPattern ? 5 : 3);
  const hostEnd = portColon === -1 ? value.length : portColon;
  const nameEnd = value.charCodeAt(hostEnd - 1) === DOT ? hostEnd - 1 : hostEnd;
  // A pattern is checked as the origin with one more label (`x.`) in front.
  if (nameEnd - start > MAX_NAME - (isPattern ? 2 : 0)) return null;
  const scheme = schemeName(value, schemeEnd);
  if (SPECIAL_SCHEMES.has(scheme)) {
    if (value.includes("xn--", start)) return null;
    if (readsAsNumber(value, Math.max(start, value.lastIndexOf(".", nameEnd - 1) + 1), nameEnd)) return null;
  }
  let port = "";
  if (portColon !== -1) {
    port = value.slice(portColon + 1);
    if ((port.length === 5 && Number(port) > 65535) || DEFAULT_PORTS[scheme] === port) return null;
  }
  if (!isPattern) return { kind: "exact", origin: value };
  const domain = value.slice(start, hostEnd);
  // A pattern over an IP address is refused for every scheme: let the full check say so.
  if (IPV4.test(domain)) return null;
  return { kind: "pattern", scheme, domain, port };
}

/** The scheme before `end`: one shared string for the common ones, so that 100,000 entries neither allocate nor keep a copy each. */
function schemeName(value: string, end: number): string {
  for (const name of COMMON_SCHEMES) if (end === name.length && value.startsWith(name)) return name;
  return value.slice(0, end);
}

/**
 * Whether the URL parser reads this last label as a number, so the host as
 * an IPv4 address: all digits, or `0x` and hex digits.
 */
function readsAsNumber(value: string, start: number, end: number): boolean {
  const hex = end - start >= 2 && value.charCodeAt(start) === DIGIT_0 && value.charCodeAt(start + 1) === LOWER_X;
  for (let i = hex ? start + 2 : start; i < end; i++) {
    const code = value.charCodeAt(i);
    const digit = code >= DIGIT_0 && code <= DIGIT_9;
    if (!digit && !(hex && code >= LOWER_A && code <= LOWER_F)) return false;
  }
  return true;
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
  // Most origins are https: no need to split them.
  if (!entry.origin.startsWith("http://") && !entry.origin.startsWith("ws://")) return false;
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
  /** The set of the last pattern added: patterns mostly share one scheme and port, so most need no key built. */
  private last: { scheme: string; port: string; domains: Set<string> } | null = null;

  constructor(entries: Iterable<OriginEntry> = []) {
    for (const entry of entries) this.add(entry);
  }

  /**
   * Adds an entry; false when it was there already. A valid entry is its
   * text in parts, so this is also the validator's duplicate check.
   */
  add(entry: OriginEntry): boolean {
    if (entry.kind === "exact") {
      const before = this.exact.size;
      return this.exact.add(entry.origin).size !== before;
    }
    let last = this.last;
    if (last === null || last.scheme !== entry.scheme || last.port !== entry.port) {
      const key = `${entry.scheme}://${entry.port}`;
      let domains = this.patterns.get(key);
      if (!domains) this.patterns.set(key, (domains = new Set()));
      last = this.last = { scheme: entry.scheme, port: entry.port, domains };
    }
    const before = last.domains.size;
    return last.domains.add(entry.domain).size !== before;
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

/** Matchers the validator built while reading a list, kept for the compiler so that no list is hashed twice. */
const builtMatchers = new WeakMap<readonly OriginEntry[], OriginMatcher>();

/** Hands the compiler the matcher already built for `entries` (which must not change afterwards). */
export function keepMatcher(entries: readonly OriginEntry[], matcher: OriginMatcher): void {
  builtMatchers.set(entries, matcher);
}

/** The matcher for a list of entries: the one the validator built, else a new one. */
export function matcherFor(entries: readonly OriginEntry[]): OriginMatcher {
  return builtMatchers.get(entries) ?? new OriginMatcher(entries);
}
