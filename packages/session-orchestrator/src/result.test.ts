import { expect, test } from "bun:test";
import { modelRefusal } from "./result";

test("pure: a missing API key keeps its own code; other catalog failures are an unknown model", () => {
  const missing = { code: "PROVIDER_MISSING_API_KEY", message: "set $OPENROUTER_KEY" };
  expect(modelRefusal(missing)).toEqual({
    ok: false,
    error: { code: "ORCH_MISSING_API_KEY", message: missing.message },
  });
  for (const code of ["PROVIDER_UNKNOWN_MODEL", "PROVIDER_UNKNOWN_CREDENTIAL"]) {
    expect(modelRefusal({ code, message: "m" })).toMatchObject({ error: { code: "ORCH_UNKNOWN_MODEL" } });
  }
});
