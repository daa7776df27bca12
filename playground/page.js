// The playground page: makes each case's cross-origin call from this origin
// (the ones "from other" run in an iframe on the other origin), shows whether
// the browser let the script read the answer, and the edge's headers that
// decided it.
import { CASES, explainArgs } from "./cases.js";

const config = await (await fetch("/config.json")).json();
// A new URL on every load: the browser caches a successful preflight (Access-Control-Max-Age)
// per URL, which would hide a policy change for up to maxAge seconds.
const run = new URLSearchParams(location.search).get("run") ?? String(Date.now());

/** Makes the call as an application would, and records what its script could see. */
async function call(testCase) {
  const init = { method: testCase.method, headers: testCase.headers, body: testCase.body };
  if (testCase.credentials) init.credentials = "include";
  try {
    const res = await fetch(`${config.edge}${testCase.path}?run=${run}`, init);
    const body = await res.json().catch(() => null);
    return {
      id: testCase.id,
      allowed: true,
      status: res.status,
      requestId: res.headers.get("X-Request-Id"),
      originSaw: body && { method: body.method, cookie: body.cookie ?? null },
    };
  } catch (err) {
    return { id: testCase.id, allowed: false, error: `${err.name}: ${err.message}` };
  }
}

async function runAll(from) {
  const results = [];
  for (const testCase of CASES.filter((c) => c.from === from)) results.push(await call(testCase));
  return results;
}

/** The cases of the unlisted origin run in an iframe served from it. */
function runInFrame() {
  return new Promise((resolve, reject) => {
    const frame = document.createElement("iframe");
    frame.src = `${config.other}/frame.html?run=${run}`;
    frame.hidden = true;
    const timer = setTimeout(() => reject(new Error(`no answer from ${config.other}`)), 15000);
    addEventListener("message", function onMessage(event) {
      if (event.origin !== config.other || event.data?.kind !== "results") return;
      removeEventListener("message", onMessage);
      clearTimeout(timer);
      resolve(event.data.results);
    });
    document.body.append(frame);
  });
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

function headerBlock(title, step) {
  if (!step) return null;
  const lines = Object.entries(step.headers).map(([name, value]) => `${name}: ${value}`);
  return el(
    "div",
    { class: "step" },
    el("div", { class: "step-title" }, `${title} → ${step.status}`),
    el("pre", {}, lines.length > 0 ? lines.join("\n") : "(no CORS headers)"),
    step.reason ? el("p", { class: "reason" }, `The edge's answer: "${step.reason}"`) : null,
  );
}

/** The commands the page shows, with --persist-to when the playground keeps local KV elsewhere. */
function showCommands() {
  const local = `--local${config.persistTo ? ` --persist-to ${config.persistTo}` : ""}`;
  document.querySelector("#policy-commands").textContent =
    `npx edge-cors push ${local} playground/allow-x-custom.json   # also allows the X-Custom header\n` +
    `npx edge-cors rollback ${local}                               # back to the policy before`;
  document.querySelector("#candidate-push").textContent = `npx edge-cors push ${local} playground/candidate.json --candidate`;
  document.querySelector("#candidate-commands").textContent =
    `npx edge-cors report ${config.edgeLog}   # what the candidate would change, by origin and rule, with counts\n` +
    `npx edge-cors promote ${local}   # enforce the candidate (the policy it replaces is kept)\n` +
    `npx edge-cors rollback ${local}  # back to the policy before the promote\n` +
    `npx edge-cors discard ${local}   # or drop the candidate without enforcing it`;
}

/** What the page says of the stored candidate, above the calls. */
function candidateStatus(candidate) {
  if (candidate.error && candidate.stored === undefined) return `Could not read the candidate: ${candidate.error}`;
  if (!candidate.stored) return `No candidate is stored under "${candidate.candidateKey}".`;
  if (!candidate.valid) return `The candidate under "${candidate.candidateKey}" is invalid, so the edge ignores it: ${candidate.errors.join("; ")}`;
  if (candidate.error) return `A candidate is stored under "${candidate.candidateKey}", but ${candidate.error}.`;
  const changes = Object.values(candidate.cases).filter((c) => c.change !== "same").length;
  return `A candidate is stored under "${candidate.candidateKey}": it would change ${changes} of ${CASES.length} calls. The answers below are still the policy's.`;
}

/** How the candidate would answer one call, when one is stored. */
function candidateLine(testCase, change, origin) {
  if (!change) return null;
  const why = change.change === "allowed-to-refused" || change.change === "blocked"
    ? ` (${change.refusal.rule}${change.refusal.field ? `, ${change.refusal.field}` : ""})`
    : "";
  const command = `npx edge-cors explain examples/policy.json --candidate playground/candidate.json ${explainArgs(testCase, origin).slice(1).join(" ")}`;
  return el(
    "div",
    { class: `candidate ${change.change}` },
    el("p", {}, el("strong", {}, "The candidate: "), `${change.words}${why}`),
    change.headers.length > 0 && change.change !== "same" ? el("pre", {}, change.headers.join("\n")) : null,
    change.change === "same" ? null : el("p", { class: "explain" }, el("code", {}, command)),
  );
}

function render(testCase, result, probe, change) {
  const origin = testCase.from === "page" ? config.page : config.other;
  const verdict = result.allowed ? "allowed" : "refused";
  const matches = verdict === testCase.expected;
  const seen = result.allowed
    ? `status ${result.status}; X-Request-Id: ${result.requestId ?? "(not readable)"}` +
      (result.originSaw ? `; the origin got ${result.originSaw.method}, cookie: ${result.originSaw.cookie ?? "none"}` : "")
    : `${result.error} (the browser hides the answer from the script)`;
  const edge = el("div", { class: "edge" });
  if (probe.error) edge.append(el("p", { class: "error" }, probe.error));
  edge.append(
    headerBlock(`preflight OPTIONS ${testCase.path}`, probe.preflight) ?? "",
    probe.preflight && !probe.actual ? el("p", {}, "The browser does not send the actual request.") : "",
    headerBlock(`${testCase.method} ${testCase.path}`, probe.actual) ?? "",
  );
  const explain = result.allowed ? null : el("p", { class: "explain" }, "Why? ", el("code", {}, `npx edge-cors explain ${explainArgs(testCase, origin).join(" ")}`));
  return el(
    "section",
    { class: `case ${verdict}`, "data-case": testCase.id, "data-verdict": verdict, ...(change ? { "data-candidate": change.change } : {}) },
    el(
      "h2",
      {},
      el("span", { class: `badge ${verdict}` }, result.allowed ? "ALLOWED" : "BLOCKED"),
      ` ${testCase.title}`,
    ),
    el("p", { class: "what" }, el("code", {}, `${testCase.method} ${testCase.path}`), ` from ${origin}`, testCase.credentials ? " with credentials" : "", Object.keys(testCase.headers).length ? `, headers: ${Object.keys(testCase.headers).join(", ")}` : ""),
    el("p", { class: "note" }, testCase.note, matches ? "" : el("strong", {}, ` (examples/policy.json ${testCase.expected === "allowed" ? "allows" : "refuses"} this: the stored policy differs)`)),
    el("p", { class: "seen" }, el("strong", {}, "The page's script: "), seen),
    el("details", { open: "" }, el("summary", {}, "The edge's answer"), edge),
    explain,
    candidateLine(testCase, change, origin),
  );
}

async function main() {
  if (location.origin === config.other) {
    parent.postMessage({ kind: "results", results: await runAll("other") }, config.page);
    return;
  }
  document.querySelector("#edge").textContent = config.edge;
  document.querySelector("#page-origin").textContent = config.page;
  document.querySelector("#other-origin").textContent = config.other;
  showCommands();
  const status = document.querySelector("#status");
  // Reading the candidate from local KV takes wrangler a few seconds: meanwhile the page makes its calls.
  const candidateRead = fetch("/candidate").then((res) => res.json()).catch((err) => ({ error: err.message }));
  const warmed = await (await fetch("/warm")).json();
  if (!warmed.ok) status.textContent = warmed.error;
  const results = [...(await runAll("page")), ...(await runInFrame())];
  const candidate = await candidateRead;
  document.querySelector("#candidate-status").textContent = candidateStatus(candidate);
  document.querySelector("#candidate").dataset.stored = String(candidate.stored === true && candidate.valid === true && !candidate.error);
  const list = document.querySelector("#cases");
  for (const testCase of CASES) {
    const result = results.find((r) => r.id === testCase.id);
    const probe = await (await fetch(`/probe?case=${testCase.id}&run=${run}`)).json();
    list.append(render(testCase, result, probe, candidate.cases?.[testCase.id]));
  }
  const allowed = results.filter((r) => r.allowed).length;
  status.textContent = `${allowed} of ${results.length} calls allowed by the browser (run ${run}).`;
  document.body.dataset.state = "done";
}

main().catch((err) => {
  document.body.dataset.state = "failed";
  const status = document.querySelector("#status");
  if (status) status.textContent = `The playground failed: ${err.message}`;
  throw err;
});
