/**
 * One JSON object a line, so that `wrangler tail` and Logpush can filter on
 * fields. Request values are cut short: a hostile header must not flood logs.
 */
export type LogFields = Record<string, string | number | boolean | null | undefined | string[]>;

export function logWarning(event: string, fields: LogFields): void {
  console.warn(JSON.stringify({ level: "warn", event, ...fields }));
}

export function logInfo(event: string, fields: LogFields): void {
  console.log(JSON.stringify({ level: "info", event, ...fields }));
}

/** A request value for a log line. */
export function clip(value: string | null, limit = 200): string | null {
  return value !== null && value.length > limit ? `${value.slice(0, limit)}…` : value;
}
