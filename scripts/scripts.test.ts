import { expect, test } from "bun:test";
import { bunVersionMatches, pinnedBunVersion } from "./check-bun";
import { runnerSummary } from "./run-tests";

test("the Bun version check accepts patch releases of the pinned major.minor only", () => {
  expect(pinnedBunVersion).toMatch(/^\d+\.\d+\.\d+$/);
  expect(bunVersionMatches("1.4.4", "1.4.4")).toBe(true);
  expect(bunVersionMatches("1.4.4", "1.4.9")).toBe(true);
  expect(bunVersionMatches("1.4.4", "1.5.0")).toBe(false);
  expect(bunVersionMatches("1.4.4", "2.4.4")).toBe(false);
  expect(bunVersionMatches("1.4.4", "1.40.0")).toBe(false);
  expect(bunVersionMatches(pinnedBunVersion, Bun.version)).toBe(true);
});

test("the CI summary repeats bun test's own closing lines and the plain counts", () => {
  const out =
    "(pass) a\n\n 758 pass\n 2 skip\n 1 fail\n 17955 expect() calls\nRan 761 tests across 87 files. [95.31s]\n";
  expect(runnerSummary(out)).toEqual({
    lines: ["758 pass", "2 skip", "1 fail", "Ran 761 tests across 87 files. [95.31s]"],
    passed: 758,
    failed: 1,
  });
  expect(runnerSummary("nothing ran")).toEqual({ lines: [], passed: 0, failed: 0 });
});
