#!/usr/bin/env node
// Runs the TypeScript CLI in place through tsx (a dev dependency): no build step.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  console.error(`edge-cors: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
}
