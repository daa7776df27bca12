/**
 * The scale part of `npm run bench` (issue 14), all inside workerd:
 * - cold load: a big policy read from KV, parsed, validated and compiled, with
 *   validate + compile as a multiple of `JSON.parse` of the same text, and how
 *   the cost per entry grows from 1,000 to 100,000 entries;
 * - the first request's workerd CPU with such a policy, in a fresh workerd;
 * - the isolate heap that a compiled policy holds, against its JSON text;
 * - 100,000 hostnames, each with a policy of its own, requested in turn twice:
 *   the isolate heap along the way, and the KV reads of the second pass; then
 *   100,000 new ones, which take the store to its bounds: the heap must stay flat.
 *
 * Heap sizes come from the inspector (`Runtime.getHeapUsage` after
 * `HeapProfiler.collectGarbage`), as the isolate sees them.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { Miniflare, type WorkerOptions } from "miniflare";
import WebSocket from "ws";
import { exactOrigin, LOAD_POLICY, patternOrigin, sizedPolicy } from "./policies.js";

export interface ScaleContext {
  edge: string;
  /** The edge as of BENCH_BASE, for BENCH_FIRST_AGAINST_BASE. */
  edgeBase: string;
  scale: string;
  kvSynth: string;
  compatibilityDate: string;
  directWorker: (name: string, scriptPath: string, extra?: Partial<WorkerOptions>) => WorkerOptions;
  edgeVars: (originUrl: string, ttlSeconds: number) => Record<string, string>;
  runtimeCpuNs: (pid: number, threads?: "all" | "main" | "others") => number;
  findRuntimePid: () => number;
  log: (line: string) => void;
}

/** Listed origins (and as many patterns) of the policies timed: 1,000 to 100,000 entries in all. */
export const COLD_SIZES = [500, 1_000, 10_000, 50_000];
export const FIRST_REQUEST_SIZES = [1, 10_000, 50_000];
/** Fresh workerds per size: one first request varies by half on this shared machine, and a median of 3 moved with one outlier. */
export const FIRST_REQUEST_RUNS = 7;
export const HEAP_SIZES = [1_000, 10_000, 50_000];
export const HOSTS = Number(process.env.BENCH_HOSTS ?? 100_000);
const KV_ID = "bench-scale";
const INSPECTOR_PORT = Number(process.env.BENCH_INSPECTOR_PORT ?? 9329);

/** The workerd binary that Miniflare runs. */
const WORKERD = createRequire(import.meta.url)("workerd").default as string;

const entries = (size: number) => size * 2;

// ---------------------------------------------------------------- inspector

/** A Chrome DevTools Protocol session with one worker's isolate. */
class Inspector {
  private id = 0;
  private constructor(private readonly socket: WebSocket) {}

  static async open(worker: string): Promise<Inspector> {
    const socket = new WebSocket(`ws://127.0.0.1:${INSPECTOR_PORT}/core:user:${worker}`);
    await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
    const inspector = new Inspector(socket);
    await inspector.call("Runtime.enable");
    await inspector.call("HeapProfiler.enable");
    return inspector;
  }

  call(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = ++this.id;
    return new Promise((resolve, reject) => {
      const onMessage = (data: WebSocket.RawData) => {
        const message = JSON.parse(String(data)) as { id?: number; result?: Record<string, unknown>; error?: unknown };
        if (message.id !== id) return;
        this.socket.off("message", onMessage);
        if (message.error) reject(new Error(`${method}: ${JSON.stringify(message.error)}`));
        else resolve(message.result ?? {});
      };
      this.socket.on("message", onMessage);
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /**
   * Bytes in use in the isolate heap after a full collection. workerd runs
   * the collection only when the isolate next wakes, so `poke` sends it a request.
   */
  async heapAfterGc(poke: () => Promise<unknown>): Promise<number> {
    let collected = false;
    const collection = this.call("HeapProfiler.collectGarbage").then(() => (collected = true));
    // The message may reach the isolate after a poke has come and gone: poke until it has run.
    for (let i = 0; !collected; i++) {
      if (i === 200) throw new Error("the isolate never ran HeapProfiler.collectGarbage");
      await poke();
      await Promise.race([collection, new Promise((resolve) => setTimeout(resolve, 25))]);
    }
    const usage = await this.call("Runtime.getHeapUsage");
    return usage.usedSize as number;
  }

  close(): void {
    this.socket.close();
  }
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  const body = (await response.json()) as T & { error?: string };
  if (!response.ok) throw new Error(`${url}: ${body.error}`);
  return body;
}

// ---------------------------------------------------------------- cold load and heap

interface ColdRow {
  size: number;
  entries: number;
  bytes: number;
  parseMs: number;
  loadMs: number;
  validateCompileMs: number;
  ratio: number;
  nsPerEntry: number;
  /** The same load followed by the two lookups that build the origin set (the second lookup's work, which the load no longer does). */
  indexedMs: number;
  /** What building the set costs, as a multiple of `JSON.parse`. */
  indexRatio: number;
}

interface HeapRow {
  size: number;
  entries: number;
  textBytes: number;
  policyBytes: number;
  ratio: number;
}

async function coldAndHeap(ctx: ScaleContext) {
  const mf = new Miniflare({
    inspectorPort: INSPECTOR_PORT,
    workers: [ctx.directWorker("scale", ctx.scale, { kvNamespaces: { CORS_POLICY: KV_ID } })],
  });
  try {
    const url = (await mf.unsafeGetDirectURL("scale")).href;
    const kv = await mf.getKVNamespace("CORS_POLICY", "scale");
    ctx.log("storing the sized policies in KV…");
    for (const size of new Set([...COLD_SIZES, ...HEAP_SIZES])) await kv.put(`size-${size}`, JSON.stringify(sizedPolicy(size)));

    ctx.log("cold load inside workerd (JSON.parse against parsePolicy + compilePolicy, and the origin set, best of 3 passes × 5)…");
    const best = new Map<number, ColdRow>();
    for (let pass = 0; pass < 3; pass++) {
      for (const size of COLD_SIZES) {
        const r = await getJson<{ bytes: number; parseMs: number; loadMs: number; indexedMs: number }>(`${url}cold?key=size-${size}&repeats=5`);
        const previous = best.get(size);
        best.set(size, {
          size,
          entries: entries(size),
          bytes: r.bytes,
          parseMs: Math.min(r.parseMs, previous?.parseMs ?? Infinity),
          loadMs: Math.min(r.loadMs, previous?.loadMs ?? Infinity),
          indexedMs: Math.min(r.indexedMs, previous?.indexedMs ?? Infinity),
          validateCompileMs: 0,
          ratio: 0,
          nsPerEntry: 0,
          indexRatio: 0,
        });
      }
    }
    const cold = COLD_SIZES.map((size) => {
      const row = best.get(size)!;
      const validateCompileMs = row.loadMs - row.parseMs;
      const indexRatio = Math.max(0, row.indexedMs - row.loadMs) / row.parseMs;
      return { ...row, validateCompileMs, ratio: validateCompileMs / row.parseMs, nsPerEntry: (validateCompileMs * 1e6) / row.entries, indexRatio };
    });

    ctx.log("heap of compiled policies against their JSON text (inspector)…");
    const inspector = await Inspector.open("scale");
    const poke = () => fetch(`${url}nothing`).then((r) => r.arrayBuffer());
    const heap: HeapRow[] = [];
    try {
      for (const size of HEAP_SIZES) {
        const held = async (what: "text" | "policy") => {
          await getJson(`${url}drop`);
          const before = await inspector.heapAfterGc(poke);
          await getJson(`${url}hold?key=size-${size}&what=${what}`);
          const after = await inspector.heapAfterGc(poke);
          await getJson(`${url}drop`);
          return after - before;
        };
        const textBytes = await held("text");
        const policyBytes = await held("policy");
        heap.push({ size, entries: entries(size), textBytes, policyBytes, ratio: policyBytes / textBytes });
      }
    } finally {
      inspector.close();
    }
    return { cold, heap };
  } finally {
    await mf.dispose();
  }
}

// ---------------------------------------------------------------- first request

export interface FirstRequestRun {
  wallMs: number;
  /** workerd's CPU for the request, all threads; then its main thread (where the isolate runs) and V8's helper threads (compilers, GC). */
  cpuMs: number;
  mainMs: number;
  helpersMs: number;
  /** The second request, from another origin, so that it is the list's second lookup and builds the origin set: wall time and CPU. */
  nextWallMs: number;
  nextCpuMs: number;
}

/**
 * The first request of a fresh workerd whose policy is in KV only: wall time
 * and workerd's CPU for it. KV is workerd's own KV binding, as in production,
 * served by a Node HTTP server: in production KV is a service outside the
 * isolate, so workerd's CPU is the edge's own (reading the value, parsing,
 * validating, compiling, answering). Miniflare cannot point a KV binding
 * outside workerd: its KV, and any stand-in binding, is a worker of its own
 * inside the same process, whose CPU would count as the edge's.
 */
async function firstRequest(ctx: ScaleContext, size: number, bundle = ctx.edge): Promise<FirstRequestRun> {
  const policy = sizedPolicy(size);
  const store = new Map([["default", Buffer.from(JSON.stringify(policy))]]);
  const kv = http.createServer((request, response) => {
    // workerd asks for `/<key>?urlencoded=true&cache_ttl=…`.
    const value = store.get(decodeURIComponent(new URL(request.url!, "http://kv").pathname.slice(1)));
    response.writeHead(value === undefined ? 404 : 200, { "Content-Length": value?.length ?? 0 });
    response.end(value);
  });
  await new Promise<void>((resolve) => kv.listen(0, "127.0.0.1", resolve));
  const runtime = await startWorkerd(ctx, bundle, `127.0.0.1:${(kv.address() as AddressInfo).port}`);
  try {
    return await firstRequestOf(size, `http://127.0.0.1:${runtime.port}/api/items`, runtime.pid, ctx);
  } finally {
    await runtime.stop();
    kv.close();
  }
}

/** workerd serving the edge's `bundle` alone, its `CORS_POLICY` a KV binding whose service is `kvAddress`. */
async function startWorkerd(ctx: ScaleContext, bundle: string, kvAddress: string): Promise<{ port: number; pid: number; stop: () => Promise<void> }> {
  const vars = Object.entries(ctx.edgeVars("http://127.0.0.1:9", 30)).map(([name, text]) => `(name = ${JSON.stringify(name)}, text = ${JSON.stringify(text)})`);
  const config = path.join(path.dirname(bundle), "first-request.capnp");
  writeFileSync(
    config,
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "edge", worker = (
      modules = [(name = "index.js", esModule = embed ${JSON.stringify(path.basename(bundle))})],
      compatibilityDate = ${JSON.stringify(ctx.compatibilityDate)},
      bindings = [(name = "CORS_POLICY", kvNamespace = "kv"), ${vars.join(", ")}],
    )),
    (name = "kv", external = (address = ${JSON.stringify(kvAddress)}, http = ())),
  ],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "edge")],
);
`,
  );
  // workerd says on the control descriptor which port it listens on, once it does.
  const child = spawn(WORKERD, ["serve", config, "--control-fd=3"], { stdio: ["ignore", "inherit", "inherit", "pipe"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = "";
    child.stdio[3]!.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const listening = /"port":(\d+)/.exec(buffered);
      if (listening) resolve(Number(listening[1]));
    });
    void exited.then(() => reject(new Error("workerd exited before it listened")));
  });
  return {
    port,
    pid: child.pid!,
    stop: async () => {
      child.kill();
      await exited;
    },
  };
}

async function firstRequestOf(size: number, url: string, pid: number, ctx: ScaleContext): Promise<FirstRequestRun> {
  const measured = async (origin: string) => {
    const headers = { Origin: origin, "Access-Control-Request-Method": "PUT" };
    // Let workerd settle, so that its CPU is the request's alone.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const [main, others] = [ctx.runtimeCpuNs(pid, "main"), ctx.runtimeCpuNs(pid, "others")];
    const start = performance.now();
    const response = await fetch(url, { method: "OPTIONS", headers });
    await response.arrayBuffer();
    const wallMs = performance.now() - start;
    // V8's helper threads finish their work (optimizing compiles, GC) a little after the answer.
    await new Promise((resolve) => setTimeout(resolve, 200));
    if (response.status !== 204) throw new Error(`first request with ${size} + ${size}: answered ${response.status}`);
    const mainMs = (ctx.runtimeCpuNs(pid, "main") - main) / 1e6;
    const helpersMs = (ctx.runtimeCpuNs(pid, "others") - others) / 1e6;
    return { wallMs, mainMs, helpersMs, cpuMs: mainMs + helpersMs };
  };
  const first = await measured(exactOrigin(size - 1));
  const next = await measured(patternOrigin(size - 1));
  return { ...first, nextWallMs: next.wallMs, nextCpuMs: next.cpuMs };
}

// ---------------------------------------------------------------- many hostnames

interface HostsResult {
  hosts: number;
  /** Isolate heap (bytes) after this many hostnames of the first pass, after the second pass, and along a third pass of as many new hostnames. */
  heap: Array<{ after: string; bytes: number }>;
  /** Heap once all hostnames are held (end of the second pass). */
  heldBytes: number;
  /** Largest heap along the third pass (new hostnames, the store at its bounds) over the heap before it. */
  flatness: number;
  firstPass: { requests: number; reads: number; seconds: number };
  secondPass: { requests: number; reads: number; readsPer10k: number; seconds: number };
}

/** Sends one preflight per hostname, `concurrency` at a time, each with its own Host; every answer must be 204. */
async function sweep(port: number, from: number, to: number, concurrency: number, agent: http.Agent): Promise<void> {
  let next = from;
  const one = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const request = http.request(
        {
          host: "127.0.0.1",
          port,
          path: "/api/items",
          method: "OPTIONS",
          agent,
          headers: { Host: `h${n}.tenants.test`, Origin: `https://app.h${n}.tenants.test`, "Access-Control-Request-Method": "PUT" },
        },
        (response) => {
          response.resume();
          response.on("end", () => (response.statusCode === 204 ? resolve() : reject(new Error(`h${n}.tenants.test answered ${response.statusCode}`))));
        },
      );
      request.on("error", reject);
      request.end();
    });
  const worker = async () => {
    while (next < to) await one(next++);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/**
 * HOSTS hostnames, each with a policy of its own, requested in turn: a first
 * pass that reads each from KV, a second that must read none, and a third of
 * as many new hostnames, which takes the store to its bounds and must leave
 * the heap where it was.
 */
async function manyHosts(ctx: ScaleContext): Promise<HostsResult> {
  let reads = 0;
  const mf = new Miniflare({
    inspectorPort: INSPECTOR_PORT,
    workers: [
      // A TTL longer than the run: every read after a host's first is then one that memory did not keep.
      ctx.directWorker("edge", ctx.edge, { wrappedBindings: { CORS_POLICY: "kv-synth" }, bindings: ctx.edgeVars("http://127.0.0.1:9", 3600) }),
      {
        name: "kv-synth",
        modules: true,
        scriptPath: ctx.kvSynth,
        serviceBindings: {
          COUNT: async () => {
            reads++;
            return new Response(null, { status: 204 });
          },
        },
      },
    ],
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  try {
    const port = Number((await mf.unsafeGetDirectURL("edge")).port);
    const inspector = await Inspector.open("edge");
    const poke = () => sweep(port, 0, 1, 1, agent);
    const heap: HostsResult["heap"] = [];
    const checkpoint = async (after: string) => {
      heap.push({ after, bytes: await inspector.heapAfterGc(poke) });
      ctx.log(`  ${after}: isolate heap ${(heap.at(-1)!.bytes / 2 ** 20).toFixed(1)} MiB`);
      return heap.at(-1)!.bytes;
    };
    try {
      await checkpoint("0");
      const stops = [10_000, 20_000, 50_000, HOSTS].filter((n, i, all) => n <= HOSTS && all.indexOf(n) === i);
      let done = 0;
      let start = performance.now();
      for (const stop of stops) {
        await sweep(port, done, stop, 32, agent);
        done = stop;
        await checkpoint(stop.toLocaleString("en"));
      }
      const firstPass = { requests: HOSTS, reads, seconds: (performance.now() - start) / 1000 };
      reads = 0;
      start = performance.now();
      await sweep(port, 0, HOSTS, 32, agent);
      const secondReads = reads;
      const secondPass = { requests: HOSTS, reads: secondReads, readsPer10k: (secondReads * 10_000) / HOSTS, seconds: (performance.now() - start) / 1000 };
      const heldBytes = await checkpoint("second pass");
      for (const stop of [0.5, 1].map((share) => HOSTS + Math.round(HOSTS * share))) {
        await sweep(port, done, stop, 32, agent);
        done = stop;
        await checkpoint(`${(stop - HOSTS).toLocaleString("en")} new`);
      }
      const flatness = Math.max(...heap.slice(heap.findIndex((h) => h.after === "second pass")).map((h) => h.bytes)) / heldBytes;
      return { hosts: HOSTS, heap, heldBytes, flatness, firstPass, secondPass };
    } finally {
      inspector.close();
    }
  } finally {
    agent.destroy();
    await mf.dispose();
  }
}

// ---------------------------------------------------------------- all

export async function scaleBench(ctx: ScaleContext) {
  const { cold, heap } = await coldAndHeap(ctx);
  ctx.log(`first request of a fresh workerd (${FIRST_REQUEST_RUNS} each, alternating sizes)…`);
  const first: Record<number, FirstRequestRun[]> = Object.fromEntries(FIRST_REQUEST_SIZES.map((size) => [size, []]));
  // With BENCH_FIRST_AGAINST_BASE=1, the edge of BENCH_BASE too, at 10,000 + 10,000, run for run: a change's effect, on a machine whose state moves the figure.
  const againstBase = process.env.BENCH_FIRST_AGAINST_BASE === "1";
  const firstBase: FirstRequestRun[] = [];
  for (let i = 0; i < FIRST_REQUEST_RUNS; i++) {
    for (const size of FIRST_REQUEST_SIZES) {
      first[size]!.push(await firstRequest(ctx, size));
      if (againstBase && size === 10_000) firstBase.push(await firstRequest(ctx, size, ctx.edgeBase));
    }
  }
  ctx.log(`${HOSTS.toLocaleString("en")} hostnames, each with its own policy, requested in turn, twice, then as many new ones…`);
  const hosts = await manyHosts(ctx);
  return { cold, heap, first, firstBase: againstBase ? firstBase : null, hosts, loadPolicyBytes: JSON.stringify(LOAD_POLICY).length };
}

export type ScaleResults = Awaited<ReturnType<typeof scaleBench>>;
