/**
 * The API server behind the edge in the browser suite: a real Node server
 * that records every request it receives, so scenarios can assert on what
 * actually got through (CORS hides answers from pages, it does not stop requests).
 *
 * Every path answers with a JSON echo of the request, shaped by the query:
 * - `status=N`          answer with status N
 * - `set=Name:value`    add a response header (repeatable)
 * - `redirect=URL`      answer 302 with that Location
 * `/login` also sets the session cookie `sid` (HttpOnly, SameSite=Lax) and
 * returns its value, so a page can check that the cookie comes back.
 *
 * A WebSocket handshake (`Upgrade: websocket`) on any path is recorded like
 * any request, accepted, and sent one text frame, "hello": the least a page
 * needs to see that its socket opened and reached the origin.
 */
import { createHash, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface Received {
  method: string;
  path: string;
  origin: string | null;
  cookie: string | null;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface Origin {
  port: number;
  /** Requests received so far whose path starts with `prefix`. */
  received(prefix: string): Received[];
  /** Forgets what it received: each test counts only its own requests. */
  forget(): void;
  close(): Promise<void>;
}

export async function startOrigin(): Promise<Origin> {
  const log: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://origin.test");
      const record: Received = {
        method: req.method ?? "",
        path: `${url.pathname}${url.search}`,
        origin: req.headers.origin ?? null,
        cookie: req.headers.cookie ?? null,
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      log.push(record);
      const headers: [string, string][] = [["Content-Type", "application/json"]];
      for (const entry of url.searchParams.getAll("set")) {
        const colon = entry.indexOf(":");
        headers.push([entry.slice(0, colon), entry.slice(colon + 1)]);
      }
      const redirect = url.searchParams.get("redirect");
      if (redirect !== null) {
        res.writeHead(302, [["Location", redirect], ...headers].flat()).end();
        return;
      }
      let answer: object = record;
      if (url.pathname.endsWith("/login")) {
        const sid = randomUUID();
        headers.push(["Set-Cookie", `sid=${sid}; Path=/; HttpOnly; SameSite=Lax`]);
        answer = { sid };
      }
      res.writeHead(Number(url.searchParams.get("status") ?? 200), headers.flat());
      res.end(JSON.stringify(answer));
    });
  });
  // Upgraded sockets leave the server's bookkeeping: closing must end them itself.
  const sockets = new Set<Socket>();
  server.on("upgrade", (req: IncomingMessage, socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    log.push(upgrade(req, socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    received: (prefix) => log.filter((r) => r.path.startsWith(prefix)),
    forget: () => void log.splice(0),
    close: () => {
      for (const socket of sockets) socket.destroy();
      return closeServer(server);
    },
  };
}

/** A minimal WebSocket handshake (RFC 6455, section 4.2.2), then one text frame, "hello"; a frame from the client ends it. */
function upgrade(req: IncomingMessage, socket: Socket): Received {
  const url = new URL(req.url ?? "/", "http://origin.test");
  const accept = createHash("sha1").update(`${req.headers["sec-websocket-key"]}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
  socket.on("error", () => socket.destroy());
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  // FIN + text opcode, unmasked (a server never masks), 5-byte payload.
  socket.write(Buffer.from([0x81, 5, ...Buffer.from("hello")]));
  // Whatever the client sends next (its close frame, in these tests): answer with a close frame and hang up.
  socket.once("data", () => socket.end(Buffer.from([0x88, 0])));
  return {
    method: req.method ?? "",
    path: `${url.pathname}${url.search}`,
    origin: req.headers.origin ?? null,
    cookie: req.headers.cookie ?? null,
    headers: req.headers,
    body: "",
  };
}

export function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
