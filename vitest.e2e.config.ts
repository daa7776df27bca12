// The browser suite: Node, Chromium and `wrangler dev`, apart from the workerd tests.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["e2e/**/*.e2e.test.ts"],
    environment: "node",
    testTimeout: 30_000,
    // Only a failing scenario prints what its page saw.
    silent: "passed-only",
  },
});
