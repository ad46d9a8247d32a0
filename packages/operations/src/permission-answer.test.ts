import { expect, test } from "bun:test";
import { answerPermission, type PermissionAnswers } from "./run-effects";

/** A gate that knows one pending request; records what it was asked. */
class OneRequestGate implements PermissionAnswers {
  readonly answered: unknown[][] = [];
  resolve(...args: Parameters<PermissionAnswers["resolve"]>): ReturnType<PermissionAnswers["resolve"]> {
    this.answered.push(args);
    return args[1] === "r1"
      ? { ok: true, value: undefined }
      : { ok: false, error: { code: "PERMISSION_UNKNOWN_REQUEST", message: `unknown request "${args[1]}"` } };
  }
}

test("an answer goes to the gate; every refusal is ORCH_UNKNOWN_PERMISSION_REQUEST", () => {
  const gate = new OneRequestGate();
  expect(answerPermission(gate, "c", "r1", "deny", "not now")).toEqual({ ok: true, value: undefined });
  expect(gate.answered).toEqual([["c", "r1", "deny", "not now"]]);
  const unknown = answerPermission(gate, "c", "r2", "allow");
  expect(unknown.ok ? "" : `${unknown.error.code} ${unknown.error.message}`).toBe(
    'ORCH_UNKNOWN_PERMISSION_REQUEST unknown request "r2"',
  );
  const none = answerPermission(undefined, "c", "r1", "allow");
  expect(none.ok ? "" : none.error.code).toBe("ORCH_UNKNOWN_PERMISSION_REQUEST");
});
