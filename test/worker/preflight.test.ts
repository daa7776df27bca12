import { describe, expect, it } from "vitest";
import { corsHeaders, exampleHost, putPolicy, received, send, uniqueHost, uniquePath } from "./helpers.js";

function preflight(host: string, path: string, origin: string, method: string, requestHeaders?: string): Promise<Response> {
  const headers: Record<string, string> = { Origin: origin, "Access-Control-Request-Method": method };
  if (requestHeaders !== undefined) headers["Access-Control-Request-Headers"] = requestHeaders;
  return send(`https://${host}${path}`, { method: "OPTIONS", headers });
}

describe("preflight", () => {
  it("answers an allowed preflight at the edge with exactly the policy's headers", async () => {
    const host = await exampleHost();
    const path = uniquePath();
    const res = await preflight(host, path, "https://app.example.com", "PUT", "content-type,authorization");
    expect(res.status).toBe(204);
    expect(corsHeaders(res)).toEqual({
      "access-control-allow-origin": "https://app.example.com",
      "access-control-allow-credentials": "true",
      "access-control-allow-methods": "GET, POST, PUT, DELETE",
      "access-control-allow-headers": "Content-Type, Authorization",
      "access-control-max-age": "600",
      vary: "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
    });
    expect(await received(path)).toEqual([]);
  });

  it("matches requested headers case-insensitively and tolerates spaces", async () => {
    const host = await exampleHost();
    const res = await preflight(host, "/x", "https://app.example.com", "POST", " Content-Type ,  AUTHORIZATION ");
    expect(res.status).toBe(204);
  });

  it.each([
    ["an unlisted origin", "https://evil.com", "PUT", undefined],
    ["a suffix attack", "https://evil-example.org", "PUT", undefined],
    ["a lookalike of a listed origin", "https://app.example.com.evil.com", "PUT", undefined],
    ["the bare domain of a pattern", "https://example.org", "PUT", undefined],
    ["another scheme under a pattern", "http://a.example.org", "PUT", undefined],
    ["the null origin", "null", "PUT", undefined],
    ["an unlisted method", "https://app.example.com", "PATCH", undefined],
    ["a method in the wrong case", "https://app.example.com", "put", undefined],
    ["an unlisted header", "https://app.example.com", "PUT", "content-type,x-secret"],
    ["a malformed header list", "https://app.example.com", "PUT", "content-type;x"],
  ])("refuses %s with 403 and no CORS headers, without reaching the origin", async (_, origin, method, requestHeaders) => {
    const host = await exampleHost();
    const path = uniquePath();
    const res = await preflight(host, path, origin, method, requestHeaders);
    expect(res.status).toBe(403);
    const headers = corsHeaders(res);
    expect(Object.keys(headers).filter((name) => name.startsWith("access-control-"))).toEqual([]);
    expect(headers.vary).toContain("Origin");
    expect(await received(path)).toEqual([]);
  });

  it("allows a pattern's subdomains at any depth", async () => {
    const host = await exampleHost();
    for (const origin of ["https://a.example.org", "https://a.b.example.org"]) {
      const res = await preflight(host, "/x", origin, "DELETE");
      expect(res.status).toBe(204);
      expect(res.headers.get("Access-Control-Allow-Origin")).toBe(origin);
    }
  });

  it("answers a public route with * and no credentials", async () => {
    const host = await exampleHost();
    const res = await preflight(host, "/public/list", "https://anyone.test", "GET");
    expect(res.status).toBe(204);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe("*");
    expect(res.headers.get("Access-Control-Allow-Credentials")).toBeNull();
    expect(res.headers.get("Access-Control-Allow-Methods")).toBe("GET, HEAD");
    expect(res.headers.get("Vary")).toBe("Access-Control-Request-Method, Access-Control-Request-Headers");
  });

  it("uses the route's methods, not the top level's, on a route", async () => {
    const host = await exampleHost();
    expect((await preflight(host, "/public/x", "https://app.example.com", "PUT")).status).toBe(403);
    expect((await preflight(host, "/private/x", "https://app.example.com", "PUT")).status).toBe(204);
  });

  it("forwards an OPTIONS that is not a preflight", async () => {
    const host = await exampleHost();
    const path = uniquePath();
    const withoutMethod = await send(`https://${host}${path}`, { method: "OPTIONS", headers: { Origin: "https://app.example.com" } });
    expect(withoutMethod.status).toBe(200);
    const withoutOrigin = await send(`https://${host}${path}`, { method: "OPTIONS", headers: { "Access-Control-Request-Method": "PUT" } });
    expect(withoutOrigin.status).toBe(200);
    expect((await received(path)).map((r) => r.method)).toEqual(["OPTIONS", "OPTIONS"]);
    expect(withoutMethod.headers.get("Access-Control-Allow-Origin")).toBe("https://app.example.com");
    expect(withoutMethod.headers.get("Access-Control-Allow-Methods")).toBeNull();
  });

  it("leaves out Access-Control-Max-Age when the policy has no maxAge", async () => {
    const host = uniqueHost();
    await putPolicy(host, { origins: ["https://a.test"] });
    const res = await preflight(host, "/x", "https://a.test", "POST");
    expect(res.status).toBe(204);
    expect(res.headers.get("Access-Control-Max-Age")).toBeNull();
    expect(res.headers.get("Access-Control-Allow-Methods")).toBe("GET, HEAD, POST");
    expect(res.headers.get("Access-Control-Allow-Headers")).toBeNull();
  });

  it("refuses every preflight when the policy allows no origin", async () => {
    const host = uniqueHost();
    await putPolicy(host, { origins: [] });
    expect((await preflight(host, "/x", "https://a.test", "GET")).status).toBe(403);
  });
});
