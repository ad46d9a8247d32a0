/**
 * What a hostile model might ask the file tools for, with real files: secrets of the daemon process,
 * escapes through `..` and symlinks, and special files that block or never end.
 */

import { describe, expect, test } from "bun:test";
import * as fs from "node:fs/promises";
import type { Tool } from "./contract";
import { editFileTool } from "./edit-file";
import { grepTool } from "./grep";
import { listDirTool } from "./list-dir";
import { readFileTool } from "./read-file";
import { tempDir, toolContext } from "./test-support";
import { writeFileTool } from "./write-file";

const read = readFileTool();
const write = writeFileTool();
const edit = editFileTool();
const grep = grepTool();
const list = listDirTool();

const codeOf = async (tool: Tool, args: unknown, cwd: string) => {
  const r = await tool.execute(args, toolContext(cwd));
  return { code: r.code, content: r.content };
};

describe("attacks on the file tools", () => {
  test("/proc/self/environ (the daemon's secrets) is refused even when the cwd is /", async () => {
    const secret = process.env.PATH ?? "";
    for (const [cwd, p] of [
      ["/", "/proc/self/environ"],
      ["/", "proc/self/environ"],
      ["/proc/self", "environ"],
      ["/", "/proc/self/mem"],
    ] as const) {
      const r = await codeOf(read, { path: p }, cwd);
      expect(r.code).toBe("TOOL_PATH_WRONG_TYPE");
      expect(r.content).toContain("pseudo-filesystem /proc");
      expect(r.content).not.toContain(secret);
    }
    const w = await codeOf(write, { path: "/proc/self/comm", content: "x", overwrite: true }, "/");
    expect(w.code).toBe("TOOL_PATH_WRONG_TYPE");
    expect((await codeOf(list, { path: "/sys" }, "/")).code).toBe("TOOL_PATH_WRONG_TYPE");
  });

  test("`..` and a symlink to / lead nowhere outside the cwd", async () => {
    await using t = await tempDir();
    await fs.symlink("/", t.join("root"));
    for (const p of ["..", "../..", "root/etc/hostname", "root", "./root/../../x"]) {
      expect((await codeOf(read, { path: p }, t.path)).code).toBe("TOOL_PATH_OUTSIDE_CWD");
    }
    expect((await codeOf(list, { path: "root" }, t.path)).code).toBe("TOOL_PATH_OUTSIDE_CWD");
    expect((await codeOf(grep, { pattern: "root", path: "root/etc" }, t.path)).code).toBe(
      "TOOL_PATH_OUTSIDE_CWD",
    );
    const w = await codeOf(write, { path: "root/tmp/planted.txt", content: "x", overwrite: false }, t.path);
    expect(w.code).toBe("TOOL_PATH_OUTSIDE_CWD");
    expect(await fs.exists("/tmp/planted.txt")).toBe(false);
  });

  test("a FIFO (directly or through a symlink) is refused without blocking; grep walks past it", async () => {
    await using t = await tempDir();
    const made = Bun.spawnSync(["mkfifo", t.join("pipe")]);
    expect(made.exitCode).toBe(0);
    await fs.symlink("pipe", t.join("to-pipe"));
    await t.write("a.txt", "needle\n");
    for (const p of ["pipe", "to-pipe"]) {
      const r = await codeOf(read, { path: p }, t.path);
      expect(r).toEqual({ code: "TOOL_PATH_WRONG_TYPE", content: `"${p}" is a FIFO, not a regular file` });
      expect((await codeOf(write, { path: p, content: "x", overwrite: true }, t.path)).code).toBe(
        "TOOL_PATH_WRONG_TYPE",
      );
      expect((await codeOf(edit, { path: p, oldString: "a", newString: "b" }, t.path)).code).toBe(
        "TOOL_PATH_WRONG_TYPE",
      );
    }
    expect((await codeOf(grep, { pattern: "needle" }, t.path)).content).toBe("a.txt:1: needle");
  });

  test("devices such as /dev/zero and /dev/null are refused", async () => {
    const zero = await codeOf(read, { path: "zero" }, "/dev");
    expect(zero).toEqual({
      code: "TOOL_PATH_WRONG_TYPE",
      content: '"zero" is a character device, not a regular file',
    });
    expect((await codeOf(read, { path: "/dev/zero" }, "/")).code).toBe("TOOL_PATH_WRONG_TYPE");
    expect((await codeOf(write, { path: "null", content: "x", overwrite: true }, "/dev")).code).toBe(
      "TOOL_PATH_WRONG_TYPE",
    );
    expect((await codeOf(grep, { pattern: "x", path: "zero" }, "/dev")).code).toBe("TOOL_PATH_WRONG_TYPE");
  });
});
