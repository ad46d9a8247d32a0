/**
 * The README's configuration examples are real: every ```toml block must be accepted by the daemon's
 * config parser, and the two fresh-machine commands must be the ones CI runs.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfigFile } from "@dispatch/daemon";

const root = join(import.meta.dir, "..");
const readme = readFileSync(join(root, "README.md"), "utf8");

test("every TOML example in the README is a valid dispatch.toml", () => {
  const blocks = [...readme.matchAll(/```toml\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
  expect(blocks.length).toBeGreaterThanOrEqual(2);
  for (const block of blocks) {
    const parsed = parseConfigFile("README.md", block);
    if (!parsed.ok) throw new Error(`README example rejected:\n${parsed.errors.join("\n")}\n---\n${block}`);
  }
});

test("the README's test command is exactly what CI runs", () => {
  const ci = readFileSync(join(root, ".ci/run"), "utf8");
  expect(readme).toContain("sh scripts/bootstrap.sh test");
  expect(readme).toContain("sh scripts/bootstrap.sh start");
  expect(ci).toContain("exec sh scripts/bootstrap.sh test");
});

test("the README's command list is the CLI's command table", async () => {
  const { TABLE } = await import("@dispatch/cli");
  const section = /<!-- commands:[^>]*-->\n([\s\S]*?)<!-- \/commands -->/.exec(readme)?.[1] ?? "";
  const rows = [...section.matchAll(/^\| `dispatch (.+?)` \| (.+) \|$/gm)].map((m) => [
    (m[1] ?? "").replaceAll("\\|", "|"),
    m[2],
  ]);
  expect(rows).toEqual(TABLE.commands.map((c) => [c.usage, c.summary]));
});
