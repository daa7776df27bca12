/** Helpers for the fault-injection tests. */
import type { MockInstance } from "vitest";

/** `size` bytes of a pattern that does not repeat every 256 bytes, so a lost or moved chunk changes the hash. */
export function bytesOf(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + (i >> 8)) & 0xff;
  return bytes;
}

export async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The JSON lines a spied `console.warn` or `console.log` was called with. */
export function logLines(spy: MockInstance): Record<string, unknown>[] {
  return spy.mock.calls.map((call: unknown[]) => JSON.parse(String(call[0])) as Record<string, unknown>);
}
