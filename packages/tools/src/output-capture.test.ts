import { expect, test } from "bun:test";
import { OutputCapture } from "./output-capture";
import { parseStat } from "./process-group";

test("OutputCapture keeps everything under the cap", () => {
  const c = new OutputCapture(10);
  expect(c.push("abc")).toBe("abc");
  expect(c.push("defg")).toBe("defg");
  expect(c.capped).toBe(false);
  expect(c.text()).toBe("abcdefg");
});

test("OutputCapture keeps head and tail past the cap and stops live output", () => {
  const c = new OutputCapture(8); // head 6, tail 2
  expect(c.push("0123456789")).toBe("01234567");
  expect(c.push("abcdef")).toBe("");
  expect(c.capped).toBe(true);
  expect(c.text()).toBe("012345\n[… 8 characters of output omitted …]\nef");
});

test("parseStat reads state and process group past a comm with spaces and parentheses", () => {
  expect(parseStat("42 (a b) c)) Z 1 40 40 0 -1")).toEqual({ state: "Z", pgrp: 40 });
});
