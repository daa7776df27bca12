// The cross-origin calls the playground page makes. Shared by the page (the
// browser makes them), the page server (it replays them to show the edge's
// headers) and the tests (`edge-cors explain` must name the rule that refuses
// each refused one).
//
// `from`: "page" is the playground's own origin (http://localhost:3000, listed
// in examples/policy.json); "other" is http://127.0.0.1:3001, listed nowhere.
// `expected` and `refusedBy` hold for examples/policy.json.

export const CASES = [
  {
    id: "simple-get",
    title: "Simple GET",
    from: "page",
    method: "GET",
    path: "/api/hello",
    headers: {},
    credentials: false,
    preflight: false,
    expected: "allowed",
    note: "No preflight. The page reads X-Request-Id because the policy exposes it.",
  },
  {
    id: "credentialed",
    title: "GET with credentials (cookies)",
    from: "page",
    method: "GET",
    path: "/api/me",
    headers: {},
    credentials: true,
    preflight: false,
    expected: "allowed",
    note: "credentials: \"include\" needs Access-Control-Allow-Credentials: true and the exact origin, never *.",
  },
  {
    id: "put-json",
    title: "Preflighted PUT with JSON and Authorization",
    from: "page",
    method: "PUT",
    path: "/api/items/1",
    headers: { "Content-Type": "application/json", Authorization: "Bearer demo" },
    body: '{"name":"demo"}',
    credentials: true,
    preflight: true,
    expected: "allowed",
    note: "Both headers are in allowHeaders, PUT is in methods: the edge answers the preflight 204.",
  },
  {
    id: "put-custom-header",
    title: "Preflighted PUT with a custom header",
    from: "page",
    method: "PUT",
    path: "/api/items/2",
    headers: { "X-Custom": "1" },
    body: "{}",
    credentials: false,
    preflight: true,
    expected: "refused",
    refusedBy: "$.allowHeaders",
    note: "X-Custom is not in allowHeaders: the preflight gets 403 and the PUT is never sent.",
  },
  {
    id: "patch",
    title: "PATCH, a method the policy does not list",
    from: "page",
    method: "PATCH",
    path: "/api/items/1",
    headers: {},
    body: "{}",
    credentials: false,
    preflight: true,
    expected: "refused",
    refusedBy: "$.methods",
    note: "PATCH is not a safelisted method, so it needs a preflight, and methods does not list it.",
  },
  {
    id: "other-origin",
    title: "Simple GET from an origin the policy does not list",
    from: "other",
    method: "GET",
    path: "/api/hello",
    headers: {},
    credentials: false,
    preflight: false,
    expected: "refused",
    refusedBy: "$.origins",
    note: "The request reaches the origin (CORS does not stop it), but the answer has no Access-Control-Allow-Origin, so the page cannot read it.",
  },
  {
    id: "public-route",
    title: "Public route from that same unlisted origin",
    from: "other",
    method: "GET",
    path: "/public/status",
    headers: {},
    credentials: false,
    preflight: false,
    expected: "allowed",
    note: "The route /public/* allows any origin (\"*\") without credentials.",
  },
  {
    id: "public-route-credentials",
    title: "Public route with credentials",
    from: "other",
    method: "GET",
    path: "/public/status",
    headers: {},
    credentials: true,
    preflight: false,
    expected: "refused",
    refusedBy: "$.routes[0].credentials",
    note: "Access-Control-Allow-Origin: * is never enough for a request with credentials.",
  },
  {
    id: "cross-origin-write",
    title: "Form-style POST from the unlisted origin, with cookies",
    from: "other",
    method: "POST",
    path: "/api/transfer",
    // No Content-Type set: a string body goes as text/plain, like a form's, so no preflight.
    headers: {},
    body: "amount=100&to=mallory",
    credentials: true,
    preflight: false,
    expected: "refused",
    refusedBy: "$.blockCrossOriginWrites",
    note: "A text/plain or form POST needs no preflight: CORS alone would let it run on the origin with the user's cookies and only hide the answer (CSRF). blockCrossOriginWrites makes the edge refuse it with 403 before forwarding: the origin never sees it.",
  },
];

/** The `edge-cors explain` command line for a case, as a user types it. */
export function explainArgs(testCase, origin, policyFile = "examples/policy.json") {
  const args = [policyFile, "--origin", origin, "--method", testCase.method, "--path", testCase.path];
  for (const name of Object.keys(testCase.headers)) args.push("--header", name);
  if (testCase.credentials) args.push("--credentials");
  return args;
}
