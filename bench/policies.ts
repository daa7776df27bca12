/**
 * The policies and requests the benchmark uses, shared by the load rounds
 * and the in-isolate micro-benchmark so that both measure the same thing.
 */
import type { PolicyDocument } from "../src/core/index.js";

/** The policy behind the load rounds: the edge and Hono's `cors` both enforce it. */
export const LOAD_POLICY = {
  origins: ["https://app.example.com", "https://admin.example.com", "https://*.example.org", "http://localhost:3000"],
  credentials: true,
  methods: ["GET", "POST", "PUT", "DELETE"],
  allowHeaders: ["Content-Type", "Authorization", "X-Request-Id"],
  exposeHeaders: ["X-Request-Id"],
  maxAge: 600,
} satisfies PolicyDocument;

/** The edge's default origin timeout, so the comparison workers forward exactly as it does. */
export const ORIGIN_TIMEOUT_MS = 30_000;

export const ALLOWED_ORIGIN = "https://app.example.com";
export const REFUSED_ORIGIN = "https://evil.example";

/**
 * A policy with `size` listed origins and `size` subdomain patterns. The
 * last entries are the ones the micro-benchmark asks for, so a list scan
 * would pay for every entry.
 */
export function sizedPolicy(size: number): PolicyDocument {
  const origins: string[] = [];
  for (let i = 0; i < size; i++) origins.push(exactOrigin(i));
  for (let i = 0; i < size; i++) origins.push(`https://*.tenant${i}.example.net`);
  return { ...LOAD_POLICY, origins };
}

export function exactOrigin(index: number): string {
  return `https://app${index}.customer${index % 97}.example.com`;
}

/** An origin matched by the pattern at `index` of a sized policy. */
export function patternOrigin(index: number, label = "www"): string {
  return `https://${label}.tenant${index}.example.net`;
}
