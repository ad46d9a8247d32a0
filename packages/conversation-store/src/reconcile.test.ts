import { describe, expect, test } from "bun:test";
import type { Chunk, Role } from "@dispatch/protocol/types";
import { INTERRUPTED_TOOL_RESULT, type LogRow, reconcile, SYNTHETIC_SUFFIX } from "./reconcile";

/** Rows with consecutive seqs from a compact description: [messageId, role, chunk]. */
function rows(...spec: [string, Role, Chunk][]): LogRow[] {
  return spec.map(([messageId, role, chunk], i) => ({ seq: i + 1, messageId, role, chunk }));
}
const text = (t: string): Chunk => ({ type: "text", text: t });
const call = (id: string, name = "read"): Chunk => ({
  type: "tool-call",
  toolCallId: id,
  toolName: name,
  input: { id },
});
const result = (id: string, name = "read"): Chunk => ({
  type: "tool-result",
  toolCallId: id,
  toolName: name,
  content: `result ${id}`,
  isError: false,
});
const error = (m: string): Chunk => ({ type: "error", message: m });

describe("reconcile", () => {
  test("regroups interleaved chunks by message id, ordered by each message's first chunk", () => {
    const view = reconcile(
      rows(
        ["u", "user", text("hi")],
        ["a", "assistant", text("one")],
        ["t", "tool", text("x")],
        ["a", "assistant", text("two")],
      ),
    );
    expect(view.map((m) => [m.messageId, m.firstSeq, m.chunks.length])).toEqual([
      ["u", 1, 1],
      ["a", 2, 2],
      ["t", 3, 1],
    ]);
    expect(view[1]?.chunks).toEqual([text("one"), text("two")]);
  });

  test("a complete tool exchange passes through unchanged", () => {
    const log = rows(["u", "user", text("go")], ["a", "assistant", call("c1")], ["t", "tool", result("c1")]);
    expect(reconcile(log).map((m) => m.chunks)).toEqual([[text("go")], [call("c1")], [result("c1")]]);
  });

  test("an unanswered tool call gets a synthetic error result right after its message", () => {
    const log = rows(
      ["u", "user", text("go")],
      ["a", "assistant", text("let me look")],
      ["a", "assistant", call("c1")],
      ["a", "assistant", call("c2", "shell")],
      ["t", "tool", result("c2", "shell")],
      ["u2", "user", text("again")],
    );
    const view = reconcile(log);
    expect(view.map((m) => m.messageId)).toEqual(["u", "a", `a${SYNTHETIC_SUFFIX}`, "t", "u2"]);
    const synthetic = view[2];
    expect(synthetic?.role).toBe("tool");
    expect(synthetic?.synthetic).toBe(true);
    expect(synthetic?.firstSeq).toBe(3);
    expect(synthetic?.chunks).toEqual([
      {
        type: "tool-result",
        toolCallId: "c1",
        toolName: "read",
        content: INTERRUPTED_TOOL_RESULT,
        isError: true,
      },
    ]);
  });

  test("every unanswered call of a message is answered, in call order, and stepId is kept", () => {
    const withStep: Chunk = {
      type: "tool-call",
      toolCallId: "c2",
      toolName: "grep",
      input: {},
      stepId: "s1",
    };
    const view = reconcile(rows(["a", "assistant", call("c1")], ["a", "assistant", withStep]));
    expect(view[1]?.chunks).toEqual([
      {
        type: "tool-result",
        toolCallId: "c1",
        toolName: "read",
        content: INTERRUPTED_TOOL_RESULT,
        isError: true,
      },
      {
        type: "tool-result",
        toolCallId: "c2",
        toolName: "grep",
        content: INTERRUPTED_TOOL_RESULT,
        isError: true,
        stepId: "s1",
      },
    ]);
  });

  test("assistant messages with only error chunks are dropped; mixed ones are kept whole", () => {
    const log = rows(
      ["u", "user", text("go")],
      ["a1", "assistant", error("provider exploded")],
      ["a1", "assistant", error("again")],
      ["a2", "assistant", text("partial")],
      ["a2", "assistant", error("cut off")],
      ["s", "system", error("system messages are never dropped")],
    );
    const view = reconcile(log);
    expect(view.map((m) => m.messageId)).toEqual(["u", "a2", "s"]);
    expect(view[1]?.chunks).toEqual([text("partial"), error("cut off")]);
  });

  test("a tool result whose call is outside the view is left out, and an emptied message with it", () => {
    const log = rows(
      ["t", "tool", result("gone")],
      ["u", "user", text("hi")],
      ["t2", "tool", result("gone2")],
      ["t2", "tool", text("note")],
    );
    const view = reconcile(log);
    expect(view.map((m) => m.messageId)).toEqual(["u", "t2"]);
    expect(view[1]?.chunks).toEqual([text("note")]);
  });

  test("turn ids are carried to the synthetic message; a repeated call id is answered once", () => {
    const log: LogRow[] = [
      { seq: 5, messageId: "a", role: "assistant", chunk: call("c1"), turnId: "t-1" },
      { seq: 6, messageId: "a", role: "assistant", chunk: call("c1"), turnId: "t-1" },
    ];
    const view = reconcile(log);
    expect(view[1]).toMatchObject({ messageId: `a${SYNTHETIC_SUFFIX}`, turnId: "t-1", firstSeq: 5 });
    expect(view[1]?.chunks).toHaveLength(1);
  });

  test("an empty log gives an empty view", () => {
    expect(reconcile([])).toEqual([]);
  });
});
