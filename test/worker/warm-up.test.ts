/**
 * The startup warm-up must keep running the whole path of a first request
 * (the app, the store, the KV read, the validator, the compiler, the
 * decision): if its made-up policy stopped validating, or its preflight were
 * refused, it would quietly warm up little, and the first big load would run
 * cold again.
 */
import { describe, expect, it } from "vitest";
import { isPlainSecure } from "../../src/core/origin.js";
import { madeUpOrigins, warmUp } from "../../src/worker/warm-up.js";

describe("the startup warm-up", () => {
  it("sends preflights through an app of its own, which loads, validates and compiles its policy and allows them", async () => {
    expect(await warmUp()).toBe(true);
  });

  it("makes up entries of the plain secure shape, so that its rounds run the shape check and nothing slower", () => {
    const origins = madeUpOrigins(128);
    expect(origins).toHaveLength(256);
    expect(new Set(origins).size).toBe(256);
    expect(origins.filter((origin) => !isPlainSecure(origin))).toEqual([]);
  });
});
