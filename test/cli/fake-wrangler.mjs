#!/usr/bin/env node
/**
 * A stand-in for wrangler's remote commands, which need a Cloudflare account:
 * the CLI runs it through EDGE_CORS_WRANGLER. It appends each command line to
 * FAKE_WRANGLER_LOG (one JSON array a line) and answers:
 * - `kv namespace list`: FAKE_WRANGLER_NAMESPACES (a JSON array of {id, title});
 * - `kv bulk get FILE`: every key of FILE as absent;
 * - `kv key list`: no keys;
 * - anything else: success, no output.
 */
import { appendFileSync, readFileSync } from "node:fs";

const args = process.argv.slice(2);
appendFileSync(process.env.FAKE_WRANGLER_LOG, `${JSON.stringify(args)}\n`);
const command = args.slice(0, 3).join(" ");
if (command === "kv namespace list") console.log(process.env.FAKE_WRANGLER_NAMESPACES ?? "[]");
else if (command.startsWith("kv bulk get")) {
  const keys = JSON.parse(readFileSync(args[3], "utf8"));
  console.log(JSON.stringify(Object.fromEntries(keys.map((key) => [key, null])), null, 2));
} else if (command === "kv key list") console.log("[]");
