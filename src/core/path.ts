/**
 * Request paths as origin servers read them, so that a route cannot be
 * bypassed by spelling its path differently.
 *
 * The URL parser leaves percent-escapes alone, but `/%61dmin` is the same URI
 * as `/admin` (RFC 3986 §6.2.2), and the servers behind the edge serve it
 * from `/admin/`. Some spellings stay ambiguous even then: servers disagree on
 * whether `%2F` is a slash, whether `//` is one, and whether `;x` is part of
 * a segment. For those, every reading a common server makes is returned, and
 * the edge applies the rules of all of them at once.
 */

const UNRESERVED = /^[A-Za-z0-9._~-]$/;
/** What makes a path ambiguous after normalization: an escaped `/`, `\` or `;`, a `;`, or an empty segment. */
const AMBIGUOUS = /%(?:2F|5C|3B)|;|\/\//;

/** Whether a pathname has escapes, `;` or `//`: only then can servers read it otherwise. */
export function needsReading(pathname: string): boolean {
  return NEEDS_READING.test(pathname);
}

const NEEDS_READING = /[%;]|\/\//;

/**
 * The readings of a URL's pathname (as `new URL()` gives it) that servers may
 * make. The first is its normal form; there are more only when it is ambiguous.
 */
export function pathReadings(pathname: string): string[] {
  if (!needsReading(pathname)) return [pathname];
  const readings = new Set<string>();
  // A malformed escape can leave a new one behind (`%%361` → `%61`): read the path decoded once, and as often as it takes.
  for (let normal = normalizePath(pathname), previous = ""; normal !== previous; previous = normal, normal = normalizePath(normal)) {
    for (const reading of ambiguousReadings(normal)) readings.add(reading);
  }
  return [...readings];
}

/** A normal path, and when it is ambiguous, what servers that decode, strip or merge make of it. */
function ambiguousReadings(normal: string): string[] {
  if (!AMBIGUOUS.test(normal)) return [normal];
  const readings: string[] = [];
  // Each server decodes, strips and merges, or not, independently: try every combination.
  for (let mask = 0; mask < 8; mask++) {
    let path = normal;
    if (mask & 1) path = path.replace(/%2F|%5C/g, "/").replace(/%3B/g, ";");
    if (mask & 2) path = path.replace(/;[^/]*/g, "");
    if (mask & 4) path = path.replace(/\/{2,}/g, "/");
    readings.push(removeDotSegments(path));
  }
  return readings;
}

/**
 * RFC 3986 normalization: escapes of unreserved characters decoded, the hex
 * of the others in uppercase, dot segments removed.
 */
export function normalizePath(path: string): string {
  const decoded = path.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => {
    const char = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
  return removeDotSegments(decoded);
}

/** RFC 3986 §5.2.4 for an absolute path: `.` and `..` segments resolved. */
function removeDotSegments(path: string): string {
  if (!path.includes(".")) return path;
  const segments = path.split("/");
  const out: string[] = [];
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    const last = i === segments.length - 1;
    if (segment === "." || segment === "..") {
      if (segment === "..") out.pop();
      if (last) out.push("");
    } else {
      out.push(segment);
    }
  }
  return `/${out.join("/")}`;
}
