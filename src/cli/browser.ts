/**
 * What a browser does with the edge's answers, written from the Fetch
 * standard (CORS-safelisted headers, the CORS check, the preflight check).
 * It is deliberately not the edge's code: `explain` runs the edge's decision
 * through this second, independent judge, as a real browser would.
 */
import type { HeaderList } from "../core/index.js";

export interface BrowserRequest {
  origin: string;
  method: string;
  /** Header names as written; the value is null when not given. */
  headers: { name: string; value: string | null }[];
  credentials: boolean;
}

export interface BrowserFailure {
  check: "status" | "origin" | "credentials" | "method" | "header";
  message: string;
}

const SAFELISTED_METHODS = new Set(["GET", "HEAD", "POST"]);
/** `fetch()` uppercases these; any other method is sent as written. */
const NORMALIZED_METHODS = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);
const SIMPLE_CONTENT_TYPES = new Set(["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"]);
/** Bytes that make an Accept, Accept-Language, Content-Language or Content-Type value unsafe. */
const UNSAFE_VALUE_BYTE = /[\x00-\x08\x0a-\x1f"():<>?@[\\\]{}\x7f]/;
const LANGUAGE_VALUE = /^[0-9A-Za-z *,\-.;=]*$/;
const SIMPLE_RANGE = /^bytes=\d+-\d*$/;

export function normalizeMethod(method: string): string {
  const upper = method.toUpperCase();
  return NORMALIZED_METHODS.has(upper) ? upper : method;
}

/**
 * The request's CORS-unsafe header names, lowercased, deduplicated and
 * sorted: the value of `Access-Control-Request-Headers`.
 */
export function unsafeHeaderNames(headers: BrowserRequest["headers"]): string[] {
  const unsafe = new Set<string>();
  let safelistedBytes = 0;
  const safelisted: string[] = [];
  for (const { name, value } of headers) {
    const lower = name.toLowerCase();
    if (value !== null && isSafelisted(lower, value)) {
      safelisted.push(lower);
      safelistedBytes += value.length;
    } else if (value === null && ["accept", "accept-language", "content-language"].includes(lower)) {
      safelisted.push(lower);
    } else {
      unsafe.add(lower);
    }
  }
  // Safelisted values above 1,024 bytes in total make them all unsafe.
  if (safelistedBytes > 1024) for (const name of safelisted) unsafe.add(name);
  return [...unsafe].sort();
}

function isSafelisted(name: string, value: string): boolean {
  if (value.length > 128) return false;
  switch (name) {
    case "accept":
      return !UNSAFE_VALUE_BYTE.test(value);
    case "accept-language":
    case "content-language":
      return LANGUAGE_VALUE.test(value);
    case "content-type": {
      if (UNSAFE_VALUE_BYTE.test(value)) return false;
      const essence = value.split(";")[0]!.trim().toLowerCase();
      return SIMPLE_CONTENT_TYPES.has(essence);
    }
    case "range":
      return SIMPLE_RANGE.test(value);
    default:
      return false;
  }
}

export function needsPreflight(request: BrowserRequest): boolean {
  return !SAFELISTED_METHODS.has(request.method) || unsafeHeaderNames(request.headers).length > 0;
}

function header(headers: HeaderList, name: string): string | null {
  const lower = name.toLowerCase();
  const found = headers.find(([key]) => key.toLowerCase() === lower);
  return found ? found[1] : null;
}

function list(value: string | null): string[] {
  return value === null ? [] : value.split(",").map((item) => item.trim()).filter((item) => item !== "");
}

/** The CORS check of any answer: may the page see it? */
export function corsCheck(headers: HeaderList, request: BrowserRequest): BrowserFailure | null {
  const allowOrigin = header(headers, "Access-Control-Allow-Origin");
  if (allowOrigin === null) return { check: "origin", message: "the answer has no Access-Control-Allow-Origin header" };
  if (allowOrigin === "*" && !request.credentials) return null;
  if (allowOrigin === "*") {
    return { check: "credentials", message: 'Access-Control-Allow-Origin is "*", which a browser never accepts for a request with credentials' };
  }
  if (allowOrigin !== request.origin) {
    return { check: "origin", message: `Access-Control-Allow-Origin ${JSON.stringify(allowOrigin)} is not the page's origin` };
  }
  if (request.credentials && header(headers, "Access-Control-Allow-Credentials") !== "true") {
    return { check: "credentials", message: "the request has credentials, but the answer has no Access-Control-Allow-Credentials: true" };
  }
  return null;
}

/** The checks of a preflight answer that let the actual request be sent. */
export function preflightCheck(status: number, headers: HeaderList, request: BrowserRequest): BrowserFailure | null {
  if (status < 200 || status > 299) return { check: "status", message: `the preflight answer is ${status}, not 2xx` };
  const failure = corsCheck(headers, request);
  if (failure) return failure;
  const methods = list(header(headers, "Access-Control-Allow-Methods"));
  const anyMethod = methods.includes("*") && !request.credentials;
  if (!SAFELISTED_METHODS.has(request.method) && !methods.includes(request.method) && !anyMethod) {
    return { check: "method", message: `${request.method} is not in Access-Control-Allow-Methods` };
  }
  const allowed = list(header(headers, "Access-Control-Allow-Headers")).map((name) => name.toLowerCase());
  const anyHeader = allowed.includes("*") && !request.credentials;
  for (const name of unsafeHeaderNames(request.headers)) {
    // `*` never covers Authorization.
    if (allowed.includes(name) || (anyHeader && name !== "authorization")) continue;
    return { check: "header", message: `${name} is not in Access-Control-Allow-Headers` };
  }
  return null;
}

/**
 * Where the three engines differ in a way a policy author sees. The checks
 * above are the Fetch standard, which all three follow; these are not.
 * - Preflight cache: `Access-Control-Max-Age` is capped at 7,200 s by
 *   Chromium, 86,400 s by Firefox and 600 s by WebKit/Safari
 *   (`CrossOriginPreflightResultCache`); without the header, 5 s everywhere.
 * - The refusal a script sees: a TypeError, worded differently by each.
 * - WebKit/Safari never sends a `Secure` cookie over http://localhost.
 */
export interface EngineModel {
  name: string;
  maxAgeCap: number;
  refusal: string;
}

export const ENGINE_MODELS: readonly EngineModel[] = [
  { name: "Chromium", maxAgeCap: 7200, refusal: "TypeError: Failed to fetch" },
  { name: "Firefox", maxAgeCap: 86_400, refusal: "TypeError: NetworkError when attempting to fetch resource." },
  { name: "WebKit/Safari", maxAgeCap: 600, refusal: "TypeError: Load failed" },
];

/** The Fetch standard's default when a preflight answer has no Access-Control-Max-Age. */
export const DEFAULT_PREFLIGHT_CACHE_SECONDS = 5;

/** How long each engine caches a passed preflight with this answer. */
export function preflightCache(headers: HeaderList): { engine: string; seconds: number }[] {
  const value = header(headers, "Access-Control-Max-Age");
  const maxAge = value === null ? DEFAULT_PREFLIGHT_CACHE_SECONDS : Number(value);
  return ENGINE_MODELS.map((engine) => ({ engine: engine.name, seconds: Math.min(maxAge, engine.maxAgeCap) }));
}

/** A page on plain-http loopback (http://localhost, *.localhost, 127.0.0.1, [::1]): where WebKit drops Secure cookies. */
export function isHttpLoopback(origin: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  const host = url.hostname;
  return url.protocol === "http:" && (host === "localhost" || host.endsWith(".localhost") || host === "127.0.0.1" || host === "[::1]");
}
