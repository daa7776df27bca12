/**
 * The same property at the edge: generated policies stored in KV, generated
 * requests sent through the Worker in workerd (forwarded ones reach the real
 * origin server), and every answer compared with the reference model.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { corsHeaders, putPolicy, received, send, uniqueHost } from "../worker/helpers.js";
import { policyDoc, request } from "./arbitraries.js";
import { modelDecide, modelPolicy, type ModelRequest } from "./model.js";

/** Header values as clients send them: printable ASCII and tabs (control characters and obs-text are in test/fuzz). */
const headerNoise = fc.string({
  unit: fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.constant(0x09)).map((code) => String.fromCharCode(code)),
  maxLength: 40,
});

function toRequest(req: ModelRequest): Request {
  const headers = new Headers();
  if (req.origin !== null) headers.set("Origin", req.origin);
  if (req.requestMethod !== null) headers.set("Access-Control-Request-Method", req.requestMethod);
  if (req.requestHeaders !== null) headers.set("Access-Control-Request-Headers", req.requestHeaders);
  if (req.fetchSite) headers.set("Sec-Fetch-Site", req.fetchSite);
  return new Request(req.url, { method: req.method, headers });
}

describe("the edge allows exactly what the model allows", () => {
  it("for generated policies and requests, status, CORS headers, Vary and whether the origin is reached", async () => {
    const forwarded: string[] = [];
    const prefix = crypto.randomUUID();
    let count = 0;
    await fc.assert(
      fc.asyncProperty(
        policyDoc.chain((doc) => fc.tuple(fc.constant(doc), fc.constant(uniqueHost())).chain(([d, host]) => fc.tuple(fc.constant(d), fc.array(request(d, headerNoise, host), { minLength: 1, maxLength: 6 })))),
        async ([doc, requests]) => {
          const host = new URL(requests[0]!.url).hostname;
          await putPolicy(host, doc);
          for (const req of requests) {
            const outgoing = toRequest(req);
            // What the Worker sees after the Headers API normalized the values (it trims white space).
            const seen: ModelRequest = {
              ...req,
              origin: outgoing.headers.get("Origin"),
              requestMethod: outgoing.headers.get("Access-Control-Request-Method"),
              requestHeaders: outgoing.headers.get("Access-Control-Request-Headers"),
              fetchSite: outgoing.headers.get("Sec-Fetch-Site"),
              // A real handshake is tested in test/worker: the origin server would answer 101 here.
              upgrade: null,
            };
            const expected = modelDecide(modelPolicy(doc), seen);
            const tag = `${prefix}-${(count += 1)}`;
            const res = await send(`${outgoing.url}?tag=${tag}`, { method: req.method, headers: outgoing.headers });
            expect(res.status).toBe(expected.kind === "forward" ? 200 : expected.allowed ? 204 : 403);
            const cors = corsHeaders(res);
            const { vary, ...rest } = cors;
            expect(rest).toEqual(expected.headers);
            expect(vary ?? null).toBe(expected.vary);
            if (expected.kind === "forward") forwarded.push(tag);
            await res.body?.cancel();
          }
        },
      ),
      { numRuns: 60 },
    );
    // Exactly the forwarded requests reached the origin; no preflight did.
    const reached = (await received("/")).map((r) => new URL(r.url, "http://origin.test").searchParams.get("tag") ?? "");
    expect(reached.filter((tag) => tag.startsWith(prefix)).sort()).toEqual(forwarded.sort());
  });
});
