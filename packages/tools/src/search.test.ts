import { describe, expect, test } from "bun:test";
import * as fs from "node:fs/promises";
import { openRoot } from "./fs-root";
import { globTool } from "./glob";
import { fileFilter, grepTool } from "./grep";
import { listDirTool } from "./list-dir";
import { tempDir, toolContext } from "./test-support";
import { searchWalk, walkFiles } from "./walk";

async function project() {
  const t = await tempDir();
  await t.write("src/a.ts", "export const a = 1;\n// TODO: a\n");
  await t.write("src/deep/b.ts", "const b = 2; // todo b\n");
  await t.write("src/c.json", '{ "todo": true }\n');
  await t.write("README.md", "# TODO readme\n");
  await t.write("node_modules/pkg/index.ts", "// TODO hidden\n");
  await t.write(".git/HEAD", "TODO ref\n");
  await t.write("bin.dat", new Uint8Array([84, 79, 68, 79, 0, 1, 2]));
  return t;
}

describe("list_dir", () => {
  test("lists one folder: folders with /, symlinks with their target", async () => {
    await using t = await project();
    await fs.symlink("src/a.ts", t.join("link"));
    const r = await listDirTool().execute({}, toolContext(t.path));
    expect(r.content).toBe(
      ["./ (6 entries)", ".git/", "README.md", "bin.dat", "link -> src/a.ts", "node_modules/", "src/"].join(
        "\n",
      ),
    );
    const sub = await listDirTool({ maxEntries: 1 }).execute({ path: "src" }, toolContext(t.path));
    expect(sub.content).toBe(["src/ (3 entries)", "a.ts", "[2 more entries not shown]"].join("\n"));
  });

  test("refuses folders outside the cwd and files", async () => {
    await using t = await project();
    const ctx = toolContext(t.join("src"));
    expect((await listDirTool().execute({ path: ".." }, ctx)).code).toBe("TOOL_PATH_OUTSIDE_CWD");
    expect((await listDirTool().execute({ path: "a.ts" }, ctx)).code).toBe("TOOL_PATH_WRONG_TYPE");
  });
});

describe("glob", () => {
  test("matches relative to the search folder, prints paths relative to the cwd, skips ignored folders", async () => {
    await using t = await project();
    const glob = globTool();
    expect((await glob.execute({ pattern: "**/*.ts" }, toolContext(t.path))).content).toBe(
      ["src/a.ts", "src/deep/b.ts"].join("\n"),
    );
    expect((await glob.execute({ pattern: "*.ts", path: "src" }, toolContext(t.path))).content).toBe(
      "src/a.ts",
    );
    expect(
      (await glob.execute({ pattern: "**/*.ts", includeIgnored: true }, toolContext(t.path))).content,
    ).toBe(["node_modules/pkg/index.ts", "src/a.ts", "src/deep/b.ts"].join("\n"));
    expect((await glob.execute({ pattern: "**/*.py" }, toolContext(t.path))).content).toBe(
      "No files match **/*.py in .",
    );
  });

  test("limits results and visited entries", async () => {
    await using t = await project();
    const limited = await globTool().execute({ pattern: "**/*", limit: 2 }, toolContext(t.path));
    expect(limited.content.split("\n")).toEqual([
      "README.md",
      "bin.dat",
      "[more than 2 matches; showing the first 2: narrow the pattern or path]",
    ]);
    const bounded = await globTool({ maxVisited: 3 }).execute({ pattern: "**/*" }, toolContext(t.path));
    expect(bounded.content).toContain("[search stopped after visiting 3 entries]");
  });
});

describe("grep", () => {
  test("finds lines with path:line, skipping binary files and ignored folders", async () => {
    await using t = await project();
    const r = await grepTool().execute({ pattern: "TODO" }, toolContext(t.path));
    expect(r.content).toBe(
      ["README.md:1: # TODO readme", "src/a.ts:2: // TODO: a", "[1 binary or large file(s) skipped]"].join(
        "\n",
      ),
    );
    const ci = await grepTool().execute(
      { pattern: "todo", ignoreCase: true, glob: "*.ts" },
      toolContext(t.path),
    );
    expect(ci.content).toBe(["src/a.ts:2: // TODO: a", "src/deep/b.ts:1: const b = 2; // todo b"].join("\n"));
    const one = await grepTool().execute({ pattern: "\\btodo\\b", path: "src/c.json" }, toolContext(t.path));
    expect(one.content).toBe('src/c.json:1: { "todo": true }');
  });

  test("caps matches and skips large files", async () => {
    await using t = await project();
    await t.write("many.txt", "hit\n".repeat(50));
    const r = await grepTool().execute(
      { pattern: "hit", path: "many.txt", maxMatches: 3 },
      toolContext(t.path),
    );
    expect(r.content.split("\n")).toEqual([
      "many.txt:1: hit",
      "many.txt:2: hit",
      "many.txt:3: hit",
      "[stopped at 3 matches; narrow the pattern, path or glob]",
    ]);
    const small = await grepTool({ maxFileBytes: 100 }).execute(
      { pattern: "hit", path: "many.txt" },
      toolContext(t.path),
    );
    expect(small.content).toBe(
      ["No matches for /hit/ in many.txt", "[1 binary or large file(s) skipped]"].join("\n"),
    );
  });

  test("an invalid regex is a coded error; symlinks out of the cwd are not read", async () => {
    await using t = await project();
    await using outside = await tempDir();
    await outside.write("secret.txt", "TODO secret\n");
    await fs.symlink(outside.join("secret.txt"), t.join("src", "leak.txt"));
    const bad = await grepTool().execute({ pattern: "(" }, toolContext(t.path));
    expect(bad.code).toBe("TOOL_INVALID_PATTERN");
    const r = await grepTool().execute({ pattern: "secret" }, toolContext(t.path));
    expect(r.content).toBe(
      ["No matches for /secret/ in .", "[1 binary or large file(s) skipped]"].join("\n"),
    );
    expect((await grepTool().execute({ pattern: "x", path: outside.path }, toolContext(t.path))).code).toBe(
      "TOOL_PATH_OUTSIDE_CWD",
    );
  });

  test("a pattern that backtracks for ever is stopped by the timeout; the daemon's loop stays free", async () => {
    await using t = await tempDir();
    await t.write("evil.txt", `${"a".repeat(64)}b\nfine\n`);
    // (a+)+$ on 64 a's and a b takes ~2^64 steps. It runs in a worker, so this thread's timer fires.
    const r = await grepTool({ timeoutMs: 300 }).execute({ pattern: "(a+)+$" }, toolContext(t.path));
    expect(r.code).toBe("TOOL_TIMEOUT");
    expect(r.content).toContain("nested repetition");
    // Stopping the turn ends a runaway search too.
    const ctx = toolContext(t.path);
    const run = grepTool().execute({ pattern: "(a+)+$" }, ctx);
    setTimeout(() => ctx.controller.abort(), 50);
    expect((await run).code).toBe("TOOL_ABORTED");
  });

  test("kernel pseudo-filesystems are neither searched nor walked, even from /", async () => {
    const ctx = toolContext("/");
    const proc = await grepTool().execute({ pattern: "PATH", path: "/proc/self/environ" }, ctx);
    expect(proc.code).toBe("TOOL_PATH_WRONG_TYPE");
    expect(proc.content).toContain("pseudo-filesystem /proc");
    const listed = await globTool().execute({ pattern: "**", path: "/sys" }, ctx);
    expect(listed.code).toBe("TOOL_PATH_WRONG_TYPE");
    const walk = searchWalk("/", { includeIgnored: true, maxVisited: 10 });
    expect(["proc", "sys", "proc/self", "procs", "usr", "home/sys"].map((d) => walk.skipDir?.(d))).toEqual([
      true,
      true,
      true,
      false,
      false,
      false,
    ]);
  });

  test("the file filter matches names without a slash and paths with one", () => {
    expect(fileFilter("*.ts")("src/deep/b.ts")).toBe(true);
    expect(fileFilter("src/*.ts")("src/deep/b.ts")).toBe(false);
    expect(fileFilter(undefined)("anything")).toBe(true);
  });
});

describe("walkFiles", () => {
  test("both strategies walk the same tree; fds are closed also when the consumer stops early", async () => {
    await using t = await project();
    await t.write("src/deep/deeper/c.ts", "x");
    // Only fds that point into this test's tree: other tests' handles (grep workers, sockets) may
    // open or close in the meantime without saying anything about the walk.
    const real = await fs.realpath(t.path);
    const fds = async () => {
      let n = 0;
      for (const fd of await fs.readdir("/proc/self/fd")) {
        const target = await fs.readlink(`/proc/self/fd/${fd}`).catch(() => "");
        if (target === real || target.startsWith(`${real}/`)) n++;
      }
      return n;
    };
    const before = await fds();
    const walked: Record<string, string[]> = {};
    for (const strategy of ["proc", "portable"] as const) {
      const root = await openRoot(t.path, { strategy });
      if (!root.ok) throw new Error(root.error.message);
      const dir = await root.value.openDir(".");
      if (!dir.ok) throw new Error(dir.error.message);
      const stats = { visited: 0, truncated: false };
      const rels: string[] = [];
      for await (const e of walkFiles(
        dir.value,
        searchWalk(dir.value.real, { includeIgnored: false, maxVisited: 100 }),
        stats,
      ))
        rels.push(e.rel);
      walked[strategy] = rels;
      // Stopping after the first deep file leaves no directory fd open.
      for await (const e of walkFiles(
        dir.value,
        searchWalk(dir.value.real, { includeIgnored: false, maxVisited: 100 }),
        stats,
      ))
        if (e.rel.includes("deeper")) break;
      await dir.value.close();
    }
    expect(walked.proc).toEqual([
      "README.md",
      "bin.dat",
      "src/a.ts",
      "src/c.json",
      "src/deep/b.ts",
      "src/deep/deeper/c.ts",
    ]);
    expect(walked.portable).toEqual(walked.proc as string[]);
    expect(await fds()).toBe(before);
  });
});
