/**
 * The load generator, in its own process: run.ts sends it one job at a time
 * over IPC and gets back throughput, latency percentiles (from each response
 * time, not autocannon's whole-millisecond histogram), status codes, and the
 * share of a core this process used, which tells whether it was the bottleneck.
 */
import autocannon from "autocannon";

export interface LoadJob {
  url: string;
  method: string;
  headers: Record<string, string>;
  connections: number;
  /** Seconds to run; or `amount`, a number of requests. */
  duration?: number;
  amount?: number;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  max: number;
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
  /** CPU time of this process over wall time: 1 is one whole core. */
  cpu: number;
}

function run(job: LoadJob): Promise<LoadResult> {
  let times = new Float64Array(1 << 16);
  let count = 0;
  const statuses: Record<string, number> = {};
  const cpuStart = process.cpuUsage();
  const wallStart = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: job.url,
        method: job.method,
        headers: job.headers,
        connections: job.connections,
        timeout: 10,
        // autocannon refuses an option that is present but undefined.
        ...(job.amount === undefined ? { duration: job.duration } : { amount: job.amount }),
      },
      (err, result) => {
        if (err) return reject(err);
        const cpu = process.cpuUsage(cpuStart);
        const wallUs = Number(process.hrtime.bigint() - wallStart) / 1000;
        const sorted = times.subarray(0, count).sort();
        const at = (q: number) => (count === 0 ? NaN : sorted[Math.min(count - 1, Math.floor(q * count))]!);
        resolve({
          requests: count,
          seconds: wallUs / 1e6,
          rps: count / (wallUs / 1e6),
          p50: at(0.5),
          p99: at(0.99),
          max: at(1),
          statuses,
          errors: result.errors,
          timeouts: result.timeouts,
          cpu: (cpu.user + cpu.system) / wallUs,
        });
      },
    );
    instance.on("response", (_client, statusCode, _bytes, responseTime) => {
      if (count === times.length) {
        const grown = new Float64Array(times.length * 2);
        grown.set(times);
        times = grown;
      }
      times[count++] = responseTime;
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
    });
  });
}

process.on("message", (job: LoadJob) => {
  run(job).then(
    (result) => process.send?.({ ok: true, result }),
    (err: unknown) => process.send?.({ ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
process.on("disconnect", () => process.exit(0));
process.send?.({ ready: true });
