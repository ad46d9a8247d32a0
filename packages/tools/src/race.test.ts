import { expect, test } from "bun:test";
import * as fs from "node:fs/promises";
import { editFileTool } from "./edit-file";
import { type FsStrategy, openRoot } from "./fs-root";
import { globTool } from "./glob";
import { grepTool } from "./grep";
import { readFileTool } from "./read-file";
import { tempDir, toolContext } from "./test-support";
import { writeFileTool } from "./write-file";

/**
 * A real concurrent attacker: a bash loop keeps swapping folder `d` between the real folder and a
 * symlink to an outside folder while we read `d/a.txt`. Whatever interleaving happens, the secret
 * outside must never be returned.
 */
async function withSwapper<T>(
  cwd: string,
  outside: string,
  fn: () => Promise<T>,
  folders = ["d"],
): Promise<T> {
  const swap = (d: string) => `mv ${d} ${d}.bak && ln -s '${outside}' ${d} && rm ${d} && mv ${d}.bak ${d}`;
  const loop = `while :; do ${folders.map(swap).join("; ")}; done`;
  const swapper = Bun.spawn(["bash", "-c", loop], { cwd, stdout: "ignore", stderr: "ignore" });
  try {
    return await fn();
  } finally {
    swapper.kill("SIGKILL");
    await swapper.exited;
  }
}

test("read_file never returns a file outside the cwd while a folder is being swapped for a symlink", async () => {
  await using t = await tempDir();
  await using outside = await tempDir();
  await outside.write("a.txt", "SECRET");
  await t.write("d/a.txt", "inside");
  const read = readFileTool();
  const successes = new Set<string>();
  const refusals = new Set<string>();
  await withSwapper(t.path, outside.path, async () => {
    for (let i = 0; i < 300; i++) {
      const r = await read.execute({ path: "d/a.txt" }, toolContext(t.path));
      if (r.isError) refusals.add(r.code ?? r.content);
      else successes.add(r.content);
    }
  });
  // Any interleaving may refuse (outside, vanished, wrong type); a success is always the inside file.
  expect([...successes].filter((c) => c !== "     1\tinside")).toEqual([]);
  expect([...refusals].every((c) => c.startsWith("TOOL_PATH_"))).toBe(true);
});

test("write_file never creates or changes a file outside the cwd under a concurrent swap", async () => {
  await using t = await tempDir();
  await using outside = await tempDir();
  await outside.write("a.txt", "SECRET");
  await t.write("d/a.txt", "inside");
  const write = writeFileTool();
  let written = 0;
  await withSwapper(t.path, outside.path, async () => {
    for (let i = 0; i < 5000 && (i < 200 || written === 0); i++) {
      const overwrite = await write.execute(
        { path: "d/a.txt", content: "changed", overwrite: true },
        toolContext(t.path),
      );
      const create = await write.execute(
        { path: `d/new-${i}.txt`, content: "new", overwrite: false },
        toolContext(t.path),
      );
      written += Number(!overwrite.isError) + Number(!create.isError);
    }
  });
  expect(await fs.readdir(outside.path)).toEqual(["a.txt"]);
  expect(await fs.readFile(outside.join("a.txt"), "utf8")).toBe("SECRET");
  expect(written).toBeGreaterThan(0);
});

test("edit_file's atomic rename never lands outside the cwd under a concurrent swap", async () => {
  await using t = await tempDir();
  await using outside = await tempDir();
  await outside.write("a.txt", "n=0\n");
  await t.write("d/a.txt", "n=0\n");
  const edit = editFileTool();
  let edited = 0;
  await withSwapper(t.path, outside.path, async () => {
    // At least 200 tries, and more (bounded) until one lands: a swap can refuse every one of 200.
    for (let i = 0; i < 5000 && (i < 200 || edited === 0); i++) {
      const r = await edit.execute(
        { path: "d/a.txt", oldString: `n=${edited}\n`, newString: `n=${edited + 1}\n` },
        toolContext(t.path),
      );
      if (!r.isError) edited++;
    }
  });
  // The outside folder holds exactly its file, unchanged: no temp file, no rename into it.
  expect(await fs.readdir(outside.path)).toEqual(["a.txt"]);
  expect(await fs.readFile(outside.join("a.txt"), "utf8")).toBe("n=0\n");
  expect(edited).toBeGreaterThan(0);
});

for (const strategy of ["proc", "portable"] as FsStrategy[]) {
  test(`openFile (${strategy}) never opens the outside file under a concurrent swap`, async () => {
    await using t = await tempDir();
    await using outside = await tempDir();
    await outside.write("a.txt", "SECRET");
    await t.write("d/a.txt", "inside");
    const root = await openRoot(t.path, { strategy });
    if (!root.ok) throw new Error(root.error.message);
    const contents = new Set<string>();
    await withSwapper(t.path, outside.path, async () => {
      for (let i = 0; i < 300; i++) {
        const r = await root.value.openFile("d/a.txt");
        if (!r.ok) continue;
        contents.add((await r.value.fh.readFile()).toString("utf8"));
        await r.value.fh.close();
      }
    });
    expect(contents.has("SECRET")).toBe(false);
  });
}

test("glob and grep never list names outside the cwd while folders are being swapped for symlinks", async () => {
  await using t = await tempDir();
  await using outside = await tempDir();
  await outside.write("OUTSIDE-NAME.txt", "needle outside");
  await outside.write("deeper/OUTSIDE-DEEP.txt", "needle outside");
  // Many swapped folders widen the window between listing a folder and descending into it.
  const folders = Array.from({ length: 40 }, (_, i) => `d${i}`);
  for (const d of folders) await t.write(`${d}/a.txt`, "needle inside");
  const glob = globTool();
  const grep = grepTool();
  const leaks: string[] = [];
  let found = 0;
  await withSwapper(
    t.path,
    outside.path,
    async () => {
      for (let i = 0; i < 400; i++) {
        const g = await glob.execute({ pattern: "**" }, toolContext(t.path));
        if (g.content.includes("OUTSIDE")) leaks.push(g.content);
        if (g.content.includes("/a.txt")) found++;
        if (i % 10 === 0) {
          const r = await grep.execute({ pattern: "needle" }, toolContext(t.path));
          if (r.content.includes("OUTSIDE") || r.content.includes("outside")) leaks.push(r.content);
        }
      }
    },
    folders,
  );
  expect(leaks).toEqual([]);
  expect(found).toBeGreaterThan(0);
});
