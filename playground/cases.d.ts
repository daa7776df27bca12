// Types of cases.js, for the tests written in TypeScript.
export interface PlaygroundCase {
  id: string;
  title: string;
  /** "page": the playground's own origin, listed in the example policy; "other": an unlisted one. */
  from: "page" | "other";
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  credentials: boolean;
  preflight: boolean;
  /** What the browser does with examples/policy.json. */
  expected: "allowed" | "refused";
  /** The policy field `edge-cors explain` names for a refused call. */
  refusedBy?: string;
  note: string;
}

export const CASES: PlaygroundCase[];
export function explainArgs(testCase: PlaygroundCase, origin: string, policyFile?: string): string[];
