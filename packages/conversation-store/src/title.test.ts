import { describe, expect, test } from "bun:test";
import { decodeCursor, encodeCursor } from "./cursor";
import { msg, text } from "./test-support";
import { TITLE_MAX, titleFromStep, titleFromText } from "./title";

describe("titleFromText", () => {
  test("collapses whitespace and trims", () => {
    expect(titleFromText("  fix\n\tthe   build  ")).toBe("fix the build");
  });

  test("shortens long text at a word boundary with an ellipsis", () => {
    const t = titleFromText("word ".repeat(40));
    expect(t.length).toBeLessThanOrEqual(TITLE_MAX);
    expect(t.endsWith("word…")).toBe(true);
  });

  test("cuts inside a word when there is no boundary near the end", () => {
    const t = titleFromText("x".repeat(200));
    expect(t).toBe(`${"x".repeat(TITLE_MAX - 1)}…`);
  });
});

describe("titleFromStep", () => {
  test("uses the first non-blank user text, skipping other roles and chunk types", () => {
    const step = [
      msg("s", "system", text("you are helpful")),
      msg("u", "user", { type: "image", url: "data:," }, text("   "), text("explain this")),
    ];
    expect(titleFromStep(step)).toBe("explain this");
  });

  test("is undefined without user text", () => {
    expect(titleFromStep([msg("a", "assistant", text("hello"))])).toBeUndefined();
  });
});

describe("list cursor", () => {
  test("round-trips", () => {
    const c = { lastActivityAt: 1_700_000_000_123, id: "conv/ü" };
    expect(decodeCursor(encodeCursor(c))).toEqual(c);
  });

  test("rejects anything it did not make", () => {
    for (const bad of [
      "",
      "%%%",
      Buffer.from("[1,2]").toString("base64url"),
      Buffer.from('{"t":"x","id":"a"}').toString("base64url"),
    ]) {
      expect(decodeCursor(bad)).toBeUndefined();
    }
  });
});
