/**
 * Test fixture (crash.test.ts): appends steps to conversation "c" of the database at argv[2] until it
 * is killed, writing each committed lastSeq to stdout synchronously right after the commit. Steps
 * continue the numbering of what is already stored, so a reopened database can be appended to again.
 */
import { writeSync } from "node:fs";
import { openConversationStore } from "./conversation-store";
import { crashStep, STEP_CHUNKS } from "./crash-step";

const file = process.argv[2];
if (!file) throw new Error("usage: bun crash-child.ts <db-file>");
const store = openConversationStore({ path: file });
store.recover();
let step = (store.getConversation("c")?.lastSeq ?? 0) / STEP_CHUNKS;
for (let i = 0; i < 1_000_000; i++) {
  const r = store.appendStep("c", crashStep(step));
  if (!r.ok) throw new Error(`append failed: ${r.error.code} ${r.error.message}`);
  writeSync(1, `${r.value.lastSeq}\n`);
  step += 1;
}
