/**
 * Origins as the Fetch standard serializes them: `scheme://host[:port]`,
 * lowercase, no default port, nothing after the port.
 *
 * Config origins are checked strictly (they must already be canonical, so a
 * byte comparison with the browser's `Origin` header is exact). Request
 * origins are never trusted: they are only compared, never parsed into
 * anything that could widen a match.
 */

import { GENERIC_SECOND_LEVEL, HOSTING } from "./public-suffix.js";

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
 * A DNS label, without its length limit (checked apart, only for long
 * values), and not an IDNA label (`xn--`), which the URL parser would check:
 * in the expression rather than one more string search per entry. Written as
 * runs of letters and digits joined by hyphens, so that matching never backs
 * off a character to find where the label ends.
 */
const NAME_LABEL = "(?!xn--)[a-z0-9_]+(?:-+[a-z0-9_]+)*";
/** The last label starts with a letter, so it never reads as an IPv4 number. */
const LAST_NAME_LABEL = "(?!xn--)[a-z][a-z0-9_]*(?:-+[a-z0-9_]+)*";
/**
 * An https or wss origin, or a pattern over a name of two labels or more
 * that is not one of the public suffixes the validator refuses patterns over.
 */
const SECURE = new RegExp(
  "^(?:https|wss)://" +
    `(?:\\*\\.(?!(?:${[...HOSTING].map(escapeRegExp).join("|")}|(?:${[...GENERIC_SECOND_LEVEL].join("|")})\\.[^.]{2})\\.?$)(?=[^.]+\\.[^.]))?` +
    `(?:${NAME_LABEL}\\.)*${LAST_NAME_LABEL}\\.?$`,
);
const LONG_LABEL = /[a-z0-9_-]{64}/;

/**
 * Whether `value` is an https or wss origin or pattern of the plain shape
 * that every check of the validator passes: canonical, secure, not `null`,
 * not a pattern over a public suffix. One regular expression, compiled to
 * native code, is all that a list of 100,000 such entries costs; anything
 * else goes through every check (test/property/origin-fast.test.ts).
 */
export function isPlainSecure(value: string): boolean {
  // Short enough for its name to be within 253 characters and every label within 63.
  if (value.length > MAX_NAME) return false;
  return SECURE.test(value) && (value.length < 70 || !LONG_LABEL.test(value));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

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
export function isInsecure(entry: string): boolean {
  // Most origins are https: no need to split them.
  if (!entry.startsWith("http://") && !entry.startsWith("ws://")) return false;
  const domain = patternDomain(entry);
  if (domain !== null) return !isLocalhostName(domain);
  const parts = splitOrigin(entry);
  return parts !== null && INSECURE_SCHEMES.has(parts.scheme) && !isLoopback(parts.host);
}

/** The domain of a pattern's text (`https://*.example.org:8443` gives `example.org`), null for an exact origin. */
export function patternDomain(entry: string): string | null {
  const star = entry.indexOf("://*.");
  if (star === -1) return null;
  const colon = entry.indexOf(":", star + 5);
  return entry.slice(star + 5, colon === -1 ? entry.length : colon);
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
export function intersectOrigins(a: readonly string[], b: readonly string[]): string[] {
  const kept = new Set<string>();
  for (const [list, other] of [[a, b], [b, a]] as const) {
    // One set, hashed once, serves the matcher and the pattern lookups.
    const others = new Set(other);
    const matcher = new OriginMatcher(others);
    for (const entry of list) {
      const inside = patternDomain(entry) === null ? matcher.matches(entry) : withinPatterns(entry, others);
      if (inside) kept.add(entry);
    }
  }
  return [...kept];
}

/** Whether a pattern matches nothing outside `others`: it holds this pattern, or one over a parent domain. */
function withinPatterns(pattern: string, others: ReadonlySet<string>): boolean {
  const domain = patternDomain(pattern)!;
  const head = pattern.slice(0, pattern.indexOf("://*.") + 5);
  const tail = pattern.slice(head.length + domain.length);
  for (let parent = domain; ; ) {
    if (others.has(head + parent + tail)) return true;
    const dot = parent.indexOf(".");
    if (dot === -1) return false;
    parent = parent.slice(dot + 1);
  }
}

/** The longest `Origin` header value worth comparing; browsers send far less. */
const MAX_ORIGIN_LENGTH = 2048;

/**
 * Matches request origins against a validated list. An entry is its
 * canonical text, so one hash set holds them all: a listed origin is one
 * lookup, and a pattern one lookup per label of the request's host
 * (`https://*.` + each parent domain), so the cost does not grow with the list.
 *
 * The set is built by the second lookup, not by the first: a policy is
 * loaded by the request that first needs it, which has the Workers CPU limit
 * to keep, and hashing 100,000 fresh strings costs more than parsing them.
 * That request scans the list instead, a few native comparisons per entry.
 */
export class OriginMatcher {
  private readonly entries: readonly string[] | ReadonlySet<string>;
  /** The set of the entries: given, or built by the second lookup. */
  private index: ReadonlySet<string> | null;
  private lookups = 0;
  /** Whether any entry is a pattern; found on the first origin not listed as such. */
  private hasPatterns: boolean | null = null;

  constructor(entries: readonly string[] | ReadonlySet<string>) {
    this.entries = entries;
    this.index = entries instanceof Set ? entries : null;
  }

  matches(origin: string): boolean {
    if (this.index === null && this.lookups++ > 0) this.index = new Set(this.entries);
    // A pattern's own text is no origin a browser sends: "*" is not a host character it produces.
    if (this.has(origin)) return !origin.includes("*");
    if (origin.length > MAX_ORIGIN_LENGTH || !this.patterns()) return false;
    const parts = splitOrigin(origin);
    if (!parts || !validHost(parts.host) || parts.host.startsWith("[")) return false;
    const head = `${parts.scheme}://*.`;
    const tail = parts.port === "" ? "" : `:${parts.port}`;
    // Every proper suffix that starts after a dot: whole labels only.
    const host = parts.host;
    for (let dot = host.indexOf("."); dot !== -1; dot = host.indexOf(".", dot + 1)) {
      if (this.has(head + host.slice(dot + 1) + tail)) return true;
    }
    return false;
  }

  /** Whether the set is built (by the second lookup). */
  get indexed(): boolean {
    return this.index !== null;
  }

  private has(text: string): boolean {
    // Without the set, the entries are the list: a given set is the index from the start.
    return this.index !== null ? this.index.has(text) : (this.entries as readonly string[]).includes(text);
  }

  private patterns(): boolean {
    if (this.hasPatterns === null) {
      this.hasPatterns = false;
      for (const entry of this.entries) {
        if (patternDomain(entry) === null) continue;
        this.hasPatterns = true;
        break;
      }
    }
    return this.hasPatterns;
  }
}
