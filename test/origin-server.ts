/**
 * A real origin server for the tests, started once in Node by Vitest's
 * global setup. It records every request it receives so that tests running
 * inside workerd can assert on what reached the origin.
 *
 * Behaviour is chosen per request with query parameters:
 * - `status=N`                answer with status N
 * - `set=Name:value`          add a response header (repeatable)
 * - `bytes=N`                 stream an N-byte body instead of the JSON echo
 * - `hold=ID`                 with `bytes`, send the first chunk, then wait for `/__release/ID`
 * - `redirect=URL`            answer 302 with that Location
 * - `stall=MS`                wait MS milliseconds before sending anything (headers included)
 * - `reset=N`                 with `bytes`, hang up (TCP reset) after the first N body bytes
 * Control endpoints under `/__` are not recorded:
 * - `GET /__log?prefix=/path` the recorded requests whose path starts with the prefix
 * - `POST /__release/ID`      let a held response finish
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { TestProject } from "vitest/node";

export interface Received {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  bodyBytes: number;
  bodySha256: string;
}

const CHUNK = 64 * 1024;

export function startOriginServer(): Promise<Server> {
  const received: Received[] = [];
  const holds = new Map<string, () => void>();
  // Node's default 16 KiB header limit would hide what the fuzz tests send (values up to 64 KiB).
  const server = createServer({ maxHeaderSize: 1024 * 1024 }, (req, res) => {
    const url = new URL(req.url ?? "/", "http://origin.test");
    if (url.pathname.startsWith("/__")) return control(url, received, holds, res);
    const hash = createHash("sha256");
    let bodyBytes = 0;
    req.on("data", (chunk: Buffer) => {
      hash.update(chunk);
      bodyBytes += chunk.length;
    });
    req.on("end", () => {
      const record: Received = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, bodyBytes, bodySha256: hash.digest("hex") };
      received.push(record);
      const stall = Number(url.searchParams.get("stall") ?? 0);
      if (stall > 0) setTimeout(() => respond(url, record, holds, res), stall).unref();
      else respond(url, record, holds, res);
    });
  });
  server.on("upgrade", (req: IncomingMessage, socket: Socket) => upgrade(req, socket, received));
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

function control(url: URL, received: Received[], holds: Map<string, () => void>, res: ServerResponse): void {
  if (url.pathname === "/__log") {
    const prefix = url.searchParams.get("prefix") ?? "/";
    const list = received.filter((r) => new URL(r.url, "http://origin.test").pathname.startsWith(prefix));
    res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(list));
    return;
  }
  const release = url.pathname.match(/^\/__release\/(.+)$/);
  if (release) {
    holds.get(release[1]!)?.();
    res.writeHead(holds.delete(release[1]!) ? 204 : 404).end();
    return;
  }
  res.writeHead(404).end();
}

function respond(url: URL, record: Received, holds: Map<string, () => void>, res: ServerResponse): void {
  const params = url.searchParams;
  const headers: [string, string][] = [];
  for (const entry of params.getAll("set")) {
    const colon = entry.indexOf(":");
    headers.push([entry.slice(0, colon), entry.slice(colon + 1)]);
  }
  const redirect = params.get("redirect");
  if (redirect) {
    res.writeHead(302, [["Location", redirect], ...headers].flat()).end();
    return;
  }
  const status = Number(params.get("status") ?? 200);
  const bytes = params.get("bytes");
  if (bytes === null) {
    res.writeHead(status, [["Content-Type", "application/json"], ...headers].flat());
    res.end(JSON.stringify(record));
    return;
  }
  res.writeHead(status, [["Content-Type", "application/octet-stream"], ...headers].flat());
  const reset = params.get("reset");
  streamBytes(res, reset === null ? Number(bytes) : Math.min(Number(bytes), Number(reset)), params.get("hold"), holds, reset !== null);
}

/**
 * Writes `total` bytes of a repeating pattern, pausing after the first chunk
 * when held; with `reset`, then resets the connection instead of ending the body.
 */
function streamBytes(res: ServerResponse, total: number, hold: string | null, holds: Map<string, () => void>, reset = false): void {
  let sent = 0;
  const pattern = Buffer.alloc(CHUNK);
  for (let i = 0; i < CHUNK; i++) pattern[i] = i % 251;
  const writeRest = () => {
    while (sent < total) {
      const size = Math.min(CHUNK, total - sent);
      sent += size;
      if (!res.write(pattern.subarray(0, size))) {
        res.once("drain", writeRest);
        return;
      }
    }
    if (reset) res.write("", () => res.socket?.resetAndDestroy());
    else res.end();
  };
  if (hold === null) return writeRest();
  const size = Math.min(CHUNK, total);
  sent = size;
  res.write(pattern.subarray(0, size));
  holds.set(hold, writeRest);
}

/** A minimal WebSocket handshake that then sends one text frame, "hello". */
function upgrade(req: IncomingMessage, socket: Socket, received: Received[]): void {
  received.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, bodyBytes: 0, bodySha256: "" });
  const key = req.headers["sec-websocket-key"];
  const accept = createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
  socket.write(
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${accept}\r\nAccess-Control-Allow-Origin: *\r\n\r\n`,
  );
  socket.write(Buffer.from([0x81, 5, ...Buffer.from("hello")]));
  socket.on("error", () => socket.destroy());
}

/** Vitest global setup: start the origin and tell the workers pool its port. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startOriginServer();
  project.provide("originPort", (server.address() as AddressInfo).port);
  return () =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
}

declare module "vitest" {
  interface ProvidedContext {
    originPort: number;
  }
}
