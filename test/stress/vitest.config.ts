// The long load test, behind `npm run test:stress` (the default config does not pick up *.stress.ts).
// It runs in Node and drives the built Worker (dist/index.js) in workerd through Miniflare's API.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";

export default defineConfig({
  root: fileURLToPath(new URL("../..", import.meta.url)),
  test: {
    include: ["test/stress/**/*.stress.ts"],
    environment: "node",
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});
