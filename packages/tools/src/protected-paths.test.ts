import { describe, expect, test } from "bun:test";
import * as fs from "node:fs/promises";
import type { AgentEvent } from "@dispatch/protocol/types";
import type { PermissionCheckRequest } from "./contract";
import { editFileTool } from "./edit-file";
import { createPermissionGate } from "./permission-gate";
import { decide, PermissionConfig, type PermissionConfigInput } from "./policy";
import { protectedRisk } from "./protected-paths";
import { tempDir } from "./test-support";
import { writeFileTool } from "./write-file";

const README_RULES: PermissionConfigInput = {
  rules: [
    { command: "git status*", action: "allow" },
    { commandRegex: "^bun (test|run lint)\\b", action: "allow" },
    { paths: ["**/.env*"], action: "deny" },
  ],
};

function writeReq(cwd: string, p: string, toolName = "write_file"): PermissionCheckRequest {
  const tool = toolName === "edit_file" ? editFileTool() : writeFileTool();
  const subject = tool.permission(
    { path: p, content: "", overwrite: true, oldString: "a", newString: "b" } as never,
    cwd,
  );
  return {
    conversationId: "c1",
    turnId: "t1",
    toolCallId: `k-${p}`,
    toolName,
    input: { path: p },
    cwd,
    subject,
  };
}

describe("protectedRisk", () => {
  test("git's configuration and hooks, shell start-up files, Dispatch's files; case-insensitive", () => {
    for (const p of [
      "/p/.git/config",
      "/p/.git/hooks/pre-commit",
      "/p/.git/info/attributes",
      "/p/sub/.git/config",
      "/p/.git",
      "/p/.GIT/CONFIG",
      "/p/.husky/pre-commit",
      "/home/u/.bashrc",
      "/home/u/.zshrc",
      "/home/u/.profile",
      "/home/u/.bash_profile",
      "/home/u/.zprofile",
      "/p/.envrc",
      "/home/u/.gitconfig",
      "/home/u/.config/git/config",
      "/home/u/.config/fish/config.fish",
      "/home/u/.ssh/authorized_keys",
      "/p/.dispatch/anything",
      "/p/dispatch.toml",
    ]) {
      expect(protectedRisk(p) === undefined ? `unprotected ${p}` : "protected").toBe("protected");
    }
    for (const p of [
      "/p/src/a.ts",
      "/p/gitconfig.md",
      "/p/.github/workflows/ci.yml",
      "/p/bashrc",
      "/p/.config/x",
    ]) {
      expect(protectedRisk(p)).toBeUndefined();
    }
    expect(protectedRisk("/data/dispatch/dispatch.db", ["/data/dispatch"])).toContain("protectedPaths");
    expect(protectedRisk("/data/dispatch-other/x", ["/data/dispatch"])).toBeUndefined();
    expect(protectedRisk("/p/.git/config")).toContain("core.fsmonitor");
  });
});

describe("writes to protected paths always ask", () => {
  test("broad allow rules, per-tool allow and an allow default do not cover them; deny still denies", () => {
    const cases: PermissionConfigInput[] = [
      { rules: [{ paths: ["**"], action: "allow" }] },
      { tools: { write_file: "allow" } },
      { defaults: { write: "allow" } },
    ];
    for (const config of cases) {
      const parsed = PermissionConfig.parse(config);
      expect(decide(parsed, writeReq("/p", "src/a.ts")).action).toBe("allow");
      const d = decide(parsed, writeReq("/p", ".git/config"));
      expect(d).toMatchObject({ action: "ask", protected: true });
      expect(d.why).toContain("protected path: git runs programs");
    }
    const denied = PermissionConfig.parse({ rules: [{ paths: [".git/**"], action: "deny" }] });
    expect(decide(denied, writeReq("/p", ".git/config")).action).toBe("deny");
    // Reads of protected files are not affected.
    const read: PermissionCheckRequest = {
      ...writeReq("/p", ".git/config"),
      subject: { kind: "read", paths: ["/p/.git/config"] },
    };
    expect(decide(PermissionConfig.parse({}), read).action).toBe("allow");
  });

  test("a symlink to .git/config is judged by its target", async () => {
    await using t = await tempDir();
    await t.write(".git/config", "[core]\n");
    await fs.symlink(".git/config", t.join("notes.txt"));
    const d = decide(
      PermissionConfig.parse({ tools: { write_file: "allow" } }),
      writeReq(t.path, "notes.txt"),
    );
    expect(d.protected).toBe(true);
  });

  test('README example: `git status*` allowed and "always" on write_file: writing .git/config still asks', async () => {
    let n = 0;
    const gate = createPermissionGate({
      config: PermissionConfig.parse(README_RULES),
      newId: () => `r${++n}`,
    });
    const events: AgentEvent[] = [];
    const io = { emit: (e: AgentEvent) => events.push(e), signal: new AbortController().signal };
    const requests = () => events.filter((e) => e.type === "permission-request");
    // The user answers "always" to a first ordinary write.
    const first = gate.check(writeReq("/p", "src/a.ts"), io);
    expect(gate.resolve("c1", "r1", "always").ok).toBe(true);
    expect(await first).toEqual({ decision: "allow" });
    expect(await gate.check(writeReq("/p", "src/b.ts"), io)).toEqual({ decision: "allow" });
    expect(requests()).toHaveLength(1);
    // .git/config asks anyway, naming the risk, for write_file and edit_file.
    for (const [tool, id] of [
      ["write_file", "r2"],
      ["edit_file", "r3"],
      ["write_file", "r4"],
    ] as const) {
      const verdict = gate.check(writeReq("/p", ".git/config", tool), io);
      const asked = gate.pending("c1")[0];
      expect(asked?.requestId).toBe(id);
      expect(asked?.reason).toContain(
        `${tool} wants to write .git/config (protected path: git runs programs`,
      );
      expect(asked?.reason).toContain('"always" allows only this write');
      // Even an "always" answer here is not remembered: the next write to .git/config asks again.
      gate.resolve("c1", id, "always");
      expect(await verdict).toEqual({ decision: "allow" });
    }
    const hook = gate.check(writeReq("/p", ".git/hooks/pre-commit"), io);
    expect(gate.pending("c1").map((r) => r.requestId)).toEqual(["r5"]);
    gate.resolve("c1", "r5", "deny");
    expect((await hook).decision).toBe("deny");
    // `git status` itself stays allowed by the rule: the protection is on the write.
    const status = {
      ...writeReq("/p", "x"),
      toolName: "run_shell",
      subject: { kind: "shell" as const, command: "git status" },
    };
    expect(await gate.check(status, io)).toEqual({ decision: "allow" });
  });
});
