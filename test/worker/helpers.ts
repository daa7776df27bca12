/** Shared helpers for the tests that run the Worker inside workerd. */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../src/worker/index.js";
import { EXAMPLE_POLICY } from "../fixtures/example-policy.js";
import type { Received } from "../origin-server.js";

export { EXAMPLE_POLICY };

let counter = 0;

/** A hostname no other test uses, so each test has its own KV key and cached policy. */
export function uniqueHost(): string {
  counter += 1;
  return `t${counter}-${crypto.randomUUID().slice(0, 8)}.edge.test`;
}

/** A path no other test uses, so the origin's log can be read for this test alone. */
export function uniquePath(name = "x"): string {
  return `/${crypto.randomUUID()}/${name}`;
}

export async function putPolicy(key: string, policy: unknown): Promise<void> {
  await env.CORS_POLICY.put(key, typeof policy === "string" ? policy : JSON.stringify(policy));
}

/**
 * Sends a request through the Worker with `overrides` merged into its env,
 * and waits for its background work (policy refreshes) to finish.
 */
export async function send(url: string, init: RequestInit = {}, overrides: Partial<Env> = {}): Promise<Response> {
  const ctx = createExecutionContext();
  // The runtime fills in `cf` for incoming requests; a test request has none.
  const request = new Request(url, init) as Request<unknown, IncomingRequestCfProperties>;
  const response = await worker.fetch(request, { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

/** What the origin server received under `prefix`. */
export async function received(prefix: string): Promise<Received[]> {
  const res = await fetch(`${env.ORIGIN_URL}/__log?prefix=${encodeURIComponent(prefix)}`);
  return res.json();
}

/** Lets a held origin response (`?hold=ID`) finish. */
export async function release(id: string): Promise<void> {
  const res = await fetch(`${env.ORIGIN_URL}/__release/${id}`, { method: "POST" });
  if (res.status !== 204) throw new Error(`no held response ${id}`);
}

/** All CORS response headers, lowercased, for exact comparisons. */
export function corsHeaders(response: Response): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of response.headers) {
    if (name.startsWith("access-control-") || name === "vary") out[name] = value;
  }
  return out;
}

/** The first message of an upgraded answer's socket, which is then closed. */
export async function firstMessage(res: Response): Promise<string> {
  const socket = res.webSocket;
  if (!socket) throw new Error(`no WebSocket: status ${res.status}`);
  const message = new Promise<string>((resolve) => socket.addEventListener("message", (event) => resolve(String(event.data))));
  socket.accept();
  const text = await message;
  socket.close();
  return text;
}

/** A host with the example policy under its own key. */
export async function exampleHost(): Promise<string> {
  const host = uniqueHost();
  await putPolicy(host, EXAMPLE_POLICY);
  return host;
}
