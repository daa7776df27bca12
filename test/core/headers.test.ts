/**
 * Header-value helpers: the Access-Control-Request-Headers parser, token
 * checks and Vary merging.
 */
import { describe, expect, it } from "vitest";
import { parseHeaderList, varyWithOrigin } from "../../src/core/index.js";
import { isToken } from "../../src/core/headers.js";

describe("parseHeaderList", () => {
  const rows: [string, string[] | null][] = [
    ["", []],
    ["content-type", ["content-type"]],
    ["Content-Type", ["content-type"]],
    ["X-REQUEST-ID", ["x-request-id"]],
    ["a,b", ["a", "b"]],
    ["a, b", ["a", "b"]],
    ["  a  ,  b  ", ["a", "b"]],
    ["\ta,\tb\t", ["a", "b"]],
    ["a,,b", ["a", "b"]],
    [",a,", ["a"]],
    [", , ,", []],
    [",,,", []],
    ["   ", []],
    ["x-a, X-A", ["x-a", "x-a"]],
    ["authorization,content-type,x-requested-with", ["authorization", "content-type", "x-requested-with"]],
    ["!#$%&'*+-.^_`|~09AZaz", ["!#$%&'*+-.^_`|~09azaz"]],
    ["*", ["*"]],
    // Anything that is not a list of tokens is refused as a whole.
    ["a b", null],
    ["a\tb", null],
    ["content type, x-a", null],
    ["x-a, content type", null],
    ["a;b", null],
    ["a:b", null],
    ["a/b", null],
    ["a=b", null],
    ["a@b", null],
    ['"a"', null],
    ["(a)", null],
    ["{a}", null],
    ["[a]", null],
    ["a\\b", null],
    ["a?b", null],
    ["é", null],
    ["x-ä", null],
    ["a\nb", null],
    ["a\r\n b", null],
    ["a\u0000", null],
    ["a\u007f", null],
    ["a\u00a0", null],
    ["\u{1F600}", null],
  ];
  it.each(rows)("%j → %j", (value, expected) => {
    expect(parseHeaderList(value)).toEqual(expected);
  });
});

describe("parseHeaderList on 64 KiB hostile values", () => {
  const KiB64 = 64 * 1024;
  const rows: [string, string, (names: string[] | null) => void][] = [
    ["many short names", "a,".repeat(KiB64 / 2), (names) => {
      expect(names).toHaveLength(KiB64 / 2);
      expect(names?.every((name) => name === "a")).toBe(true);
    }],
    ["one long name", "A".repeat(KiB64), (names) => expect(names).toEqual(["a".repeat(KiB64)])],
    ["only commas", ",".repeat(KiB64), (names) => expect(names).toEqual([])],
    ["only spaces", " ".repeat(KiB64), (names) => expect(names).toEqual([])],
    ["comma-space runs", ", ".repeat(KiB64 / 2), (names) => expect(names).toEqual([])],
    ["a name after 64 KiB of spaces", `${" ".repeat(KiB64)}x-a`, (names) => expect(names).toEqual(["x-a"])],
    ["a name with 64 KiB of spaces inside", `x${" ".repeat(KiB64)}y`, (names) => expect(names).toBeNull()],
    ["a bad character at the very end", `${"a,".repeat(KiB64 / 2)};`, (names) => expect(names).toBeNull()],
    ["a bad character at the very start", `;${"a,".repeat(KiB64 / 2)}`, (names) => expect(names).toBeNull()],
    ["alternating spaces and letters", "a ".repeat(KiB64 / 2), (names) => expect(names).toBeNull()],
    ["rs/cors-style repeated names with spaces", "a , ".repeat(KiB64 / 4), (names) => {
      expect(names).toHaveLength(KiB64 / 4);
      expect(new Set(names)).toEqual(new Set(["a"]));
    }],
    ["tabs and commas", "\t,".repeat(KiB64 / 2), (names) => expect(names).toEqual([])],
  ];
  it.each(rows)("%s", (_name, value, check) => {
    expect(value.length).toBeGreaterThanOrEqual(KiB64);
    check(parseHeaderList(value));
  });
});

describe("isToken", () => {
  const rows: [string, boolean][] = [
    ["GET", true],
    ["PATCH", true],
    ["patch", true],
    ["X-Custom_1.2~", true],
    ["*", true],
    ["", false],
    ["GET ", false],
    [" GET", false],
    ["GE T", false],
    ["GET,POST", false],
    ["GET\n", false],
    ["GËT", false],
  ];
  it.each(rows)("%j → %s", (value, expected) => {
    expect(isToken(value)).toBe(expected);
  });
});

describe("varyWithOrigin", () => {
  const rows: [string | null, string][] = [
    [null, "Origin"],
    ["", "Origin"],
    ["   ", "Origin"],
    ["Origin", "Origin"],
    ["origin", "origin"],
    ["ORIGIN", "ORIGIN"],
    [" Origin ", " Origin "],
    ["Accept-Encoding", "Accept-Encoding, Origin"],
    ["Accept-Encoding, Accept-Language", "Accept-Encoding, Accept-Language, Origin"],
    ["Accept-Encoding, Origin", "Accept-Encoding, Origin"],
    ["Accept-Encoding,origin", "Accept-Encoding,origin"],
    ["Origin, Accept-Encoding", "Origin, Accept-Encoding"],
    ["Origin-Agent-Cluster", "Origin-Agent-Cluster, Origin"],
    ["X-Origin", "X-Origin, Origin"],
    ["Origins", "Origins, Origin"],
    ["*", "*"],
    [" * ", " * "],
    ["Accept-Encoding, *", "Accept-Encoding, *"],
  ];
  it.each(rows)("%j → %j", (vary, expected) => {
    expect(varyWithOrigin(vary)).toBe(expected);
  });

  const originTokens = (value: string): number =>
    value.split(",").filter((token) => token.trim().toLowerCase() === "origin").length;
  const hasStar = (value: string): boolean => value.split(",").some((token) => token.trim() === "*");

  it.each(rows)("%j: Origin once (or * alone), and idempotent", (vary) => {
    const once = varyWithOrigin(vary);
    expect(varyWithOrigin(once)).toBe(once);
    if (hasStar(once)) {
      expect(once).toBe(vary);
    } else {
      expect(originTokens(once)).toBe(1);
    }
  });

  it("keeps every token the origin sent, in order", () => {
    const vary = "Accept-Encoding, Accept-Language, Cookie";
    const merged = varyWithOrigin(vary);
    expect(merged.split(",").map((t) => t.trim())).toEqual(["Accept-Encoding", "Accept-Language", "Cookie", "Origin"]);
  });
});
