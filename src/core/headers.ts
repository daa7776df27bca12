/** Header-value helpers that must stay linear in the length of their input. */

/** 1 for the characters of an HTTP token (RFC 9110), 0 for the rest. */
const TOKEN_CHARS = new Uint8Array(128);
for (const ch of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
  TOKEN_CHARS[ch.charCodeAt(0)] = 1;
}

const COMMA = 0x2c;
const SPACE = 0x20;
const TAB = 0x09;

/**
 * Splits `Access-Control-Request-Headers` into lowercase names in one pass.
 * Spaces and tabs around names and empty elements (from lines a proxy split
 * and joined again) are tolerated. Returns null when any name is not a token.
 */
export function parseHeaderList(value: string): string[] | null {
  const names: string[] = [];
  let start = -1;
  let end = -1;
  for (let i = 0; i <= value.length; i++) {
    const code = i === value.length ? COMMA : value.charCodeAt(i);
    if (code === COMMA) {
      if (start !== -1) names.push(value.slice(start, end + 1).toLowerCase());
      start = -1;
    } else if (code === SPACE || code === TAB) {
      continue;
    } else if (code < 128 && TOKEN_CHARS[code] === 1) {
      if (start === -1) start = i;
      else if (end !== i - 1) return null; // white space inside a name
      end = i;
    } else {
      return null;
    }
  }
  return names;
}

/** Whether `value` is a single HTTP token, like a method name. */
export function isToken(value: string): boolean {
  if (value.length === 0) return false;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code >= 128 || TOKEN_CHARS[code] !== 1) return false;
  }
  return true;
}

/**
 * Adds `Origin` to a `Vary` value. Returns the value unchanged when it
 * already names Origin or is `*`, so the token is never duplicated.
 */
export function varyWithOrigin(vary: string | null): string {
  if (vary === null || vary.trim() === "") return "Origin";
  for (const token of vary.split(",")) {
    const name = token.trim().toLowerCase();
    if (name === "origin" || name === "*") return vary;
  }
  return `${vary}, Origin`;
}
