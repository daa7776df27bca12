import { writeFile } from "node:fs/promises";
import { policySchema } from "../core/schema.js";
import { EXIT_OK, stringOption, type Command } from "./command.js";

/** The schema as shipped in schema/policy.schema.json. */
export function schemaText(): string {
  return `${JSON.stringify(policySchema(), null, 2)}\n`;
}

export const schemaCommand: Command = {
  name: "schema",
  summary: "print the JSON Schema of the policy format",
  usage: "edge-cors schema [--out FILE]",
  help: `Prints the JSON Schema of the policy format, generated from the same field
table as the validator. The package ships it as schema/policy.schema.json:
point a policy's "$schema" at it for completion and checks in editors.
The schema cannot say everything (the canonical form of an origin, public
suffixes, rules a route inherits): validate is the judge.

Options:
  --out FILE   write it to FILE instead of stdout

Example:
  edge-cors schema --out schema/policy.schema.json`,
  options: { out: { type: "string" } },
  positionals: { min: 0, max: 0 },
  async run({ values }, out) {
    const file = stringOption(values, "out");
    if (file === undefined) {
      process.stdout.write(schemaText());
      return EXIT_OK;
    }
    await writeFile(file, schemaText());
    if (out.json) out.data({ written: file });
    else out.line(`wrote ${file}`);
    return EXIT_OK;
  },
};
