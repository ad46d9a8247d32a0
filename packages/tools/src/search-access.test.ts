/**
 * Search tools apply the path rules to every entry, not only to the folder the gate judged: the real
 * gate decides, its verdict's searchAccess goes into the tool context (as the orchestrator does), and
 * the real tools run on real files.
 */

import { describe, expect, test } from "bun:test";
import * as fs from "node:fs/promises";
import type { AgentEvent } from "@dispatch/protocol/types";
import type { PermissionVerdict, Tool } from "./contract";
import { globTool } from "./glob";
import { grepTool } from "./grep";
import { listDirTool } from "./list-dir";
import { createPermissionGate } from "./permission-gate";
import { PermissionConfig, type PermissionConfigInput, searchAccess } from "./policy";
import { tempDir, toolContext } from "./test-support";

async function project() {
  const t = await tempDir();
  await t.write(".env", "API_KEY=SECRET-1\n");
  await t.write(".env.local", "API_KEY=SECRET-2\n");
  await t.write("src/.env.test", "API_KEY=SECRET-3\n");
  await t.write(".envs/prod", "API_KEY=SECRET-4\n");
  await t.write("src/a.ts", "const API_KEY = process.env.API_KEY;\n");
  await t.write("secrets/key.txt", "API_KEY=ASK-ME\n");
  await fs.symlink("../.env", t.join("src/link"));
  return t;
}

/** One conversation's gate; `run` checks a call like the orchestrator and executes it with the verdict. */
function session(config: PermissionConfigInput, cwd: string) {
  let n = 0;
  const gate = createPermissionGate({ config: PermissionConfig.parse(config), newId: () => `r${++n}` });
  const events: AgentEvent[] = [];
  const io = { emit: (e: AgentEvent) => events.push(e), signal: new AbortController().signal };
  const run = async (tool: Tool, args: Record<string, unknown>, answer?: "allow" | "always") => {
    const req = {
      conversationId: "c1",
      turnId: "t1",
      toolCallId: `k${n}`,
      toolName: tool.name,
      input: args,
      cwd,
      subject: tool.permission(args, cwd),
    };
    const pending: Promise<PermissionVerdict> = gate.check(req, io);
    const asked = gate.pending("c1")[0];
    if (asked && answer) gate.resolve("c1", asked.requestId, answer);
    const verdict = await pending;
    if (verdict.decision === "deny") return { asked: Boolean(asked), content: `denied: ${verdict.reason}` };
    const ctx = {
      ...toolContext(cwd),
      ...(verdict.searchAccess ? { searchAccess: verdict.searchAccess } : {}),
    };
    return { asked: Boolean(asked), content: (await tool.execute(args, ctx)).content };
  };
  return { run, events };
}

const README = { rules: [{ paths: ["**/.env*"], action: "deny" as const }] };

describe("deny rules hold for every entry of a search", () => {
  test("grep neither reads nor names .env files, also not through a symlink or a covered folder", async () => {
    await using t = await project();
    const { run } = session(README, t.path);
    const r = await run(grepTool(), { pattern: "API_KEY" });
    expect(r.content).toBe(
      [
        "secrets/key.txt:1: API_KEY=ASK-ME",
        "src/a.ts:1: const API_KEY = process.env.API_KEY;",
        // .env, .env.local, src/.env.test, the folder .envs and src/link (-> ../.env)
        "[5 entries left out: covered by deny rules]",
      ].join("\n"),
    );
    // The symlink is refused by its target, the folder .envs is not descended into.
    const link = await run(grepTool(), { pattern: "SECRET", path: "src" });
    expect(link.content).toContain("No matches");
    expect(link.content).not.toContain("SECRET-");
  });

  test("glob and list_dir do not list covered names", async () => {
    await using t = await project();
    const { run } = session(README, t.path);
    expect((await run(globTool(), { pattern: "**" })).content).toBe(
      ["secrets/key.txt", "src/a.ts", "[5 entries left out: covered by deny rules]"].join("\n"),
    );
    expect((await run(globTool(), { pattern: "**/.env*" })).content).not.toContain(".env.local");
    expect((await run(listDirTool(), {})).content).toBe(
      ["./ (2 entries)", "secrets/", "src/", "[3 entries left out: covered by deny rules]"].join("\n"),
    );
    // src/link -> ../.env would name the denied target: it is left out too.
    expect((await run(listDirTool(), { path: "src" })).content).toBe(
      ["src/ (1 entries)", "a.ts", "[2 entries left out: covered by deny rules]"].join("\n"),
    );
  });

  test("without rules nothing is filtered", async () => {
    await using t = await project();
    const { run } = session({}, t.path);
    expect((await run(grepTool(), { pattern: "SECRET-1" })).content).toBe(
      [".env:1: API_KEY=SECRET-1", "src/link:1: API_KEY=SECRET-1"].join("\n"),
    );
  });
});

describe("ask rules apply to the files a search reads", () => {
  const ASK = { rules: [{ paths: ["secrets/**"], action: "ask" as const }] };

  test("grep skips covered files and says how to read them; glob still lists their names", async () => {
    await using t = await project();
    const { run } = session(ASK, t.path);
    const r = await run(grepTool(), { pattern: "ASK-ME" });
    expect(r).toEqual({
      asked: false,
      content: [
        "No matches for /ASK-ME/ in .",
        "[1 file(s) not searched: covered by ask rules (secrets/key.txt); read_file, or grep with that path, asks the user for them]",
      ].join("\n"),
    });
    expect((await run(globTool(), { pattern: "secrets/*" })).content).toBe("secrets/key.txt");
  });

  test('grep on the covered file asks; allowed, it reads it; "always" then covers later searches', async () => {
    await using t = await project();
    const { run } = session(ASK, t.path);
    const direct = await run(grepTool(), { pattern: "ASK-ME", path: "secrets/key.txt" }, "allow");
    expect(direct).toEqual({ asked: true, content: "secrets/key.txt:1: API_KEY=ASK-ME" });
    // A plain allow was for that call only.
    expect((await run(grepTool(), { pattern: "ASK-ME" })).content).toContain("not searched");
    await run(grepTool(), { pattern: "x", path: "secrets/key.txt" }, "always");
    expect((await run(grepTool(), { pattern: "ASK-ME" })).content).toBe("secrets/key.txt:1: API_KEY=ASK-ME");
  });

  test("searchAccess keeps only path rules of the tool; answered ask rules are dropped", () => {
    const config = PermissionConfig.parse({
      rules: [
        { paths: ["a/**"], action: "deny" },
        { paths: ["b/**"], action: "ask" },
        { tools: ["read_file"], paths: ["c/**"], action: "deny" },
        { kinds: ["write"], paths: ["d/**"], action: "deny" },
        { paths: ["e/**"], action: "allow" },
        { command: "ls*", action: "deny" },
      ],
    });
    const req = (paths: string[]) => ({
      conversationId: "c",
      turnId: "t",
      toolCallId: "k",
      toolName: "grep",
      input: {},
      cwd: "/p",
      subject: { kind: "read" as const, paths },
    });
    expect(searchAccess(config, req(["/p"]), "no")).toEqual({ cwd: "/p", deny: ["a/**"], ask: ["b/**"] });
    expect(searchAccess(config, req(["/p/b/x"]), "asked")).toEqual({ cwd: "/p", deny: ["a/**"], ask: [] });
    expect(searchAccess(config, req(["/p"]), "asked")?.ask).toEqual(["b/**"]);
    expect(searchAccess(config, req(["/p"]), "anywhere")?.ask).toEqual([]);
    expect(searchAccess(PermissionConfig.parse({}), req(["/p"]), "no")).toBeUndefined();
  });
});
