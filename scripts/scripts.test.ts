import { beforeAll, describe, expect, test } from "bun:test";
import { chmod, copyFile, mkdir, mkdtemp, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bunVersionMatches, pinnedBunVersion } from "./check-bun";
import { runnerSummary } from "./run-tests";

test("the Bun version check accepts patch releases of the pinned major.minor only", () => {
  expect(pinnedBunVersion).toMatch(/^\d+\.\d+\.\d+$/);
  expect(bunVersionMatches("1.4.4", "1.4.4")).toBe(true);
  expect(bunVersionMatches("1.4.4", "1.4.9")).toBe(true);
  expect(bunVersionMatches("1.4.4", "1.5.0")).toBe(false);
  expect(bunVersionMatches("1.4.4", "2.4.4")).toBe(false);
  expect(bunVersionMatches("1.4.4", "1.40.0")).toBe(false);
  expect(bunVersionMatches(pinnedBunVersion, Bun.version)).toBe(true);
});

test("the CI summary repeats bun test's own closing lines and the plain counts", () => {
  const out =
    "(pass) a\n\n 758 pass\n 2 skip\n 1 fail\n 17955 expect() calls\nRan 761 tests across 87 files. [95.31s]\n";
  expect(runnerSummary(out)).toEqual({
    lines: ["758 pass", "2 skip", "1 fail", "Ran 761 tests across 87 files. [95.31s]"],
    passed: 758,
    failed: 1,
  });
  expect(runnerSummary("nothing ran")).toEqual({ lines: [], passed: 0, failed: 0 });
});

describe("bin/dispatch", () => {
  /** A stand-in checkout: the real shim, a CLI entry that echoes its arguments, maybe a .tools Bun. */
  async function checkout(withToolsBun: boolean): Promise<string> {
    const root = await mkdtemp(join(tmpdir(), "dispatch-shim-"));
    await mkdir(join(root, "bin"));
    await mkdir(join(root, "apps/cli/src"), { recursive: true });
    await copyFile(join(import.meta.dir, "../bin/dispatch"), join(root, "bin/dispatch"));
    await chmod(join(root, "bin/dispatch"), 0o755);
    await writeFile(join(root, "apps/cli/src/main.ts"), 'console.log("cli", ...process.argv.slice(2));\n');
    if (withToolsBun) {
      await mkdir(join(root, ".tools/node_modules/.bin"), { recursive: true });
      await symlink(process.execPath, join(root, ".tools/node_modules/.bin/bun"));
    }
    return root;
  }
  /** A PATH with only what the shim needs (Bun is in /usr/bin here, so the system PATH will not do). */
  let noBunPath = "";
  beforeAll(async () => {
    noBunPath = await mkdtemp(join(tmpdir(), "dispatch-path-"));
    for (const tool of ["sh", "env", "dirname", "readlink"]) {
      const found = Bun.which(tool);
      if (found) await symlink(found, join(noBunPath, tool));
    }
  });

  test("finds the Bun bootstrap put in .tools/ when none is on PATH, also through a symlink", async () => {
    const root = await checkout(true);
    const link = join(root, "elsewhere-dispatch");
    await symlink(join(root, "bin/dispatch"), link);
    for (const cmd of [join(root, "bin/dispatch"), link]) {
      const run = Bun.spawnSync([cmd, "list", "--json"], { env: { PATH: noBunPath } });
      expect(run.stdout.toString()).toBe("cli list --json\n");
      expect(run.exitCode).toBe(0);
    }
  });

  test("without any Bun it says how to get one and exits 3", async () => {
    const root = await checkout(false);
    const run = Bun.spawnSync([join(root, "bin/dispatch"), "list"], { env: { PATH: noBunPath } });
    expect(run.stderr.toString()).toContain("dispatch: Bun is not installed; run: sh");
    expect(run.stderr.toString()).toContain("scripts/bootstrap.sh start");
    expect(run.exitCode).toBe(3);
  });
});
