/**
 * The JSON Schema of the policy format, built from `FIELDS` so that editors
 * check the same fields the validator does. Some rules cannot be written in
 * JSON Schema (the canonical form of an origin, public suffixes, rules that a
 * route inherits): there the schema is looser and the validator decides.
 *
 * Not exported from ./index.ts: the worker never needs it.
 */
import { FIELDS } from "./policy.js";
import { ROUTE_PATH } from "./validate.js";

type JsonSchema = Record<string, unknown>;

export const SCHEMA_DRAFT = "http://json-schema.org/draft-07/schema#";

export function policySchema(): JsonSchema {
  const rules = ruleProperties();
  return {
    $schema: SCHEMA_DRAFT,
    title: "edge-cors policy",
    description: "The CORS policy the edge-cors gateway reads from the CORS_POLICY KV namespace.",
    type: "object",
    properties: {
      $schema: { type: "string", description: "Where editors find this schema." },
      ...rules,
      routes: {
        description: "Per-path overrides. The first route whose path matches wins; unmatched paths use the top level.",
        type: "array",
        items: {
          type: "object",
          properties: {
            path: {
              description: 'An exact path ("/health"), or a prefix ending in "/*" ("/public/*").',
              type: "string",
              pattern: ROUTE_PATH.source,
            },
            ...rules,
          },
          required: ["path"],
          additionalProperties: false,
          ...credentialsRules(),
        },
        default: [],
      },
    },
    required: ["origins"],
    additionalProperties: false,
    ...credentialsRules(),
  };
}

function ruleProperties(): Record<string, JsonSchema> {
  return Object.fromEntries(FIELDS.map((field) => [field.name, { description: field.description, ...field.schema }]));
}

/**
 * An object that turns credentials on itself may not hold `"*"` or `"null"`
 * in the fields it sets. (Inherited fields are the validator's job.)
 */
function credentialsRules(): JsonSchema {
  const noWildcard = { not: { anyOf: [{ const: "*" }, { type: "array", contains: { const: "*" } }] } };
  return {
    if: { properties: { credentials: { const: true } }, required: ["credentials"] },
    then: {
      properties: {
        origins: { not: { anyOf: [{ const: "*" }, { type: "array", contains: { const: "null" } }] } },
        methods: noWildcard,
        allowHeaders: noWildcard,
        exposeHeaders: noWildcard,
      },
    },
  };
}
