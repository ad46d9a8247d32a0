/**
 * Every prompt can be granted: for each tool, a call the gate asks about is answered "allow" and must
 * then succeed; a call the file root would refuse is denied without a prompt.
 */
import { expect, test } from "bun:test";
import { createHost } from "@dispatch/kernel";
import type { AgentEvent } from "@dispatch/protocol/types";
import { surfaceRegistryExtension } from "@dispatch/surface-registry";
import { PermissionGate, ToolRegistry } from "./contract";
import { toolsExtensions } from "./extension";
import { tempDir, toolContext } from "./test-support";

/** One call per tool, all of which ask under the config below (reads ask too). */
const CALLS: Record<string, unknown> = {
  read_file: { path: "notes/a.txt" },
  list_dir: { path: "notes" },
  glob: { pattern: "**/*.txt" },
  grep: { pattern: "hello" },
  write_file: { path: "notes/new.txt", content: "fresh", overwrite: false },
  edit_file: { path: "notes/a.txt", oldString: "hello", newString: "goodbye" },
  run_shell: { command: "echo ran" },
};

async function bootTools(config: Record<string, unknown>) {
  const host = createHost({
    extensions: [surfaceRegistryExtension({ loadedExtensions: false }), ...toolsExtensions()],
    config: { "permission-gate": config },
  });
  await host.start();
  return { host, registry: host.get(ToolRegistry), gate: host.get(PermissionGate) };
}

test("answering allow to every kind of request lets the call succeed", async () => {
  const { host, registry, gate } = await bootTools({ defaults: { read: "ask", write: "ask", shell: "ask" } });
  await using _ = host;
  await using dir = await tempDir();
  await dir.write("notes/a.txt", "hello world\n");
  expect(
    registry
      .list()
      .map((t) => t.name)
      .sort(),
  ).toEqual(Object.keys(CALLS).sort());
  for (const tool of registry.list()) {
    const args = tool.validate(CALLS[tool.name]);
    if (!args.ok) throw new Error(`${tool.name}: ${args.message}`);
    const asked: AgentEvent[] = [];
    const verdict = await gate.check(
      {
        conversationId: "c1",
        turnId: "t1",
        toolCallId: `call-${tool.name}`,
        toolName: tool.name,
        input: CALLS[tool.name],
        cwd: dir.path,
        subject: tool.permission(args.value, dir.path),
      },
      {
        signal: new AbortController().signal,
        emit: (e) => {
          asked.push(e);
          if (e.type === "permission-request") gate.resolve("c1", e.requestId, "allow");
        },
      },
    );
    expect([tool.name, asked.map((e) => e.type)]).toEqual([
      tool.name,
      ["permission-request", "permission-resolved"],
    ]);
    expect([tool.name, verdict.decision]).toEqual([tool.name, "allow"]);
    const result = await tool.execute(args.value, toolContext(dir.path));
    expect([tool.name, result.isError, result.code]).toEqual([tool.name, false, undefined]);
  }
});

test("a file call outside the working directory is refused without asking, even when reads are allowed", async () => {
  const { host, registry, gate } = await bootTools({ defaults: { read: "allow", write: "allow" } });
  await using _ = host;
  await using dir = await tempDir();
  await using elsewhere = await tempDir();
  const secret = await elsewhere.write("secret.txt", "SECRET");
  const outside: Record<string, unknown> = {
    read_file: { path: secret },
    list_dir: { path: elsewhere.path },
    write_file: { path: elsewhere.join("x.txt"), content: "x", overwrite: false },
    edit_file: { path: secret, oldString: "SECRET", newString: "gone" },
  };
  for (const [name, input] of Object.entries(outside)) {
    const tool = registry.get(name)!;
    const args = tool.validate(input);
    if (!args.ok) throw new Error(args.message);
    const asked: AgentEvent[] = [];
    const verdict = await gate.check(
      {
        conversationId: "c1",
        turnId: "t1",
        toolCallId: `call-${name}`,
        toolName: name,
        input,
        cwd: dir.path,
        subject: tool.permission(args.value, dir.path),
      },
      { signal: new AbortController().signal, emit: (e) => asked.push(e) },
    );
    expect([name, verdict.decision, asked]).toEqual([name, "deny", []]);
  }
});
