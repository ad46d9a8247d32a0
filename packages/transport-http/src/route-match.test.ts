import { expect, test } from "bun:test";
import { allowedMethods, matchesPattern } from "./route-match";

test("matchesPattern: parameters match one non-empty segment", () => {
  expect(matchesPattern("/conversations/:id", "/conversations/abc")).toBe(true);
  expect(matchesPattern("/conversations/:id", "/conversations/")).toBe(false);
  expect(matchesPattern("/conversations/:id", "/conversations/a/b")).toBe(false);
  expect(matchesPattern("/health", "/health")).toBe(true);
  expect(matchesPattern("/health", "/healthz")).toBe(false);
});

test("allowedMethods: union of matching patterns; unknown path is undefined", () => {
  const table = {
    "/conversations/:id": ["GET"],
    "/conversations/:id/model": ["GET", "PUT"],
    "/conversations/:id/:other": ["POST"],
  } as const;
  expect(allowedMethods(table, "/conversations/x/model")).toEqual(["GET", "PUT", "POST"]);
  expect(allowedMethods(table, "/conversations/x")).toEqual(["GET"]);
  expect(allowedMethods(table, "/nope")).toBeUndefined();
});
