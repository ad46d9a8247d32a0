import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { colorEnabled } from "@dispatch/daemon";
import { localTime } from "./commands/common";
import { completionScript, completionWords } from "./commands/completion";
import { folderModeCheck } from "./commands/doctor";
import { TABLE } from "./commands/table";
import { helpFor } from "./help";
import { resolveShortId } from "./ids";
import { didYouMean, editDistance, headIndex, parseCommand } from "./parse";
import { type RenderState, renderEvent } from "./render";
import { runCli } from "./run";
import { safeLine, safeText, wrapAll } from "./sanitize";

const ok = (argv: string[]) => {
  const r = parseCommand(argv, TABLE);
  if (!r.ok) throw new Error(`expected ok, got: ${r.message}`);
  return r;
};
const bad = (argv: string[]) => {
  const r = parseCommand(argv, TABLE);
  if (r.ok) throw new Error(`expected a usage error for ${argv.join(" ")}`);
  return r.message;
};

/** runCli in this process, without a terminal and with no daemon in reach (an unused data folder). */
async function inProcess(argv: string[], opts: { stdin?: string; cwd?: string } = {}) {
  let stdout = "";
  let stderr = "";
  const home = join(tmpdir(), `dispatch-no-daemon-${crypto.randomUUID()}`);
  const code = await runCli(argv, {
    stdout: { write: (t) => (stdout += t) },
    stderr: { write: (t) => (stderr += t) },
    stdinIsTTY: opts.stdin === undefined,
    env: { DISPATCH_HOME: home },
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    readStdin: async () => opts.stdin ?? "",
  });
  return { code, stdout, stderr, home };
}

describe("parseCommand", () => {
  test("global flags before or after the command", () => {
    expect(ok(["--home", "/x", "list"])).toMatchObject({ spec: { name: "list" }, home: "/x" });
    expect(ok(["list", "--home", "/x", "--json"])).toMatchObject({
      spec: { name: "list" },
      home: "/x",
      json: true,
    });
    expect(ok(["--home", "/x", "serve", "--http-port", "0"])).toMatchObject({
      spec: { name: "serve" },
      home: "/x",
      args: ["--http-port", "0"],
    });
    expect(ok(["--json", "serve"])).toMatchObject({ spec: { name: "serve" }, json: true, args: [] });
  });
  test("chat forms: prompt only, -m, model first, -t; -v and --help", () => {
    expect(ok(["hello there"])).toMatchObject({ spec: { name: "chat" }, args: ["hello there"] });
    expect(ok(["-m", "local/echo", "hi"])).toMatchObject({
      spec: { name: "chat" },
      values: { model: "local/echo" },
    });
    expect(ok(["local/echo", "-t", "hi"])).toMatchObject({ spec: { name: "chat" }, args: ["local/echo"] });
    expect(ok(["-t", "hi"])).toMatchObject({ spec: { name: "chat" }, args: [] });
    expect(ok(["-v"]).spec.name).toBe("version");
    expect(ok(["--version"]).spec.name).toBe("version");
    expect(ok(["open", "--help"])).toMatchObject({ spec: { name: "help" }, args: ["open"] });
    expect(ok(["read", "-f", "abc"])).toMatchObject({ spec: { name: "read" }, values: { follow: true } });
    expect(ok(["-f", "notes.txt", "local/echo"])).toMatchObject({ values: { file: "notes.txt" } });
  });
  test("usage errors name the problem", () => {
    expect(bad(["lsit"])).toBe('unknown command "lsit"; did you mean "list"?');
    expect(bad(["stauts"])).toContain('did you mean "status"?');
    expect(bad(["read"])).toBe("dispatch read: missing <id> (a unique prefix is enough)");
    expect(bad(["stop", "a", "b"])).toBe('dispatch stop: unexpected argument "b"');
    expect(bad(["list", "--bogus"])).toBe("dispatch list: unknown option --bogus");
    expect(bad(["list", "--queue"])).toBe("dispatch list: unknown option --queue");
    expect(bad(["list", "--limit"])).toContain("--limit");
  });
  test("headIndex skips flags and their values", () => {
    expect(headIndex(["--home", "/x", "list"])).toBe(2);
    expect(headIndex(["--json", "-t", "x", "local/echo"])).toBe(3);
    expect(headIndex(["--home=/x", "read"])).toBe(1);
    expect(headIndex(["--json"])).toBe(-1);
  });
  test("did you mean: transpositions are one edit; sentences and short words are prompts", () => {
    expect(editDistance("lsit", "list")).toBe(1);
    expect(didYouMean("modles", TABLE)).toBe("models");
    expect(didYouMean("hello", TABLE)).toBeUndefined();
    expect(didYouMean("fix the bug", TABLE)).toBeUndefined();
  });
});

describe("help from the one table", () => {
  test("every command has help naming it, and the main help lists every command and chat flag", () => {
    const main = helpFor();
    for (const c of TABLE.commands) {
      expect(helpFor(c.name)).toContain(c.name);
      expect(main).toContain(`dispatch ${c.usage}`);
    }
    for (const flag of ["--file", "--cwd", "--allow", "--yes", "--continue", "--resume", "--detach"])
      expect(main).toContain(flag);
    expect(helpFor("list")).toContain("--limit");
    expect(helpFor("local/echo")).toContain("--show-reasoning");
  });
  test("help serve is the daemon's own usage, as serve --help prints it", async () => {
    const { DAEMON_USAGE } = await import("@dispatch/daemon");
    expect(helpFor("serve")).toBe(DAEMON_USAGE);
  });
});

test("--help and -h on every command print its help on stdout, exit 0 and touch no daemon", async () => {
  for (const command of [...TABLE.commands.map((c) => c.name).filter((c) => c !== "serve"), "local/echo"]) {
    for (const flag of ["--help", "-h"]) {
      const run = await inProcess([command, flag]);
      expect({ command, flag, code: run.code, stderr: run.stderr }).toEqual({
        command,
        flag,
        code: 0,
        stderr: "",
      });
      expect(run.stdout).toContain(
        command === "local/echo" ? "dispatch [-m <model>]" : `dispatch ${command}`,
      );
      expect(existsSync(run.home)).toBe(false);
    }
  }
});

describe("usage errors before any daemon: message and exit code 2", () => {
  const cases: [string[], string][] = [
    [
      ["local/echo"],
      "dispatch local/echo: no prompt given: add it as an argument, with --text, --file or on stdin",
    ],
    [
      ["local/echo", "-t", "x", "--effort", "huge"],
      'dispatch: --effort: "huge" is not one of low, medium, high, xhigh, max',
    ],
    [
      ["list", "--status", "sleeping"],
      'dispatch: --status: "sleeping" is not one of active, queued, idle, closed',
    ],
    [["list", "--limit", "0"], 'dispatch: --limit must be an integer ≥ 1, got "0"'],
    [["local/echo", "--file", "missing.txt"], "dispatch: --file missing.txt: no such file"],
    [
      ["hi", "--cwd", "/nonexistent-folder"],
      "dispatch: --cwd /nonexistent-folder: no such folder (/nonexistent-folder)",
    ],
    [
      ["-m", "nomodel", "hi"],
      'dispatch: --model: "nomodel" is not <credential>/<model> (see: dispatch models)',
    ],
    [["hi", "--allow", ","], "dispatch: --allow needs tool names: --allow read_file,grep"],
    [["hi", "-c", "-r", "ab"], "dispatch: --continue and --resume exclude each other"],
    [["completion", "tcsh"], 'dispatch completion: unknown shell "tcsh"; one of bash, zsh, fish'],
    [["lsit"], 'dispatch: unknown command "lsit"; did you mean "list"?'],
    [
      ["send", "abc"],
      "dispatch send: the message is empty: give it as an argument, with --text, --file or on stdin",
    ],
  ];
  for (const [argv, message] of cases) {
    test(argv.join(" "), async () => {
      const run = await inProcess(argv, { cwd: tmpdir() });
      expect(run.stderr.split("\n")[0]).toBe(message);
      expect(run.code).toBe(2);
      expect(existsSync(run.home)).toBe(false);
    });
  }
  test("a relative --cwd that does not exist names the absolute path", async () => {
    const cwd = await mkdtemp(join(tmpdir(), "dispatch-cwd-"));
    const run = await inProcess(["hi", "--cwd", "sub"], { cwd });
    expect(run.stderr).toContain(`--cwd sub: no such folder (${join(cwd, "sub")})`);
    expect(run.code).toBe(2);
  });
  test("under --json a usage error is one JSON object on stderr", async () => {
    const run = await inProcess(["list", "--json", "--limit", "x"]);
    expect(JSON.parse(run.stderr)).toEqual({
      type: "error",
      code: "CLI_USAGE",
      message: '--limit must be an integer ≥ 1, got "x"',
      exitCode: 2,
    });
    expect(run.code).toBe(2);
  });
  test("no arguments on a terminal prints the help and exits 0", async () => {
    const run = await inProcess([]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('dispatch "prompt"');
  });
});

describe("terminal safety", () => {
  test("escape sequences, carriage returns and bidi overrides are shown, not interpreted", () => {
    expect(safeText("a\x1b[2Jb\rc\nd\te")).toBe("a\\x1b[2Jb\\rc\nd\te");
    expect(safeText("\x1b]52;c;aGk=\x07")).toBe("\\x1b]52;c;aGk=\\x07");
    expect(safeLine("ti\ntle\u202e")).toBe("ti\\ntle\\u202e");
    expect(safeText("\x9b31m")).toBe("\\x9b31m");
  });
  test("a permission input is wrapped in full with a length note, never cut", () => {
    const hidden = `ls -la${"\x1b[1D".repeat(100)}; touch /tmp/pwned`;
    const shown = wrapAll(hidden, 60);
    expect(shown.replace(/\n {4}/g, "")).toContain("; touch /tmp/pwned");
    expect(shown).not.toContain("\x1b");
    expect(shown).toMatch(/\(\d+ characters in \d+ lines, shown in full\)/);
    for (const l of shown.split("\n")) expect(l.length).toBeLessThanOrEqual(60);
  });
  test("rendered events carry no raw escapes from the model", () => {
    const state: RenderState = { mode: "start" };
    const base = { conversationId: "c", turnId: "t" };
    const r = renderEvent({ ...base, type: "text-delta", delta: "hi\x1b]52;c;x\x07" }, state, {
      color: false,
      showReasoning: false,
    });
    expect(r.stdout).toBe("hi\\x1b]52;c;x\\x07");
  });
});

describe("colours", () => {
  test("NO_COLOR, FORCE_COLOR and TERM=dumb", () => {
    const tty = { isTTY: true };
    const pipe = { isTTY: false };
    expect(colorEnabled(tty, {})).toBe(true);
    expect(colorEnabled(pipe, {})).toBe(false);
    expect(colorEnabled(tty, { NO_COLOR: "1" })).toBe(false);
    expect(colorEnabled(tty, { TERM: "dumb" })).toBe(false);
    expect(colorEnabled(pipe, { FORCE_COLOR: "1" })).toBe(true);
    expect(colorEnabled(tty, { FORCE_COLOR: "0" })).toBe(false);
    expect(colorEnabled(pipe, { FORCE_COLOR: "1", NO_COLOR: "1" })).toBe(true);
  });
});

test("list times are local with their zone", () => {
  const t = Date.UTC(2026, 0, 2, 3, 4);
  expect(localTime(t, 0)).toBe("2026-01-02 03:04 +00:00");
  expect(localTime(t, -90)).toBe("2026-01-02 04:34 +01:30");
  expect(localTime(t, 300)).toBe("2026-01-01 22:04 -05:00");
});

test("doctor: a data folder others can read is a failure with the fix", () => {
  expect(folderModeCheck("/d", 0o40700)).toMatchObject({ ok: true });
  expect(folderModeCheck("/d", 0o40755)).toMatchObject({ ok: false, fix: "chmod 700 /d" });
  expect(folderModeCheck("/d", undefined)).toMatchObject({ ok: true });
});

test("completion scripts name every command and parse in their shell", async () => {
  const words = completionWords(TABLE.commands, TABLE.fallback);
  for (const shell of ["bash", "zsh", "fish"]) {
    const script = completionScript(shell, words);
    for (const c of TABLE.commands) expect(script).toContain(c.name);
    expect(script).toContain("limit");
  }
  const bash = Bun.spawnSync(["bash", "-n", "-c", completionScript("bash", words)]);
  expect(bash.exitCode).toBe(0);
  // It completes for real: a command name, then that command's flags.
  const complete = (line: string[]) =>
    Bun.spawnSync(
      [
        "bash",
        "-c",
        `eval "$1"; COMP_WORDS=(${line.join(" ")}); COMP_CWORD=${line.length - 1}; _dispatch; echo "\${COMPREPLY[*]}"`,
        "bash",
        completionScript("bash", words),
      ],
      { env: { PATH: "/usr/bin:/bin" } },
    )
      .stdout.toString()
      .trim();
  expect(complete(["dispatch", "lis"])).toBe("list");
  expect(complete(["dispatch", "list", "--li"])).toBe("--limit");
  expect(complete(["dispatch", "--ye"])).toBe("--yes");
});

describe("resolveShortId", () => {
  const convs = [
    { id: "abc123", title: "one" },
    { id: "abd456", title: "two" },
  ];
  test("exact id, unique prefix, unknown, ambiguous", () => {
    expect(resolveShortId("abc123", convs)).toEqual({ ok: true, id: "abc123" });
    expect(resolveShortId("abd", convs)).toEqual({ ok: true, id: "abd456" });
    expect(resolveShortId("zz", convs)).toMatchObject({ ok: false, code: "CLI_UNKNOWN_ID" });
    const amb = resolveShortId("ab", convs);
    expect(amb).toMatchObject({ ok: false, code: "CLI_AMBIGUOUS_ID" });
    if (!amb.ok) expect(amb.message).toContain("abc123  one");
  });
});

describe("renderEvent", () => {
  const base = { conversationId: "c", turnId: "t" };
  test("answer on stdout, process on stderr, reasoning only when asked", () => {
    const state: RenderState = { mode: "start" };
    const opts = { color: false, showReasoning: false };
    expect(renderEvent({ ...base, type: "reasoning-delta", delta: "hm" }, state, opts)).toEqual({});
    expect(renderEvent({ ...base, type: "text-delta", delta: "Hello" }, state, opts)).toEqual({
      stdout: "Hello",
    });
    expect(
      renderEvent(
        { ...base, type: "tool-call", toolCallId: "1", toolName: "read_file", input: { path: "a" } },
        state,
        opts,
      ).stderr,
    ).toBe('\n▸ read_file {"path":"a"}\n');
    expect(renderEvent({ ...base, type: "done", reason: "max-steps" }, state, opts).stderr).toContain(
      "max-steps",
    );
  });
});

test("text after a tool call starts on a new line, and done closes the line once", () => {
  const base = { conversationId: "c", turnId: "t" };
  const opts = { color: false, showReasoning: false };
  const state: RenderState = { mode: "start" };
  const out: string[] = [];
  const events = [
    { ...base, type: "text-delta" as const, delta: "Calling a tool." },
    { ...base, type: "tool-call" as const, toolCallId: "1", toolName: "x", input: {} },
    { ...base, type: "tool-result" as const, toolCallId: "1", toolName: "x", content: "ok", isError: false },
    { ...base, type: "text-delta" as const, delta: "Done." },
    { ...base, type: "done" as const, reason: "stop" as const },
  ];
  for (const e of events) out.push(renderEvent(e, state, opts).stdout ?? "");
  expect(out.join("")).toBe("Calling a tool.\nDone.\n");
});
