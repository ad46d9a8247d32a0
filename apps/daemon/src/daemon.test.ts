/** runDaemon in-process, as `dispatch serve` uses it: the returned handle, stop(), and refusals as DaemonErrors. */
import { expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseConfigFile, resolveConfig } from "./config";
import { DaemonError } from "./contract";
import { alreadyRunningMessage, banner, knownSecrets, runDaemon } from "./daemon";
import { tempHome } from "./test-support";

// Each test boots a daemon in-process; a loaded machine needs more than the default 5 s.
setDefaultTimeout(30_000);

const env = { DISPATCH_WS_PORT: "0", DISPATCH_HTTP_PORT: "0" };

test("runDaemon returns the live ports and token; a second one on the folder is refused; stop cleans up", async () => {
  const home = await tempHome();
  let printed = "";
  const d = await runDaemon({ home, env, signals: false, stderr: null, out: (t) => (printed += t) });
  try {
    expect(d.home).toBe(home);
    expect(d.httpPort).toBeGreaterThan(0);
    expect(d.wsPort).toBeGreaterThan(0);
    expect(printed).toContain(`http   http://127.0.0.1:${d.httpPort}`);
    const health = await fetch(`http://127.0.0.1:${d.httpPort}/health`, {
      headers: { authorization: `Bearer ${d.token}` },
    });
    expect(health.status).toBe(200);

    const second = await runDaemon({ home, env, signals: false, stderr: null, out: () => {} }).catch(
      (e) => e,
    );
    expect(second).toBeInstanceOf(DaemonError);
    expect((second as DaemonError).code).toBe("DAEMON_ALREADY_RUNNING");
    expect((second as DaemonError).exitCode).not.toBe(0);
    expect((second as DaemonError).message).toBe(
      `dispatch daemon already running (pid ${process.pid}, http :${d.httpPort}, ws :${d.wsPort})`,
    );
  } finally {
    await d.stop();
  }
  await d.stopped;
  expect(existsSync(join(home, "daemon.json"))).toBe(false);
  expect(existsSync(join(home, "daemon.lock"))).toBe(false);
});

test("bad arguments and --help are DaemonErrors with exit codes 2 and 0", async () => {
  const home = await tempHome();
  const bad = (await runDaemon({ home, env, argv: ["--bogus"], signals: false }).catch(
    (e) => e,
  )) as DaemonError;
  expect([bad.code, bad.exitCode]).toEqual(["DAEMON_USAGE", 2]);
  expect(bad.message).toContain("--bogus");
  const help = (await runDaemon({ home, env, argv: ["--help"], signals: false }).catch(
    (e) => e,
  )) as DaemonError;
  expect([help.code, help.exitCode]).toEqual(["DAEMON_HELP", 0]);
  expect(help.message).toContain("usage: dispatch serve");
  const port = (await runDaemon({ home, env, argv: ["--ws-port", "x"], signals: false }).catch(
    (e) => e,
  )) as DaemonError;
  expect([port.code, port.exitCode]).toEqual(["DAEMON_CONFIG_INVALID", 2]);
  expect(port.message).toBe("argument --ws-port: expected integer 0..65535");
});

test("alreadyRunningMessage and banner", () => {
  expect(alreadyRunningMessage({ ok: false, pid: 7 })).toBe("dispatch daemon already running (pid 7)");
  const text = banner({
    version: "1.0.0",
    pid: 1,
    home: "/h",
    httpUrl: "http://127.0.0.1:1",
    wsUrl: "ws://127.0.0.1:2",
    defaultModel: "default/llama3",
    logFile: "/h/logs/daemon.log",
  });
  expect(text).toContain("model  default/llama3\n");
  expect(text).not.toContain("offline");
  const broken = banner({
    version: "1.0.0",
    pid: 1,
    home: "/h",
    httpUrl: "http://127.0.0.1:1",
    wsUrl: "ws://127.0.0.1:2",
    defaultModel: "ollama/",
    defaultModelProblem: 'credential "ollama" offers no models',
    logFile: "/h/logs/daemon.log",
  });
  expect(broken).toContain('model  ollama/ — unusable: credential "ollama" offers no models\n');
});

test("knownSecrets: the token, provider keys from the environment and from the config file", () => {
  const file = parseConfigFile(
    "f.toml",
    `[providers.credentials.mine]\nkind = "openai-compatible"\nbaseUrl = "http://127.0.0.1:1/v1"\napiKey = "sk-from-the-file-123"\n`,
  );
  if (!file.ok) throw new Error(file.errors.join("\n"));
  const config = resolveConfig(file.value, {});
  if (!config.ok) throw new Error(config.errors.join("\n"));
  expect(
    knownSecrets(config.config, "the-token-value-xyz", {
      DISPATCH_API_KEY: "sk-env-key-456",
      OPENAI_API_KEY: "",
    }),
  ).toEqual(["the-token-value-xyz", "sk-env-key-456", "sk-from-the-file-123"]);
});
