import { describe, expect, test } from "bun:test";
import {
  ConversationCatalog,
  conversationStoreExtension,
  PermissionRequests,
} from "@dispatch/conversation-store";
import { createHost, type Extension } from "@dispatch/kernel";
import type { AgentEvent } from "@dispatch/protocol/types";
import { SurfaceRegistry, surfaceRegistryExtension } from "@dispatch/surface-registry";
import { PERMISSIONS_SURFACE_ID, PermissionGate, ToolRegistry } from "./contract";
import { toolsExtensions } from "./extension";
import { permissionActionId } from "./permissions-surface";
import { tempDir, toolContext, waitFor } from "./test-support";

/** The real SQLite store (in memory), the extension the gate optionally depends on. */
function storeExtension(): Extension {
  return conversationStoreExtension({ path: ":memory:" });
}

async function boot(config: Record<string, unknown> = {}) {
  const host = createHost({
    extensions: [
      surfaceRegistryExtension({ loadedExtensions: false }),
      storeExtension(),
      ...toolsExtensions(),
    ],
    config,
  });
  const report = await host.start();
  return { host, report };
}

const shellCall = {
  conversationId: "c1",
  turnId: "t1",
  toolCallId: "call-1",
  toolName: "run_shell",
  input: { command: "touch made-by-shell" },
  cwd: "/proj",
  subject: { kind: "shell" as const, command: "touch made-by-shell" },
};

describe("tools extensions in a real host", () => {
  test("every built-in tool contributes through the registry; the tools run", async () => {
    const { host, report } = await boot();
    await using _ = host;
    expect(report.disabled).toEqual([]);
    const registry = host.get(ToolRegistry);
    expect(registry.list().map((t) => t.name)).toEqual([
      "read_file",
      "list_dir",
      "glob",
      "grep",
      "write_file",
      "edit_file",
      "run_shell",
    ]);
    for (const tool of registry.list()) {
      expect(JSON.parse(JSON.stringify(tool.parameters))).toEqual(tool.parameters);
      expect(tool.parameters.type).toBe("object");
    }
    await using t = await tempDir();
    const write = registry.get("write_file")!;
    const args = write.validate({ path: "x/y.txt", content: "hi", overwrite: false });
    expect(args.ok).toBe(true);
    if (args.ok) expect((await write.execute(args.value, toolContext(t.path))).isError).toBe(false);
    const read = registry.get("read_file")!;
    expect((await read.execute({ path: "x/y.txt" }, toolContext(t.path))).content).toBe("     1\thi");
  });

  test("config sections set tool limits and the gate policy; invalid config disables only that extension", async () => {
    const { host, report } = await boot({
      "tool-run-shell": { maxOutputChars: "lots" },
      "permission-gate": { tools: { run_shell: "deny" } },
    });
    await using _ = host;
    expect(report.disabled.map((d) => d.id)).toEqual(["tool-run-shell"]);
    expect(report.disabled[0]?.reason).toContain("maxOutputChars");
    expect(host.get(ToolRegistry).get("run_shell")).toBeUndefined();
    const verdict = await host
      .get(PermissionGate)
      .check(shellCall, { emit: () => {}, signal: new AbortController().signal });
    expect(verdict.decision).toBe("deny");
  });

  test("the permissions surface lists pending requests for a late subscriber and its buttons answer them", async () => {
    const { host } = await boot();
    await using _ = host;
    host.get(ConversationCatalog).ensureConversation({ id: "c1" });
    const gate = host.get(PermissionGate);
    const surfaces = host.get(SurfaceRegistry);
    expect(surfaces.catalog()).toContainEqual({
      id: PERMISSIONS_SURFACE_ID,
      region: "composer",
      title: "Permission requests",
      scope: "conversation",
    });
    const changed: (string | undefined)[] = [];
    surfaces.onSpecChanged((id, ctx) => {
      if (id === PERMISSIONS_SURFACE_ID) changed.push(ctx?.conversationId);
    });

    const events: AgentEvent[] = [];
    const verdict = gate.check(shellCall, {
      emit: (e) => events.push(e),
      signal: new AbortController().signal,
    });
    const requestId = events[0]?.type === "permission-request" ? events[0].requestId : "";
    expect(requestId).not.toBe("");
    expect(changed).toEqual(["c1"]);
    expect(
      host
        .get(PermissionRequests)
        .listPendingPermissionRequests("c1")
        .map((r) => r.requestId),
    ).toEqual([requestId]);

    // A subscriber arriving now still sees the request, from the gate and from the surface.
    expect(gate.pending("c1")).toEqual([events[0] as never]);
    const spec = await surfaces.getSpec(PERMISSIONS_SURFACE_ID, { conversationId: "c1" });
    expect(spec.ok).toBe(true);
    if (!spec.ok) return;
    const buttons = spec.value.fields.flatMap((f) =>
      f.kind === "button" ? [[f.label, f.action.actionId]] : [],
    );
    expect(buttons).toEqual([
      ["Allow", `allow:${requestId}`],
      ["Deny", `deny:${requestId}`],
      ["Always allow", `always:${requestId}`],
    ]);
    expect(spec.value.fields[0]).toMatchObject({ kind: "stat", label: "run_shell" });

    const invoked = await surfaces.invoke(
      PERMISSIONS_SURFACE_ID,
      permissionActionId("allow", requestId),
      undefined,
      {
        conversationId: "c1",
      },
    );
    expect(invoked.ok).toBe(true);
    expect(await verdict).toEqual({ decision: "allow" });
    expect(events[1]).toMatchObject({ type: "permission-resolved", requestId, decision: "allow" });
    expect(changed).toEqual(["c1", "c1"]);
    expect(host.get(PermissionRequests).listPendingPermissionRequests("c1")).toEqual([]);
    const after = await surfaces.getSpec(PERMISSIONS_SURFACE_ID, { conversationId: "c1" });
    expect(after.ok && after.value.fields).toEqual([
      { kind: "stat", label: "Permission requests", value: "none pending" },
    ]);

    const again = await surfaces.invoke(PERMISSIONS_SURFACE_ID, `deny:${requestId}`, undefined, {
      conversationId: "c1",
    });
    expect(again.ok ? "ok" : again.error.code).toBe("SURFACE_ACTION_FAILED");
    const bogus = await surfaces.invoke(PERMISSIONS_SURFACE_ID, "explode", undefined, {
      conversationId: "c1",
    });
    expect(bogus.ok ? "ok" : bogus.error.code).toBe("SURFACE_UNKNOWN_ACTION");
  });

  test("the resolve action takes a payload; stopping the host denies what is pending", async () => {
    const { host } = await boot();
    const gate = host.get(PermissionGate);
    const surfaces = host.get(SurfaceRegistry);
    const events: AgentEvent[] = [];
    const io = { emit: (e: AgentEvent) => events.push(e), signal: new AbortController().signal };
    const first = gate.check(shellCall, io);
    const firstId = gate.pending("c1")[0]?.requestId;
    const bad = await surfaces.invoke(
      PERMISSIONS_SURFACE_ID,
      "resolve",
      { requestId: firstId },
      { conversationId: "c1" },
    );
    expect(bad.ok ? "ok" : bad.error.code).toBe("SURFACE_INVALID_PAYLOAD");
    const good = await surfaces.invoke(
      PERMISSIONS_SURFACE_ID,
      "resolve",
      { requestId: firstId, decision: "deny" },
      { conversationId: "c1" },
    );
    expect(good.ok).toBe(true);
    expect((await first).decision).toBe("deny");

    const second = gate.check({ ...shellCall, toolCallId: "call-2" }, io);
    await waitFor("the second request to be pending", () => gate.pending("c1").length === 1);
    await host.stop();
    expect(await second).toEqual({ decision: "deny", reason: "the daemon is shutting down" });
  });
});

describe("permissions surface: the global view (no conversationId)", () => {
  test("lists every conversation's requests with its title; a button alone answers; answered → gone", async () => {
    const { host } = await boot();
    const gate = host.get(PermissionGate);
    const surfaces = host.get(SurfaceRegistry);
    const store = host.get(ConversationCatalog);
    expect(store.ensureConversation({ id: "c1", title: "Fix the build" }).ok).toBe(true);
    const io = { emit: () => {}, signal: new AbortController().signal };
    const first = gate.check(shellCall, io);
    const second = gate.check({ ...shellCall, conversationId: "c2", toolCallId: "call-2" }, io);
    const [r1, r2] = gate.allPending();
    expect([r1?.conversationId, r2?.conversationId]).toEqual(["c1", "c2"]);

    const spec = await surfaces.getSpec(PERMISSIONS_SURFACE_ID);
    if (!spec.ok) throw new Error(spec.error.message);
    const stats = spec.value.fields.flatMap((f) => (f.kind === "stat" ? [[f.label, f.value]] : []));
    // The conversation (title, else id), the tool with the reason, the input.
    expect(stats.filter(([l]) => l === "Conversation").map(([, v]) => v)).toEqual(["Fix the build", "c2"]);
    expect(stats.filter(([l]) => l === "run_shell")).toHaveLength(2);
    expect(stats.filter(([l]) => l === "Input")).toHaveLength(2);
    const actions = spec.value.fields.flatMap((f) => (f.kind === "button" ? [f.action.actionId] : []));
    expect(actions).toContain(`always:${r2?.requestId}`);

    // No payload, no conversationId: the action id is enough.
    const answered = await surfaces.invoke(PERMISSIONS_SURFACE_ID, `deny:${r2?.requestId}`);
    expect(answered.ok).toBe(true);
    expect((await second).decision).toBe("deny");
    const after = await surfaces.getSpec(PERMISSIONS_SURFACE_ID);
    const left = after.ok
      ? after.value.fields.flatMap((f) => (f.kind === "button" ? [f.action.actionId] : []))
      : [];
    expect(left).toEqual([`allow:${r1?.requestId}`, `deny:${r1?.requestId}`, `always:${r1?.requestId}`]);

    // Answered elsewhere (here: the gate, as HTTP or the CLI do) → gone from the global view too.
    expect(gate.resolve("c1", r1?.requestId ?? "", "allow").ok).toBe(true);
    expect((await first).decision).toBe("allow");
    const none = await surfaces.getSpec(PERMISSIONS_SURFACE_ID);
    expect(none.ok && none.value.fields).toEqual([
      { kind: "stat", label: "Permission requests", value: "none pending" },
    ]);
    const stale = await surfaces.invoke(PERMISSIONS_SURFACE_ID, `allow:${r1?.requestId}`);
    expect(stale.ok ? "ok" : stale.error.code).toBe("SURFACE_ACTION_FAILED");
    await host.stop();
  });
});
