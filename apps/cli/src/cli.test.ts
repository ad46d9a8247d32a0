import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { COMMANDS, parseCommand } from "./args";
import { helpFor } from "./help";
import { resolveShortId } from "./ids";
import { type RenderState, renderEvent } from "./render";
import { runCli } from "./run";

const ok = (argv: string[]) => {
  const r = parseCommand(argv, (p) => (p === "notes.txt" ? "file body" : new Error("no such file")));
  if (!r.ok) throw new Error(`expected ok, got: ${r.message}`);
  return r;
};
const bad = (argv: string[]) => {
  const r = parseCommand(argv, () => new Error("no such file"));
  if (r.ok) throw new Error(`expected a usage error for ${argv.join(" ")}`);
  return r.message;
};

describe("parseCommand", () => {
  test("chat mode with every option", () => {
    const r = ok([
      "local/echo",
      "--text",
      "hi",
      "--cwd",
      "/tmp",
      "--effort",
      "high",
      "-w",
      "web",
      "--open",
      "--show-reasoning",
      "-c",
      "ab12",
    ]);
    expect(r.command).toEqual({
      kind: "chat",
      model: "local/echo",
      text: "hi",
      cwd: "/tmp",
      effort: "high",
      workspace: "web",
      open: true,
      showReasoning: true,
      conversation: "ab12",
    });
  });
  test("--file is appended to --text", () => {
    expect(ok(["local/echo", "-t", "see", "--file", "notes.txt"]).command).toMatchObject({
      text: "see\n\nfile body",
    });
  });
  test("subcommands", () => {
    expect(ok(["list", "--status", "idle,active", "--workspace", "w", "--limit", "5"]).command).toEqual({
      kind: "list",
      all: false,
      status: ["idle", "active"],
      workspace: "w",
      limit: 5,
    });
    expect(ok(["send", "abc", "--text", "more", "--queue"]).command).toMatchObject({
      kind: "send",
      id: "abc",
      queue: true,
    });
    expect(ok(["compact", "abc", "--keep", "4"]).command).toEqual({
      kind: "compact",
      id: "abc",
      keepLastN: 4,
    });
    expect(ok(["read", "abc", "--json"]).flags.json).toBe(true);
    expect(ok(["serve", "--weird-daemon-flag"]).command).toEqual({
      kind: "serve",
      argv: ["--weird-daemon-flag"],
    });
    expect(ok(["open", "--help"]).command).toEqual({ kind: "help", topic: "open" });
  });
  test("usage errors name the problem", () => {
    expect(bad(["local/echo"])).toContain("--text (or --file) is required");
    expect(bad(["local/echo", "--text", "x", "--effort", "huge"])).toContain(
      '--effort: "huge" is not one of',
    );
    expect(bad(["list", "--status", "sleeping"])).toContain('--status: "sleeping"');
    expect(bad(["read"])).toContain("missing conversation id");
    expect(bad(["frobnicate"])).toContain('unknown command "frobnicate"');
    expect(bad(["list", "--limit", "0"])).toContain("--limit must be an integer ≥ 1");
    expect(bad(["list", "--bogus"])).toContain("--bogus");
    expect(bad(["local/echo", "--file", "missing.txt"])).toContain("--file missing.txt: no such file");
    expect(bad(["stop", "a", "b"])).toContain('unexpected argument "b"');
  });
  test("every command has help", () => {
    for (const topic of COMMANDS.filter((c) => c !== "help")) {
      expect(helpFor(topic)).toContain(topic);
    }
    expect(helpFor("local/echo")).toContain("--show-reasoning");
  });
});

test("--help and -h on every command print its help on stdout, exit 0 and touch no daemon", async () => {
  const home = join(tmpdir(), `dispatch-no-daemon-${crypto.randomUUID()}`);
  for (const command of [...COMMANDS.filter((c) => c !== "help"), "local/echo"]) {
    for (const flag of ["--help", "-h"]) {
      let stdout = "";
      let stderr = "";
      const code = await runCli([command, flag], {
        stdout: { write: (t) => (stdout += t) },
        stderr: { write: (t) => (stderr += t) },
        stdinIsTTY: false,
        env: { DISPATCH_HOME: home },
      });
      expect({ command, flag, code, stderr }).toEqual({ command, flag, code: 0, stderr: "" });
      expect(stdout).toContain(
        command === "local/echo" ? "dispatch <credential>/<model>" : `dispatch ${command}`,
      );
    }
  }
  expect(existsSync(home)).toBe(false);
});

describe("resolveShortId", () => {
  const convs = [
    { id: "abc123", title: "one" },
    { id: "abd456", title: "two" },
  ];
  test("exact id, unique prefix, unknown, ambiguous", () => {
    expect(resolveShortId("abc123", convs)).toEqual({ ok: true, id: "abc123" });
    expect(resolveShortId("abd", convs)).toEqual({ ok: true, id: "abd456" });
    expect(resolveShortId("zz", convs)).toMatchObject({ ok: false, code: "CLI_UNKNOWN_ID" });
    const amb = resolveShortId("ab", convs);
    expect(amb).toMatchObject({ ok: false, code: "CLI_AMBIGUOUS_ID" });
    if (!amb.ok) expect(amb.message).toContain("abc123  one");
  });
});

describe("renderEvent", () => {
  const base = { conversationId: "c", turnId: "t" };
  test("answer on stdout, process on stderr, reasoning only when asked", () => {
    const state: RenderState = { mode: "start" };
    const opts = { color: false, showReasoning: false };
    expect(renderEvent({ ...base, type: "reasoning-delta", delta: "hm" }, state, opts)).toEqual({});
    expect(renderEvent({ ...base, type: "text-delta", delta: "Hello" }, state, opts)).toEqual({
      stdout: "Hello",
    });
    expect(
      renderEvent(
        { ...base, type: "tool-call", toolCallId: "1", toolName: "read_file", input: { path: "a" } },
        state,
        opts,
      ).stderr,
    ).toBe('\n▸ read_file {"path":"a"}\n');
    expect(renderEvent({ ...base, type: "done", reason: "max-steps" }, state, opts).stderr).toContain(
      "max-steps",
    );
  });
});

test("text after a tool call starts on a new line, and done closes the line once", () => {
  const base = { conversationId: "c", turnId: "t" };
  const opts = { color: false, showReasoning: false };
  const state: RenderState = { mode: "start" };
  const out: string[] = [];
  const events = [
    { ...base, type: "text-delta" as const, delta: "Calling a tool." },
    { ...base, type: "tool-call" as const, toolCallId: "1", toolName: "x", input: {} },
    { ...base, type: "tool-result" as const, toolCallId: "1", toolName: "x", content: "ok", isError: false },
    { ...base, type: "text-delta" as const, delta: "Done." },
    { ...base, type: "done" as const, reason: "stop" as const },
  ];
  for (const e of events) out.push(renderEvent(e, state, opts).stdout ?? "");
  expect(out.join("")).toBe("Calling a tool.\nDone.\n");
});
