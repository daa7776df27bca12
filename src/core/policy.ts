/**
 * The policy format: the JSON document an operator stores in KV.
 *
 * `FIELDS` is the single source of the format. The validator checks each
 * field with it and the JSON Schema is generated from it, so the two cannot
 * drift apart.
 */

/** A policy document as written (the contract with tools outside the worker). */
export interface PolicyDocument extends RuleDocument {
  $schema?: string;
  routes?: RouteDocument[];
}

export interface RuleDocument {
  origins?: "*" | string[];
  credentials?: boolean;
  methods?: "*" | string[];
  allowHeaders?: "*" | string[];
  exposeHeaders?: "*" | string[];
  maxAge?: number;
  allowInsecureOriginsWithCredentials?: boolean;
  blockCrossOriginWrites?: boolean;
}

export interface RouteDocument extends RuleDocument {
  path: string;
}

/** The rules in force on a path, after defaults and route overrides. */
export interface Rules {
  /** Each entry its canonical text: an origin, or a pattern `scheme://*.domain[:port]`. */
  origins: "*" | string[];
  credentials: boolean;
  methods: string[];
  allowHeaders: string[];
  exposeHeaders: string[];
  maxAge: number | null;
  /** Lets non-loopback `http://` and `ws://` origins in with credentials, which the validator otherwise refuses. */
  allowInsecureOriginsWithCredentials: boolean;
  /** Refuse, before forwarding, writes and WebSocket handshakes from browser contexts the policy does not trust. */
  blockCrossOriginWrites: boolean;
}

export type RuleName = keyof Rules;

/** A validated policy: the top-level rules and each route's effective rules. */
export interface Policy {
  rules: Rules;
  routes: Route[];
}

export interface Route {
  path: string;
  rules: Rules;
}

export const DEFAULT_RULES: Omit<Rules, "origins"> = {
  credentials: false,
  methods: ["GET", "HEAD", "POST"],
  allowHeaders: [],
  exposeHeaders: [],
  maxAge: null,
  allowInsecureOriginsWithCredentials: false,
  blockCrossOriginWrites: false,
};

/**
 * Where a key's report-only candidate policy is stored in KV, beside the key
 * itself: `/` keeps it out of every hostname's reach. The edge and the CLI
 * both use it.
 */
export const CANDIDATE_PREFIX = "__edge-cors/candidate/";

/** The KV key of `key`'s candidate. */
export function candidateKey(key: string): string {
  return `${CANDIDATE_PREFIX}${key}`;
}

export const MAX_AGE_LIMIT = 86400;
/** The longest each browser engine caches a preflight, whatever `Access-Control-Max-Age` says. */
export const ENGINE_MAX_AGE: Readonly<Record<string, number>> = { "WebKit (Safari)": 600, Chromium: 7200, Firefox: 86400 };

type JsonSchema = Record<string, unknown>;

export interface FieldSpec {
  name: RuleName;
  description: string;
  schema: JsonSchema;
}

const TOKEN_PATTERN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";
const tokenList = (what: string): JsonSchema => ({
  oneOf: [
    { const: "*", description: `Any ${what} (only without credentials).` },
    { type: "array", items: { type: "string", pattern: TOKEN_PATTERN } },
  ],
});

export const FIELDS: readonly FieldSpec[] = [
  {
    name: "origins",
    description:
      'Origins allowed to read responses: "*" for any (a public API), or a list of serialized origins ' +
      '("https://app.example.com") and subdomain patterns ("https://*.example.org").',
    schema: {
      oneOf: [
        { const: "*" },
        { type: "array", items: { type: "string", minLength: 1, not: { const: "*" } } },
      ],
    },
  },
  {
    name: "credentials",
    description: "Whether pages may send cookies and HTTP authentication (Access-Control-Allow-Credentials). Default false.",
    schema: { type: "boolean", default: false },
  },
  {
    name: "methods",
    description: "Methods a preflight may ask for (Access-Control-Allow-Methods). Default GET, HEAD, POST.",
    schema: { ...tokenList("method"), default: DEFAULT_RULES.methods },
  },
  {
    name: "allowHeaders",
    description: "Request headers a page may send (Access-Control-Allow-Headers), matched case-insensitively. Default none.",
    schema: { ...tokenList("header; never covers Authorization"), default: [] },
  },
  {
    name: "exposeHeaders",
    description: "Response headers a page's script may read beyond the safelisted ones (Access-Control-Expose-Headers). Default none.",
    schema: { ...tokenList("header"), default: [] },
  },
  {
    name: "maxAge",
    description: "Seconds a browser may cache a preflight answer (Access-Control-Max-Age). Default: header left out.",
    schema: { type: "integer", minimum: 0, maximum: MAX_AGE_LIMIT },
  },
  {
    name: "allowInsecureOriginsWithCredentials",
    description:
      "Allow plain http:// and ws:// origins other than loopback with credentials. Anyone on the network path of such a page " +
      "can inject script into it and read the API's credentialed answers. Default false.",
    schema: { type: "boolean", default: false },
  },
  {
    name: "blockCrossOriginWrites",
    description:
      "Refuse with 403, before they reach the origin, requests other than GET, HEAD and OPTIONS, and WebSocket handshakes, " +
      "from browser contexts whose origin these rules do not allow (cross-site form posts, cross-site WebSocket hijacking). Default false.",
    schema: { type: "boolean", default: false },
  },
];

export const RULE_NAMES: ReadonlySet<string> = new Set(FIELDS.map((field) => field.name));
