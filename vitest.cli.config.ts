// The CLI's tests: real `edge-cors` processes on real files, and real wrangler
// on a temporary local KV, in Node (not workerd).
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/cli/**/*.test.ts"],
    environment: "node",
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
