/**
 * `edge-cors explain`: runs a request through the same `decide` the worker
 * calls, shows the exact headers the edge would answer with, and judges them
 * as a browser would.
 */
import {
  checkOrigin,
  compilePolicy,
  decide,
  isToken,
  rulesFor,
  type CompiledPolicy,
  type CompiledRules,
  type Decision,
  type HeaderList,
  type PolicyDocument,
  type Refusal,
} from "../core/index.js";
import {
  ENGINE_MODELS,
  corsCheck,
  isHttpLoopback,
  needsPreflight,
  preflightCache,
  normalizeMethod,
  preflightCheck,
  unsafeHeaderNames,
  type BrowserFailure,
  type BrowserRequest,
} from "./browser.js";
import { EXIT_OK, EXIT_REFUSED, UsageError, listOption, stringOption, type Command } from "./command.js";
import type { Output } from "./output.js";
import { printProblems, readPolicyFile } from "./policy-file.js";

/** The edge's own URL never matters except that it is not the page's origin. */
const EDGE_URL = "https://edge.invalid";

export interface Step {
  /** The headers the browser sends that CORS looks at. */
  request: HeaderList;
  /** 204/403 for a preflight, 403 for a write refused at the edge; null for a forwarded request (the origin's status). */
  status: number | null;
  /** Whether the request reaches the origin server. */
  forwarded: boolean;
  /** The CORS headers the edge answers with (on a forwarded request: adds). */
  headers: HeaderList;
  browser: BrowserFailure | null;
}

export interface Explanation {
  allowed: boolean;
  /** JSON path of the rules in force on the path: `$` or `$.routes[N]`. */
  rules: string;
  request: BrowserRequest & { path: string };
  preflight: Step | null;
  /** Null when the browser never sends it (the preflight failed). */
  actual: Step | null;
  refusal: (Omit<Refusal, "rule"> & { rule: Refusal["rule"] | "credentials" | "status"; by: "edge" | "browser"; fix: string }) | null;
  /** Where the engines differ for this request: the model above is the standard, these are each engine's own. */
  engines: EngineNotes;
}

export interface EngineNotes {
  /** How long each engine caches the passed preflight; null without one. */
  preflightCache: { engine: string; seconds: number }[] | null;
  /** What the page's script sees of a refusal in each engine; null when allowed. */
  refusal: { engine: string; error: string }[] | null;
  /** A credentialed request from plain-http loopback: WebKit/Safari never sends Secure cookies there. */
  secureCookiesDroppedByWebKit: boolean;
}

export function explain(document: PolicyDocument, compiled: CompiledPolicy, request: BrowserRequest & { path: string }): Explanation {
  const url = new URL(request.path, EDGE_URL);
  const rules = rulesFor(compiled, url.pathname);
  let preflight: Step | null = null;
  let edgeRefusal: Refusal | null = null;
  if (needsPreflight(request)) {
    const names = unsafeHeaderNames(request.headers);
    const requestHeaders = names.length > 0 ? names.join(",") : null;
    const decision = decide(compiled, { method: "OPTIONS", url, origin: request.origin, requestMethod: request.method, requestHeaders });
    const status = decision.allowed ? 204 : 403;
    const headers = answerHeaders(decision);
    const sent: HeaderList = [
      ["Origin", request.origin],
      ["Access-Control-Request-Method", request.method],
      ...(requestHeaders ? [["Access-Control-Request-Headers", requestHeaders] as const] : []),
    ];
    preflight = { request: sent, status, headers, forwarded: false, browser: preflightCheck(status, headers, request) };
    if (!decision.allowed) edgeRefusal = decision.refusal;
  }
  let actual: Step | null = null;
  if (!preflight?.browser) {
    // The page is on another site than the edge (EDGE_URL), and browsers say so in Sec-Fetch-Site.
    const upgrade = request.headers.find((header) => header.name.toLowerCase() === "upgrade")?.value ?? null;
    const decision = decide(compiled, { method: request.method, url, origin: request.origin, requestMethod: null, requestHeaders: null, fetchSite: "cross-site", upgrade });
    const headers = answerHeaders(decision);
    const blocked = decision.kind === "blocked";
    actual = {
      request: [["Origin", request.origin], ["Sec-Fetch-Site", "cross-site"]],
      status: blocked ? 403 : null,
      forwarded: !blocked,
      headers,
      browser: corsCheck(headers, request),
    };
    if (!decision.allowed) edgeRefusal = decision.refusal;
  }
  const failure = preflight?.browser ?? actual?.browser ?? null;
  return {
    allowed: failure === null,
    rules: rules.source,
    request,
    preflight,
    actual,
    refusal: failure === null ? null : refusalOf(failure, edgeRefusal, rules, document, request),
    engines: {
      preflightCache: preflight && !preflight.browser ? preflightCache(preflight.headers) : null,
      refusal: failure === null ? null : ENGINE_MODELS.map((engine) => ({ engine: engine.name, error: engine.refusal })),
      secureCookiesDroppedByWebKit: request.credentials && isHttpLoopback(request.origin),
    },
  };
}

/** The CORS headers of the edge's answer: the policy's when allowed, and Vary. */
function answerHeaders(decision: Decision): HeaderList {
  return [...(decision.allowed ? decision.headers : []), ...(decision.vary ? [["Vary", decision.vary] as const] : [])];
}

/** Which rule refused, and what to change: the edge's reason when it refused, else the browser's. */
function refusalOf(
  failure: BrowserFailure,
  edge: Refusal | null,
  rules: CompiledRules,
  document: PolicyDocument,
  request: BrowserRequest,
): NonNullable<Explanation["refusal"]> {
  if (edge) return { ...edge, by: "edge", fix: edgeFix(edge, rules, document, request) };
  const field = `${rules.source}.credentials`;
  if (failure.check === "credentials") {
    const fix = rules.isPublic
      ? `${rules.source} is public (origins "*" without credentials): send the request without credentials, or list the origins in ${rules.source}.origins and set ${owner(field, document)} to true`
      : `set ${owner(field, document)} to true, or send the request without credentials`;
    return { rule: "credentials", field, message: failure.message, by: "browser", fix };
  }
  // The edge allowed what a browser refuses: a bug in the edge, never a policy question.
  return { rule: failure.check === "status" ? "status" : failure.check, field: null, message: failure.message, by: "browser", fix: "report this: the edge and the browser disagree" };
}

function edgeFix(refusal: Refusal, rules: CompiledRules, document: PolicyDocument, request: BrowserRequest): string {
  const where = refusal.field === null ? "the policy" : owner(refusal.field, document);
  switch (refusal.rule) {
    case "no-policy":
      return "store a valid policy under the host's key or under default";
    case "origin": {
      const check = checkOrigin(request.origin);
      if (!check.ok) return `browsers never send ${JSON.stringify(request.origin)} as an Origin: check the page's origin`;
      return `add "${request.origin}" to ${where}`;
    }
    case "method":
      return `add "${request.method}" to ${where}`;
    case "cross-origin-write":
      return `add "${request.origin}" to the origins of ${rules.source}, or set ${where} to false`;
    case "header": {
      const refused = request.headers.find((header) => {
        const lower = header.name.toLowerCase();
        return unsafeHeaderNames([header]).length > 0 && !rules.allowHeaders.has(lower) && !(rules.anyHeader && lower !== "authorization");
      });
      if (!refused) return `list the request's headers in ${where}`;
      const beside = rules.anyHeader ? ' beside "*" (which never covers Authorization)' : "";
      return `add "${refused.name}" to ${where}${beside}`;
    }
  }
}

/** A route field the route does not set itself comes from the top level: that is the one to change. */
function owner(field: string, document: PolicyDocument): string {
  const match = /^\$\.routes\[(\d+)\]\.(\w+)$/.exec(field);
  if (!match) return field;
  const route = document.routes?.[Number(match[1])] as Record<string, unknown> | undefined;
  if (route?.[match[2]!] !== undefined) return field;
  return `$.${match[2]} (which $.routes[${match[1]}] inherits), or give the route its own ${match[2]}`;
}

export const explainCommand: Command = {
  name: "explain",
  summary: "show what the edge answers to a request, and whether a browser allows it",
  usage: "edge-cors explain FILE --origin ORIGIN [--method M] [--header NAME[:VALUE]]… [--path P] [--credentials] [--candidate FILE] [--json]",
  help: `Runs the request through the same decision code as the worker: the preflight
(when the browser would send one) and the actual request, with the exact CORS
headers of each answer. Then judges them as a browser does, and when the
request is refused says which rule refused it and what to change.

Options:
  --origin ORIGIN      the page's origin, as the browser sends it (required)
  --method M           the request's method (default GET)
  --header NAME[:VALUE] a request header the page sets; repeat for more.
                       Without a value, Content-Type counts as not safelisted
  --path P             the request's path, for route rules (default /)
  --credentials        the page sends credentials (fetch's credentials: "include")
  --candidate FILE     also explain the request under a candidate policy, and
                       say how its answer differs (what report-only mode records)
  --json               print the whole explanation as JSON

Exit: 0 the browser allows the request, 1 it refuses it or the policy is invalid
(under FILE; the candidate only informs), 2 usage error.

Example:
  edge-cors explain examples/policy.json --origin http://localhost:3000 \\
    --method PUT --header X-Custom --path /api/items/1`,
  options: {
    origin: { type: "string" },
    method: { type: "string", default: "GET" },
    header: { type: "string", multiple: true },
    path: { type: "string", default: "/" },
    credentials: { type: "boolean" },
    candidate: { type: "string" },
  },
  positionals: { min: 1, max: 1 },
  async run({ values, positionals }, out) {
    const request = readRequest(values);
    const candidatePath = stringOption(values, "candidate");
    const files = [positionals[0]!, ...(candidatePath ? [candidatePath] : [])];
    const results: { file: string; result: Explanation }[] = [];
    for (const path of files) {
      const file = await readPolicyFile(path);
      if (!file.result.ok) {
        if (out.json) out.data({ allowed: false, file: file.file, errors: file.result.errors, warnings: file.result.warnings });
        else {
          out.line(`${file.file}: ${out.color.red("invalid")}: the edge would never use this policy`);
          printProblems(out, file.result.errors);
        }
        return EXIT_REFUSED;
      }
      results.push({ file: file.file, result: explain(JSON.parse(file.text) as PolicyDocument, compilePolicy(file.result.policy), request) });
    }
    const [enforced, candidate] = results as [(typeof results)[number], (typeof results)[number] | undefined];
    if (out.json) out.data(candidate ? { ...enforced.result, candidate: candidate.result, change: changeOf(enforced.result, candidate.result).words } : enforced.result);
    else {
      print(out, enforced.file, enforced.result);
      if (candidate) {
        out.line();
        out.line(out.color.bold(`under the candidate, ${candidate.file}:`));
        print(out, candidate.file, candidate.result);
        out.line();
        out.line(out.color.bold(`the candidate ${changeOf(enforced.result, candidate.result).words}`));
      }
    }
    return enforced.result.allowed ? EXIT_OK : EXIT_REFUSED;
  },
};

export interface Change {
  change: "blocked" | "allowed-to-refused" | "refused-to-allowed" | "headers" | "same";
  /** In the words a report uses too. */
  words: string;
}

/** How the candidate's answer differs from the enforced one (the playground shows it too). */
export function changeOf(enforced: Explanation, candidate: Explanation): Change {
  const blocked = (result: Explanation) => result.actual !== null && !result.actual.forwarded;
  if (blocked(candidate) && !blocked(enforced)) return { change: "blocked", words: "would refuse before forwarding a request that reaches the origin today" };
  if (enforced.allowed && !candidate.allowed) return { change: "allowed-to-refused", words: "would refuse what is allowed today" };
  if (!enforced.allowed && candidate.allowed) return { change: "refused-to-allowed", words: "would allow what is refused today" };
  const headers = (result: Explanation) => JSON.stringify([result.preflight?.headers ?? null, result.actual?.headers ?? null]);
  return headers(enforced) === headers(candidate)
    ? { change: "same", words: "would answer exactly the same" }
    : { change: "headers", words: "would answer with other CORS headers" };
}

function readRequest(values: Parameters<Command["run"]>[0]["values"]): Explanation["request"] {
  const origin = stringOption(values, "origin");
  if (origin === undefined) throw new UsageError("--origin is required: the page's origin, like https://app.example.com");
  const check = checkOrigin(origin);
  if (check.ok && check.entry.kind === "pattern") throw new UsageError("--origin takes one origin, not a pattern");
  const method = normalizeMethod(stringOption(values, "method") ?? "GET");
  if (!isToken(method)) throw new UsageError(`--method ${JSON.stringify(method)} is not a method name`);
  const path = stringOption(values, "path") ?? "/";
  if (!path.startsWith("/")) throw new UsageError(`--path must start with "/", not ${JSON.stringify(path)}`);
  const headers = listOption(values, "header").map((item) => {
    const colon = item.indexOf(":");
    const name = (colon === -1 ? item : item.slice(0, colon)).trim();
    if (!isToken(name)) throw new UsageError(`--header ${JSON.stringify(item)}: ${JSON.stringify(name)} is not a header name`);
    return { name, value: colon === -1 ? null : item.slice(colon + 1).trim() };
  });
  return { origin, method, headers, credentials: values.credentials === true, path };
}

function print(out: Output, file: string, result: Explanation): void {
  const { red, green, dim, bold } = out.color;
  const { request } = result;
  const rulesName = result.rules === "$" ? "the top-level rules ($)" : `the rules of ${result.rules}`;
  out.line(`${bold(`${request.method} ${request.path}`)} from ${request.origin}${request.credentials ? " with credentials" : ""}`);
  out.line(dim(`policy ${file}: ${rulesName} apply to ${request.path}`));
  if (result.preflight) {
    const { preflight } = result;
    out.line();
    out.line(`${bold("preflight")}  OPTIONS ${request.path}`);
    for (const [name, value] of preflight.request) out.line(dim(`  > ${name}: ${value}`));
    const verdict = preflight.status === 204 ? green("204 No Content") : red(`${preflight.status} Forbidden`);
    out.line(`  edge answers ${verdict} (at the edge, never forwarded)`);
    for (const [name, value] of preflight.headers) out.line(`  < ${name}: ${value}`);
    out.line(`  browser: ${preflight.browser ? red(`fails the preflight: ${preflight.browser.message}`) : green("preflight passes")}`);
    const cache = result.engines.preflightCache;
    if (cache) out.line(`  cached for ${cache.map(({ engine, seconds }) => `${engine} ${seconds} s`).join(", ")} ${dim("(each engine caps Access-Control-Max-Age)")}`);
  } else {
    out.line(dim("no preflight: a simple request (safelisted method and headers)"));
  }
  out.line();
  if (!result.actual) {
    out.line(`${bold("actual request")}  not sent: the preflight failed`);
  } else {
    if (!result.actual.forwarded) {
      out.line(`${bold("actual request")}  ${request.method} ${request.path}, ${red("403 Forbidden")} at the edge: a cross-origin write, never forwarded`);
    } else {
      out.line(`${bold("actual request")}  ${request.method} ${request.path}, forwarded to the origin`);
    }
    const added = result.actual.headers;
    if (added.length === 0) out.line("  edge adds no CORS headers");
    for (const [name, value] of added) out.line(`  < ${name}: ${value}${name === "Vary" ? dim("  (merged with the origin's Vary)") : ""}`);
    out.line(`  browser: ${result.actual.browser ? red(`hides the answer: ${result.actual.browser.message}`) : green("lets the page read the answer")}`);
    if (result.actual.browser && result.actual.forwarded) {
      out.line(dim("  (the request still reaches the origin: CORS hides the answer from the page, it does not stop the request; blockCrossOriginWrites stops writes)"));
    }
  }
  out.line();
  if (result.engines.secureCookiesDroppedByWebKit) {
    out.line(dim("WebKit/Safari never sends a Secure cookie over plain http to localhost: use https, or a cookie without Secure, to try credentials there"));
  }
  if (!result.refusal) {
    out.line(`${green("ALLOWED")}: the page can make this request and read the answer`);
    return;
  }
  const { refusal } = result;
  out.line(`${red("REFUSED")} by the ${refusal.by === "edge" ? "edge" : "browser"}`);
  out.line(`  rule   ${refusal.rule}${refusal.field ? `  (${refusal.field})` : ""}`);
  out.line(`  why    ${refusal.message}`);
  out.line(`  fix    ${refusal.fix}`);
  const errors = result.engines.refusal ?? [];
  out.line(dim(`  the page's script sees only a TypeError: ${errors.map(({ engine, error }) => `${engine} "${error.replace(/^TypeError: /, "")}"`).join(", ")}`));
}
