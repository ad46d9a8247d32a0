import { describe, expect, test } from "bun:test";
import { openConversationStore } from "@dispatch/conversation-store";
import { createMemoryLogger } from "@dispatch/kernel";
import type { AgentEvent } from "@dispatch/protocol/types";
import type { PermissionCheckRequest, PermissionSubject } from "./contract";
import { createPermissionGate, type PermissionGateOptions } from "./permission-gate";
import { PermissionConfig, type PermissionConfigInput } from "./policy";

function setup(config: PermissionConfigInput = {}, extra: Partial<PermissionGateOptions> = {}) {
  let n = 0;
  const gate = createPermissionGate({
    config: PermissionConfig.parse(config),
    newId: () => `req-${++n}`,
    ...extra,
  });
  const events: AgentEvent[] = [];
  const controller = new AbortController();
  const io = { emit: (e: AgentEvent) => events.push(e), signal: controller.signal };
  return { gate, events, controller, io };
}

function call(
  subject: PermissionSubject,
  over: Partial<PermissionCheckRequest> = {},
): PermissionCheckRequest {
  const toolName =
    subject.kind === "shell" ? "run_shell" : subject.kind === "write" ? "write_file" : "read_file";
  return {
    conversationId: "c1",
    turnId: "t1",
    toolCallId: "call-1",
    toolName,
    input: { x: 1 },
    cwd: "/proj",
    subject,
    ...over,
  };
}
const writeA = call({ kind: "write", paths: ["/proj/a.ts"] });
const shellLs = call({ kind: "shell", command: "ls -la" });

describe("PermissionGate", () => {
  test("allowed calls pass without events; denied ones say why", async () => {
    const { gate, events, io } = setup({ tools: { run_shell: "deny" } });
    expect(await gate.check(call({ kind: "read", paths: ["/proj/a"] }), io)).toEqual({ decision: "allow" });
    const denied = await gate.check(shellLs, io);
    expect(denied.decision).toBe("deny");
    expect(denied.reason).toContain("policy for run_shell says deny");
    expect(events).toEqual([]);
  });

  test("ask → allow: request emitted and pending, then resolved", async () => {
    const { gate, events, io } = setup();
    const verdict = gate.check(writeA, io);
    expect(events).toHaveLength(1);
    const request = events[0];
    expect(request).toMatchObject({
      type: "permission-request",
      conversationId: "c1",
      turnId: "t1",
      requestId: "req-1",
      toolCallId: "call-1",
      toolName: "write_file",
      input: { x: 1 },
    });
    expect(request?.type === "permission-request" && request.reason).toContain(
      "write_file wants to write a.ts",
    );
    expect(gate.pending("c1")).toEqual([request as never]);
    expect(gate.pending("other")).toEqual([]);
    expect(gate.resolve("c1", "req-1", "allow")).toEqual({ ok: true, value: undefined });
    expect(await verdict).toEqual({ decision: "allow" });
    expect(events[1]).toEqual({
      type: "permission-resolved",
      conversationId: "c1",
      turnId: "t1",
      requestId: "req-1",
      decision: "allow",
    });
    expect(gate.pending("c1")).toEqual([]);
  });

  test("ask → deny becomes a deny with a reason", async () => {
    const { gate, events, io } = setup();
    const verdict = gate.check(shellLs, io);
    gate.resolve("c1", "req-1", "deny");
    expect(await verdict).toEqual({ decision: "deny", reason: "denied by the user" });
    expect(events.map((e) => e.type)).toEqual(["permission-request", "permission-resolved"]);
  });

  test("no answer within the timeout → deny", async () => {
    const { gate, events, io } = setup({ timeoutMs: 20 });
    const verdict = await gate.check(shellLs, io);
    expect(verdict.decision).toBe("deny");
    expect(verdict.reason).toContain("no answer within");
    expect(events[1]).toMatchObject({ type: "permission-resolved", decision: "deny" });
    expect(gate.pending("c1")).toEqual([]);
  });

  test("stopping the turn denies pending requests; an aborted signal never asks", async () => {
    const { gate, events, io, controller } = setup();
    const verdict = gate.check(shellLs, io);
    controller.abort();
    expect(await verdict).toEqual({ decision: "deny", reason: "the turn was stopped" });
    expect(events.map((e) => e.type)).toEqual(["permission-request", "permission-resolved"]);
    expect(await gate.check(shellLs, io)).toEqual({ decision: "deny", reason: "the turn was stopped" });
    expect(events).toHaveLength(2);
  });

  test("always allows and remembers the tool + subject for that conversation only", async () => {
    const { gate, events, io } = setup();
    const first = gate.check(writeA, io);
    gate.resolve("c1", "req-1", "always");
    expect(await first).toEqual({ decision: "allow" });
    expect(events[1]).toMatchObject({ type: "permission-resolved", decision: "always" });
    // Same tool anywhere in the cwd: allowed silently.
    expect(await gate.check(call({ kind: "write", paths: ["/proj/deep/b.ts"] }), io)).toEqual({
      decision: "allow",
    });
    expect(events).toHaveLength(2);
    // Another conversation, or another tool, still asks.
    const other = gate.check({ ...writeA, conversationId: "c2" }, io);
    const edit = gate.check({ ...writeA, toolName: "edit_file" }, io);
    expect(gate.pending("c2").map((r) => r.requestId)).toEqual(["req-2"]);
    expect(gate.pending("c1").map((r) => r.requestId)).toEqual(["req-3"]);
    gate.resolve("c2", "req-2", "deny");
    gate.resolve("c1", "req-3", "deny");
    expect((await other).decision).toBe("deny");
    expect((await edit).decision).toBe("deny");
  });

  test("unknown, already answered and foreign requests are coded errors", async () => {
    const { gate, io } = setup();
    expect(gate.resolve("c1", "nope", "allow")).toMatchObject({
      ok: false,
      error: { code: "PERMISSION_UNKNOWN_REQUEST" },
    });
    const verdict = gate.check(shellLs, io);
    expect(gate.resolve("c2", "req-1", "allow")).toMatchObject({
      ok: false,
      error: { code: "PERMISSION_UNKNOWN_REQUEST" },
    });
    expect(gate.resolve("c1", "req-1", "maybe" as never)).toMatchObject({
      ok: false,
      error: { code: "PERMISSION_INVALID_DECISION" },
    });
    gate.resolve("c1", "req-1", "allow");
    await verdict;
    const again = gate.resolve("c1", "req-1", "deny");
    expect(again.ok ? "ok" : again.error.code).toBe("PERMISSION_UNKNOWN_REQUEST");
  });

  test("pending-change listeners hear asks and answers", async () => {
    const { gate, io } = setup();
    const heard: string[] = [];
    const off = gate.onPendingChanged((c) => heard.push(c));
    const verdict = gate.check(shellLs, io);
    gate.resolve("c1", "req-1", "allow");
    await verdict;
    off();
    gate.check(shellLs, io);
    expect(heard).toEqual(["c1", "c1"]);
    gate.denyAll("test over");
  });

  test("pending requests are persisted with the turn and marked resolved", async () => {
    const store = openConversationStore({ path: ":memory:" });
    try {
      expect(store.ensureConversation({ id: "c1" }).ok).toBe(true);
      const { gate, io } = setup({}, { store, clock: () => 1234 });
      const verdict = gate.check(shellLs, io);
      expect(store.listPendingPermissionRequests("c1")).toEqual([
        {
          requestId: "req-1",
          conversationId: "c1",
          turnId: "t1",
          toolCallId: "call-1",
          toolName: "run_shell",
          input: { x: 1 },
          reason: expect.stringContaining("run_shell wants to run: ls -la"),
          createdAt: 1234,
          status: "pending",
        },
      ]);
      gate.resolve("c1", "req-1", "always");
      await verdict;
      expect(store.listPendingPermissionRequests("c1")).toEqual([]);
    } finally {
      store.close();
    }
  });

  test("a store failure is logged and the gate keeps working", async () => {
    const store = openConversationStore({ path: ":memory:" });
    try {
      const logger = createMemoryLogger();
      const { gate, io } = setup({}, { store, logger });
      const verdict = gate.check(shellLs, io); // conversation c1 does not exist in the store
      expect(gate.pending("c1")).toHaveLength(1);
      expect(logger.records.find((r) => r.level === "warn")?.fields.code).toBe("STORE_UNKNOWN_CONVERSATION");
      gate.resolve("c1", "req-1", "allow");
      expect(await verdict).toEqual({ decision: "allow" });
    } finally {
      store.close();
    }
  });
});

describe("a turn's grant (--allow, --yes)", () => {
  test("turns ask into allow for the tools it names, without a request", async () => {
    const { gate, events, io } = setup();
    expect(await gate.check({ ...shellLs, grant: { tools: ["run_shell"] } }, io)).toEqual({
      decision: "allow",
    });
    expect(await gate.check({ ...writeA, grant: { all: true } }, io)).toEqual({ decision: "allow" });
    expect(events).toEqual([]);
  });
  test("a grant never covers a protected path: the write still asks", async () => {
    const { gate, events, io } = setup();
    const hook = call({ kind: "write", paths: ["/proj/.git/hooks/pre-commit"] });
    void gate.check({ ...hook, grant: { all: true } }, io);
    expect(events.map((e) => e.type)).toEqual(["permission-request"]);
    expect((events[0] as { reason: string }).reason).toContain("protected path");
    gate.denyAll("test over");
  });
  test("a grant for another tool still asks; a policy deny stays a deny", async () => {
    const { gate, events, io } = setup({ tools: { run_shell: "deny" } });
    const denied = await gate.check({ ...shellLs, grant: { all: true } }, io);
    expect(denied.decision).toBe("deny");
    const asked = gate.check({ ...writeA, grant: { tools: ["run_shell"] } }, io);
    expect(events.map((e) => e.type)).toEqual(["permission-request"]);
    const req = events[0] as Extract<AgentEvent, { type: "permission-request" }>;
    gate.resolve("c1", req.requestId, "deny", "nobody could be asked; rerun with --allow write_file");
    expect(await asked).toEqual({
      decision: "deny",
      reason: "nobody could be asked; rerun with --allow write_file",
    });
  });
});
