/**
 * The startup warm-up must keep running the validator, the compiler and the
 * decision: if its made-up policy stopped validating, it would quietly warm
 * up nothing, and the first big load would run cold again.
 */
import { describe, expect, it } from "vitest";
import { warmUp } from "../../src/worker/warm-up.js";

describe("the startup warm-up", () => {
  it("validates and compiles its policy, and decides with it", () => {
    expect(warmUp()).toBe(true);
  });
});
