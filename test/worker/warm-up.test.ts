/**
 * The startup warm-up must keep running the validator, the compiler and the
 * decision: if its made-up policy stopped validating, it would quietly warm
 * up nothing, and the first big load would run cold again.
 */
import { describe, expect, it } from "vitest";
import { isPlainSecure } from "../../src/core/origin.js";
import { madeUpOrigins, warmUp } from "../../src/worker/warm-up.js";

describe("the startup warm-up", () => {
  it("validates and compiles its policy, and decides with it", () => {
    expect(warmUp()).toBe(true);
  });

  it("makes up entries of the plain secure shape, so that its rounds run the shape check and nothing slower", () => {
    const origins = madeUpOrigins(128);
    expect(origins).toHaveLength(256);
    expect(new Set(origins).size).toBe(256);
    expect(origins.filter((origin) => !isPlainSecure(origin))).toEqual([]);
  });
});
