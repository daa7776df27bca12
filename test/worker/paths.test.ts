/**
 * Through the Worker, against the real origin server: routes chosen on the
 * path as servers read it (and the request forwarded exactly as it came),
 * public answers that caches can share, and the host key's trailing dot.
 */
import { describe, expect, it } from "vitest";
import { corsHeaders, putPolicy, received, send, uniqueHost } from "./helpers.js";

const TOP = "https://blog.example.com";
const ADMIN = "https://admin.example.com";

/** The policy: the top level trusts every subdomain, the admin area only one, under a prefix unique to the test. */
async function adminHost(prefix: string): Promise<string> {
  const host = uniqueHost();
  await putPolicy(host, {
    origins: ["https://*.example.com"],
    credentials: true,
    methods: ["GET", "PUT"],
    routes: [{ path: `${prefix}/admin/*`, origins: [ADMIN] }],
  });
  return host;
}

describe("routes cannot be bypassed by spelling a path differently", () => {
  const spellings = ["/%61dmin/users", "/ADMIN/../admin/users", "/admin%2Fusers", "/admin%2fusers", "//admin/users", "/admin;x/users", "/x/..%2Fadmin/users"];

  it.each(spellings)("GET %s from an origin only the top level trusts: forwarded as it came, without CORS headers", async (spelled) => {
    const prefix = `/${crypto.randomUUID()}`;
    const host = await adminHost(prefix);
    const res = await send(`https://${host}${prefix}${spelled}`, { headers: { Origin: TOP, Cookie: "session=1" } });
    expect(res.status).toBe(200);
    expect(corsHeaders(res)).toEqual({ vary: "Origin" });
    const log = await received(prefix);
    expect(log.map((r) => r.url)).toEqual([new URL(`https://x${prefix}${spelled}`).pathname]);
    expect(log[0]?.headers.cookie).toBe("session=1");
  });

  it.each(spellings)("a PUT preflight for %s from an origin only the top level trusts is refused at the edge", async (spelled) => {
    const prefix = `/${crypto.randomUUID()}`;
    const host = await adminHost(prefix);
    const res = await send(`https://${host}${prefix}${spelled}`, { method: "OPTIONS", headers: { Origin: TOP, "Access-Control-Request-Method": "PUT" } });
    expect(res.status).toBe(403);
    expect(await received(prefix)).toEqual([]);
  });

  it.each(spellings)("%s from the admin origin is allowed, as the plain path is", async (spelled) => {
    const prefix = `/${crypto.randomUUID()}`;
    const host = await adminHost(prefix);
    const res = await send(`https://${host}${prefix}${spelled}`, { headers: { Origin: ADMIN } });
    expect(corsHeaders(res)).toEqual({ "access-control-allow-origin": ADMIN, "access-control-allow-credentials": "true", vary: "Origin" });
  });

  it("the plain path: the top level's origin refused, the admin origin allowed", async () => {
    const prefix = `/${crypto.randomUUID()}`;
    const host = await adminHost(prefix);
    const top = await send(`https://${host}${prefix}/admin/users`, { headers: { Origin: TOP } });
    expect(corsHeaders(top)).toEqual({ vary: "Origin" });
    const outside = await send(`https://${host}${prefix}/blog`, { headers: { Origin: TOP } });
    expect(corsHeaders(outside)).toMatchObject({ "access-control-allow-origin": TOP });
  });
});

describe("public answers are safe for caches", () => {
  const PUBLIC = { origins: ["https://app.test"], credentials: true, exposeHeaders: ["X-Top"], routes: [{ path: "/pub/*", origins: "*", credentials: false, exposeHeaders: ["X-Request-Id"] }] };

  it.each([
    ["without Origin", {}],
    ["from the same origin", { Origin: "SAME" }],
    ["from another origin", { Origin: "https://anyone.test" }],
  ])("a public path answers %s with Access-Control-Allow-Origin: * and its exposed headers, and no Vary: Origin", async (_, headers) => {
    const host = uniqueHost();
    await putPolicy(host, PUBLIC);
    const path = `/pub/${crypto.randomUUID()}`;
    const init = { headers: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, value === "SAME" ? `https://${host}` : value])) };
    const res = await send(`https://${host}${path}`, init);
    expect(res.status).toBe(200);
    expect(corsHeaders(res)).toEqual({ "access-control-allow-origin": "*", "access-control-expose-headers": "X-Request-Id" });
    expect(await received(path)).toHaveLength(1);
  });

  it("a credentialed path still answers a request without Origin with no CORS headers, and Vary: Origin", async () => {
    const host = uniqueHost();
    await putPolicy(host, PUBLIC);
    const res = await send(`https://${host}/private`);
    expect(corsHeaders(res)).toEqual({ vary: "Origin" });
  });
});

describe("the host key", () => {
  it("a trailing dot or capitals on the Host find the host's own policy, not default's", async () => {
    const host = uniqueHost();
    await putPolicy(host, { origins: ["https://strict.test"] });
    for (const spelled of [host, `${host}.`, host.toUpperCase(), `${host.toUpperCase()}.`]) {
      // Missing the key would mean default's policy (here: none, so no CORS headers at all).
      const listed = await send(`https://${spelled}/x`, { headers: { Origin: "https://strict.test" } });
      expect([spelled, corsHeaders(listed)]).toEqual([spelled, { "access-control-allow-origin": "https://strict.test", vary: "Origin" }]);
      const other = await send(`https://${spelled}/x`, { headers: { Origin: "https://evil.test" } });
      expect([spelled, corsHeaders(other)]).toEqual([spelled, { vary: "Origin" }]);
    }
  });
});
