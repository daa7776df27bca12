/**
 * A second Worker as the origin, reached through a service binding. Like
 * test/origin-server.ts it records what it received, so that tests can assert
 * on it; behaviour is chosen per request with query parameters:
 * - `redirect=URL`  answer 302 with that Location
 * - `hold=MS`       stream a first chunk, then the rest only after MS milliseconds
 * - `throw=1`       throw instead of answering
 * - `stall=MS`      wait MS milliseconds before answering
 * Control endpoint, not recorded: `GET /__log?prefix=/path`.
 */
const received = [];

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/__log") {
      const prefix = url.searchParams.get("prefix") ?? "/";
      return Response.json(received.filter((r) => new URL(r.url).pathname.startsWith(prefix)));
    }
    const body = await request.text();
    received.push({ method: request.method, url: request.url, headers: Object.fromEntries(request.headers), body, redirect: request.redirect });
    const params = url.searchParams;
    if (params.has("throw")) throw new Error("origin worker failed on purpose");
    const stall = Number(params.get("stall") ?? 0);
    if (stall > 0) await new Promise((resolve) => setTimeout(resolve, stall));
    const redirect = params.get("redirect");
    if (redirect !== null) return new Response(null, { status: 302, headers: { Location: redirect } });
    const hold = Number(params.get("hold") ?? 0);
    if (hold > 0) return new Response(held(hold), { headers: { "Access-Control-Allow-Origin": "*" } });
    return Response.json({ from: "origin-worker", method: request.method, path: url.pathname }, { headers: { "Access-Control-Allow-Origin": "*", "X-Origin-Worker": "1" } });
  },
};

/** A 16 KiB chunk now, another after `ms`. */
function held(ms) {
  const chunk = new Uint8Array(16 * 1024).fill(120);
  return new ReadableStream({
    async start(controller) {
      controller.enqueue(chunk);
      await new Promise((resolve) => setTimeout(resolve, ms));
      controller.enqueue(chunk);
      controller.close();
    },
  });
}
