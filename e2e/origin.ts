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
 */
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

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
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    received: (prefix) => log.filter((r) => r.path.startsWith(prefix)),
    forget: () => void log.splice(0),
    close: () => closeServer(server),
  };
}

export function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
