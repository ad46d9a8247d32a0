/**
 * `bun run build:binary [outfile]`: the CLI (daemon included) as one self-contained executable. The
 * grep tool's worker is a second entrypoint, rooted at the repository so it lands where grep.ts looks
 * for it in a compiled binary (/$bunfs/root/packages/tools/src/grep-worker.ts). Auto-start runs the
 * binary itself with `serve` (apps/cli/src/autostart.ts).
 */
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const outfile = resolve(process.argv[2] ?? join(root, "dist", "dispatch"));
const result = await Bun.build({
  entrypoints: [join(root, "apps/cli/src/main.ts"), join(root, "packages/tools/src/grep-worker.ts")],
  root,
  compile: { outfile },
  minify: false,
});
if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
console.log(`built ${outfile}`);
