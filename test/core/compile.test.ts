/**
 * Compiled rules share what does not depend on their origins with every
 * policy built from the same fields. Sharing must never hand one policy
 * another's answer headers: each field that shapes them is part of the key.
 */
import { describe, expect, it } from "vitest";
import { compilePolicy, validatePolicy, type PolicyDocument } from "../../src/core/index.js";

function compiled(doc: PolicyDocument) {
  const result = validatePolicy(doc);
  if (!result.ok) throw new Error(`test setup: ${JSON.stringify(result.errors)}`);
  return compilePolicy(result.policy).rules;
}

const base: PolicyDocument = { origins: ["https://a.example"], credentials: true, methods: ["GET", "PUT"], allowHeaders: ["Content-Type"], exposeHeaders: ["X-Id"], maxAge: 600 };

describe("compiled rules share their answer headers", () => {
  it("between policies that differ in their origins alone", () => {
    const [a, b] = [compiled(base), compiled({ ...base, origins: ["https://b.example"] })];
    expect(b.preflightHeaders).toBe(a.preflightHeaders);
    expect(b.actualHeaders).toBe(a.actualHeaders);
    expect(b.methods).toBe(a.methods);
    expect(b.origins).not.toBe(a.origins);
  });

  const changes: [string, PolicyDocument][] = [
    ["credentials", { ...base, credentials: false }],
    ["methods", { ...base, methods: ["GET", "POST"] }],
    ["allowHeaders", { ...base, allowHeaders: ["X-Other"] }],
    ["exposeHeaders", { ...base, exposeHeaders: ["X-Other"] }],
    ["maxAge", { ...base, maxAge: 60 }],
  ];
  it.each(changes)("never between policies that differ in %s", (_, changed) => {
    const [a, b] = [compiled(base), compiled(changed)];
    expect([b.preflightHeaders, b.actualHeaders]).not.toEqual([a.preflightHeaders, a.actualHeaders]);
  });

  it("builds long header lists apart, with the same answers", () => {
    const allowHeaders = Array.from({ length: 200 }, (_, i) => `X-Header-${i}`);
    const [a, b] = [compiled({ ...base, allowHeaders }), compiled({ ...base, allowHeaders, origins: ["https://b.example"] })];
    expect(b.preflightHeaders).not.toBe(a.preflightHeaders);
    expect(b.preflightHeaders).toEqual(a.preflightHeaders);
  });
});
