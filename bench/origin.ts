/**
 * The origin server behind the forwarding rounds, in its own process so that
 * it shares no event loop with the load generator. It answers every request
 * with a small JSON body and CORS headers of its own, which the edge and
 * Hono's `cors` must replace. Started by run.ts with an IPC channel.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

const body = Buffer.from(JSON.stringify({ items: [{ id: 1, name: "one" }, { id: 2, name: "two" }] }));
const headers = {
  "Content-Type": "application/json",
  "Content-Length": String(body.length),
  "Access-Control-Allow-Origin": "*",
  "Cache-Control": "no-store",
  Vary: "Accept-Encoding",
};

const server = createServer((req, res) => {
  req.resume();
  req.on("end", () => res.writeHead(200, headers).end(body));
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => process.send?.({ port: (server.address() as AddressInfo).port }));
process.on("disconnect", () => process.exit(0));
