/** Writes packages/protocol/generated/{protocol,openapi}.json. Run with `bun run gen:schemas`. */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { generatedFiles } from "../src/json-schema";

const dir = join(import.meta.dir, "..", "generated");
await mkdir(dir, { recursive: true });
for (const [name, content] of Object.entries(generatedFiles())) {
  await writeFile(join(dir, name), content);
  console.log(`wrote ${join(dir, name)}`);
}
