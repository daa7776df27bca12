// This machine has no internet: skip Miniflare's download of a sample `request.cf`.
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";

import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          ORIGIN_URL: `http://127.0.0.1:${inject("originPort")}`,
          POLICY_TTL_SECONDS: "30",
          CORS_DEBUG: "",
        },
        // Not ORIGIN itself, which would send every test's requests to the Worker origin:
        // the service-binding tests pass these as ORIGIN (test/worker/service-origin.test.ts).
        serviceBindings: {
          ORIGIN_WORKER: "origin-worker",
          // A service binding nothing answers: the origin service is not deployed.
          DEAD_SERVICE: { external: { address: "127.0.0.1:9", http: {} } },
        },
        workers: [{ name: "origin-worker", modules: true, scriptPath: "./test/worker/origin-worker.js", compatibilityDate: "2026-04-20" }],
      },
    })),
  ],
  test: {
    include: ["test/**/*.test.ts"],
    // The CLI's tests spawn processes in Node: vitest.cli.config.ts runs them.
    exclude: ["test/cli/**", "**/node_modules/**"],
    globalSetup: ["test/origin-server.ts"],
  },
});
