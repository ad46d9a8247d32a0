import { describe, expect, test } from "bun:test";
import * as fs from "node:fs/promises";
import type { PermissionCheckRequest, PermissionSubject } from "./contract";
import {
  commandPatternRegex,
  decide,
  PermissionConfig,
  type PermissionConfigInput,
  remembered,
  rememberFor,
} from "./policy";
import { readFileTool } from "./read-file";
import { tempDir } from "./test-support";
import { writeFileTool } from "./write-file";

const CWD = "/proj";

function req(toolName: string, subject: PermissionSubject): PermissionCheckRequest {
  return { conversationId: "c", turnId: "t", toolCallId: "k", toolName, input: {}, cwd: CWD, subject };
}
const read = (...paths: string[]) => req("read_file", { kind: "read", paths });
const write = (...paths: string[]) => req("write_file", { kind: "write", paths });
const shell = (command: string) => req("run_shell", { kind: "shell", command });
const action = (config: PermissionConfigInput, r: PermissionCheckRequest) =>
  decide(PermissionConfig.parse(config), r).action;

describe("policy defaults", () => {
  test("reads inside the cwd are allowed; writes and shell ask", () => {
    expect(action({}, read("/proj/src/a.ts"))).toBe("allow");
    expect(action({}, write("/proj/a.ts"))).toBe("ask");
    expect(action({}, shell("ls"))).toBe("ask");
    expect(PermissionConfig.parse({}).timeoutMs).toBe(300_000);
  });

  test("file paths the root refuses are denied without asking, whatever rules or tool actions say", () => {
    const generous = {
      defaults: { read: "allow" as const, write: "allow" as const },
      tools: { read_file: "allow" as const },
      rules: [{ paths: ["/etc/**"], action: "allow" as const }],
    };
    for (const r of [
      read("/etc/passwd"),
      read("/proj-other/x"),
      write("/tmp/x"),
      read("/proj/a", "/etc/b"),
    ]) {
      expect(action({}, r)).toBe("deny");
      expect(action(generous, r)).toBe("deny");
    }
    const root = { ...read("/proc/self/environ"), cwd: "/" };
    expect(decide(PermissionConfig.parse({}), root)).toMatchObject({ action: "deny" });
    expect(decide(PermissionConfig.parse({}), read("/etc/passwd")).why).toContain(
      "outside the working directory",
    );
  });

  test("per-tool actions override the kind defaults", () => {
    expect(action({ tools: { run_shell: "deny" } }, shell("ls"))).toBe("deny");
    expect(action({ tools: { write_file: "allow" } }, write("/proj/a.ts"))).toBe("allow");
    expect(action({ defaults: { write: "deny" } }, write("/proj/a.ts"))).toBe("deny");
  });
});

describe("policy rules", () => {
  test("command patterns: glob-like and regex; allow never matches chained commands", () => {
    const config = { rules: [{ command: "bun test*", action: "allow" as const }] };
    expect(action(config, shell("bun test"))).toBe("allow");
    expect(action(config, shell("bun test src/a.test.ts"))).toBe("allow");
    expect(action(config, shell("bun test && rm -rf /"))).toBe("ask");
    expect(action(config, shell("bun test; curl x | sh"))).toBe("ask");
    expect(action(config, shell("bun testx $(whoami)"))).toBe("ask");
    expect(action(config, shell("echo bun test"))).toBe("ask");
    const regex = { rules: [{ commandRegex: "^git (status|diff)\\b", action: "allow" as const }] };
    expect(action(regex, shell("git diff --stat"))).toBe("allow");
    expect(action(regex, shell("git push"))).toBe("ask");
  });

  test("the most restrictive matching rule wins; deny rules match inside chains", () => {
    const config = {
      rules: [
        { command: "git *", action: "allow" as const },
        { commandRegex: "\\brm\\s+-rf\\b", action: "deny" as const },
      ],
    };
    expect(action(config, shell("git status"))).toBe("allow");
    expect(action(config, shell("git status && rm -rf build"))).toBe("deny");
    expect(decide(PermissionConfig.parse(config), shell("rm -rf x")).why).toBe("policy rule #2 says deny");
  });

  test("path globs: relative to the cwd or absolute; allow needs every path, deny any", () => {
    const config = {
      rules: [
        { tools: ["write_file"], paths: ["src/**"], action: "allow" as const },
        { kinds: ["write" as const], paths: ["**/*.env", "/proj/secrets/**"], action: "deny" as const },
      ],
    };
    expect(action(config, write("/proj/src/a.ts"))).toBe("allow");
    expect(action(config, write("/proj/lib/a.ts"))).toBe("ask");
    expect(action(config, write("/proj/src/a.ts", "/proj/lib/b.ts"))).toBe("ask");
    expect(action(config, write("/proj/src/.env"))).toBe("deny");
    expect(action(config, write("/proj/src/a.ts", "/proj/secrets/k"))).toBe("deny");
    expect(action(config, req("edit_file", { kind: "write", paths: ["/proj/src/a.ts"] }))).toBe("ask");
  });

  test("invalid config is rejected naming the field", () => {
    const r = PermissionConfig.safeParse({ rules: [{ commandRegex: "(", action: "allow" }] });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues[0]?.path)).toBe('["rules",0,"commandRegex"]');
    expect(PermissionConfig.safeParse({ tools: { run_shell: "maybe" } }).success).toBe(false);
  });

  test("commandPatternRegex escapes everything but *", () => {
    expect(commandPatternRegex("a.b*").test("a.bcd")).toBe(true);
    expect(commandPatternRegex("a.b*").test("axbcd")).toBe(false);
  });
});

describe("always memory", () => {
  test("file tools: the same tool anywhere in the cwd; shell: exactly the command", () => {
    const w = rememberFor(write("/proj/a.ts"));
    expect(remembered(w, write("/proj/deep/b.ts"))).toBe(true);
    expect(remembered(w, write("/elsewhere/b.ts"))).toBe(false);
    expect(remembered(w, req("edit_file", { kind: "write", paths: ["/proj/a.ts"] }))).toBe(false);
    const outside = rememberFor(read("/etc/hosts"));
    expect(remembered(outside, read("/etc/hosts"))).toBe(true);
    expect(remembered(outside, read("/etc/passwd"))).toBe(false);
    const s = rememberFor(shell("bun test"));
    expect(remembered(s, shell("bun test"))).toBe(true);
    expect(remembered(s, shell("bun test && rm -rf /"))).toBe(false);
  });
});

describe("path rules judge the real target", () => {
  test("a deny rule is not dodged through a symlink; a cwd reached through a symlink keeps its name", async () => {
    await using t = await tempDir();
    await t.write("proj/secrets/key", "k");
    await t.write("proj/src/a.ts", "a");
    await fs.symlink("../secrets", t.join("proj/src/s"));
    await fs.symlink(t.join("proj"), t.join("alias"));
    const config = PermissionConfig.parse({
      rules: [
        { tools: ["write_file"], paths: ["src/**"], action: "allow" },
        { paths: ["secrets/**"], action: "deny" },
      ],
    });
    const decideWrite = (cwd: string, p: string) => {
      const subject = writeFileTool().permission({ path: p, content: "", overwrite: true }, cwd);
      return { paths: subject.paths, action: decide(config, { ...write(), cwd, subject }).action };
    };
    const cwd = t.join("proj");
    expect(decideWrite(cwd, "src/a.ts")).toEqual({ paths: [t.join("proj/src/a.ts")], action: "allow" });
    expect(decideWrite(cwd, "src/s/key")).toEqual({ paths: [t.join("proj/secrets/key")], action: "deny" });
    expect(decideWrite(cwd, "src/s/new/deeper.txt").action).toBe("deny");
    // The conversation's cwd is the alias: paths stay under it, so relative rules and defaults hold.
    const alias = t.join("alias");
    expect(decideWrite(alias, "src/s/key")).toEqual({ paths: [t.join("alias/secrets/key")], action: "deny" });
    const readSubject = readFileTool().permission({ path: "src/a.ts" }, alias);
    expect(readSubject.paths).toEqual([t.join("alias/src/a.ts")]);
    expect(decide(config, { ...read(), cwd: alias, subject: readSubject }).action).toBe("allow");
  });
});

describe("MCP tools (kind mcp)", () => {
  const mcp = (toolName: string, defaultAction?: "allow" | "ask" | "deny") =>
    req(toolName, defaultAction ? { kind: "mcp", defaultAction } : { kind: "mcp" });

  test("ask by default; the server's default, then per-tool actions, then rules override it", () => {
    expect(action({}, mcp("mcp__gh__issues"))).toBe("ask");
    expect(action({ defaults: { mcp: "deny" } }, mcp("mcp__gh__issues"))).toBe("deny");
    expect(action({}, mcp("mcp__gh__issues", "allow"))).toBe("allow");
    expect(action({ tools: { mcp__gh__issues: "deny" } }, mcp("mcp__gh__issues", "allow"))).toBe("deny");
    expect(
      action({ rules: [{ tools: ["mcp__gh__*"], action: "ask" }] }, mcp("mcp__gh__issues", "allow")),
    ).toBe("ask");
  });

  test("rule tool entries are exact names or * patterns", () => {
    const config = { rules: [{ tools: ["mcp__gh__*"], action: "allow" as const }] };
    expect(action(config, mcp("mcp__gh__issues"))).toBe("allow");
    expect(action(config, mcp("mcp__ghx__issues"))).toBe("ask");
    expect(action({ rules: [{ tools: ["mcp__gh"], action: "allow" }] }, mcp("mcp__gh__issues"))).toBe("ask");
    expect(action({ rules: [{ kinds: ["mcp"], action: "deny" }] }, mcp("mcp__a__b", "allow"))).toBe("deny");
  });

  test('"always" remembers the tool (every call of it) and nothing else', () => {
    const entry = rememberFor(mcp("mcp__gh__issues"));
    expect(remembered(entry, mcp("mcp__gh__issues"))).toBe(true);
    expect(remembered(entry, mcp("mcp__gh__pulls"))).toBe(false);
    expect(remembered(entry, shell("ls"))).toBe(false);
  });
});
