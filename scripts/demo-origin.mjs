// A small API server to stand behind the edge locally: it answers every
// request with what it received, and sends CORS headers of its own so that
// you can watch the edge replace them.
import { createServer } from "node:http";
import { randomUUID } from "node:crypto";

export function startDemoOrigin(port) {
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      res.writeHead(200, {
        "Content-Type": "application/json",
        "X-Request-Id": randomUUID(),
        "Access-Control-Allow-Origin": "*",
        "Set-Cookie": "demo=1; Path=/; HttpOnly; SameSite=None; Secure",
      });
      // The cookie shows whether a credentialed call from a page carried its cookies.
      const seen = { method: req.method, url: req.url, origin: req.headers.origin ?? null, cookie: req.headers.cookie ?? null, body };
      res.end(JSON.stringify(seen, null, 2) + "\n");
    });
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const port = Number(process.env.PORT ?? 8788);
  await startDemoOrigin(port);
  console.log(`demo origin listening on http://127.0.0.1:${port}`);
}
