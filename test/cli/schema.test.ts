/**
 * The JSON Schema against the validator: the same verdict on every example
 * and fixture, or, where the schema cannot say a rule, a looser schema
 * (schema rejects ⇒ validator rejects, never the other way round).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv from "ajv";
import { describe, expect, it } from "vitest";
import { FIELDS, validatePolicy, type Problem } from "../../src/core/index.js";
import { policySchema } from "../../src/core/schema.js";
import { ROOT, cli } from "./helpers.js";

const ajv = new Ajv({ allErrors: true, strict: true });
const check = ajv.compile(policySchema());

function jsonFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir))
    .filter((name) => name.endsWith(".json"))
    .map((name) => join(dir, name));
}

/** Rules JSON Schema cannot express: the validator alone refuses these. */
const BEYOND_SCHEMA = new Set(["origin-not-canonical", "origin-pattern", "public-suffix-pattern", "forbidden-method", "method-case"]);
/** Checked by the schema where one object sets both fields; a route that inherits one of them is the validator's job. */
const COMBINATIONS = new Set(["wildcard-origin-with-credentials", "null-origin-with-credentials", "wildcard-with-credentials"]);

function beyondSchema(problem: Problem): boolean {
  return BEYOND_SCHEMA.has(problem.code) || (COMBINATIONS.has(problem.code) && problem.path.startsWith("$.routes["));
}

const looser: string[] = [];
const files = [...jsonFiles("examples"), ...jsonFiles("test/fixtures/policies/valid"), ...jsonFiles("test/fixtures/policies/invalid")];

describe("the JSON Schema and the validator", () => {
  it("has fixtures to compare", () => {
    expect(jsonFiles("test/fixtures/policies/valid").length).toBeGreaterThanOrEqual(5);
    expect(jsonFiles("test/fixtures/policies/invalid").length).toBeGreaterThanOrEqual(25);
  });

  it.each(files)("%s gets the same verdict, or a stricter one from the validator", (file) => {
    const text = readFileSync(join(ROOT, file), "utf8");
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      // Not JSON: neither an editor nor the edge can use it.
      expect(file).toContain("/invalid/");
      return;
    }
    const bySchema = check(document);
    const result = validatePolicy(document);
    expect(result.ok, `validator verdict on ${file}`).toBe(!file.includes("/invalid/"));
    if (bySchema === result.ok) return;
    // Looser, never stricter: the schema may only accept what the validator refuses, for a rule it cannot say.
    expect({ file, bySchema, byValidator: result.ok }).toEqual({ file, bySchema: true, byValidator: false });
    looser.push(file);
    const errors = result.ok ? [] : result.errors;
    expect(errors.filter((problem) => !beyondSchema(problem)), `${file}: errors the schema should have caught`).toEqual([]);
  });

  it("is looser where it must be: the form of origins, rules a route inherits", () => {
    expect(looser).toContain("test/fixtures/policies/invalid/origin-trailing-slash.json");
    expect(looser).toContain("test/fixtures/policies/invalid/inherited-wildcard-with-credentials.json");
    expect(looser).not.toContain("test/fixtures/policies/invalid/wildcard-origin-with-credentials.json");
  });

  it("is built from FIELDS: every rule field, at the top level and in routes, with the same types", () => {
    const schema = policySchema() as {
      properties: Record<string, Record<string, unknown>>;
      additionalProperties: boolean;
      required: string[];
    };
    const routes = schema.properties.routes as { items: { properties: Record<string, unknown>; additionalProperties: boolean; required: string[] } };
    for (const field of FIELDS) {
      expect(schema.properties[field.name]).toMatchObject(field.schema);
      expect(routes.items.properties[field.name]).toMatchObject(field.schema);
    }
    expect(Object.keys(schema.properties).sort()).toEqual([...FIELDS.map((f) => f.name), "$schema", "routes"].sort());
    expect(Object.keys(routes.items.properties).sort()).toEqual([...FIELDS.map((f) => f.name), "path"].sort());
    expect(schema.additionalProperties).toBe(false);
    expect(routes.items.additionalProperties).toBe(false);
    expect(schema.required).toEqual(["origins"]);
    expect(routes.items.required).toEqual(["path"]);
  });

  it("refuses what both refuse, field by field", () => {
    const cases: unknown[] = [
      { origins: [], maxAge: 86401 },
      { origins: [], routes: [{ path: "/x", maxAge: -1 }] },
      { origins: "*", credentials: true },
      { origins: [], routes: [{ path: "/x", origins: "*", credentials: true }] },
      { origins: ["https://a.example.com"], credentials: true, allowHeaders: ["X-A", "*"] },
      { origins: ["null"], credentials: true },
      { origins: ["*"] },
      { origins: [], methods: ["GET POST"] },
      { origins: [], extra: 1 },
      { origins: [], routes: [{ path: "no-slash" }] },
    ];
    for (const document of cases) {
      expect({ document, schema: check(document) }).toEqual({ document, schema: false });
      expect({ document, validator: validatePolicy(document).ok }).toEqual({ document, validator: false });
    }
  });

  it("stays out of the worker: nothing the worker imports reaches the schema generator", () => {
    const index = readFileSync(join(ROOT, "src/core/index.ts"), "utf8");
    expect(index).not.toMatch(/schema\.js/);
    for (const name of readdirSync(join(ROOT, "src/worker"))) {
      expect(readFileSync(join(ROOT, "src/worker", name), "utf8"), name).not.toMatch(/core\/schema/);
    }
  });

  it("ships as schema/policy.schema.json, exactly as generated (run npm run schema after changing FIELDS)", async () => {
    const shipped = readFileSync(join(ROOT, "schema/policy.schema.json"), "utf8");
    expect(JSON.parse(shipped)).toEqual(policySchema());
    const printed = await cli(["schema"]);
    expect(printed.code).toBe(0);
    expect(printed.stdout).toBe(shipped);
  });
});
