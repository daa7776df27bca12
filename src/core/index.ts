/**
 * The CORS core: policy format, validation, compilation and decisions.
 * No Workers APIs here, so the worker, the CLI, the tests and the
 * benchmarks all run the very same code.
 */
export * from "./policy.js";
export * from "./validate.js";
export * from "./compile.js";
export * from "./decide.js";
export { checkOrigin, OriginMatcher, splitOrigin, type OriginEntry } from "./origin.js";
export { isPublicSuffix } from "./public-suffix.js";
export { isToken, parseHeaderList, varyWithOrigin } from "./headers.js";
export { breaks, compareDecisions, type Disagreement } from "./compare.js";
export { isWrite, untrustedWrite } from "./cross-origin.js";
