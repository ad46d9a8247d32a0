import { describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_HTTP_PORT, DEFAULT_WS_PORT, loadConfig, parseConfigFile, resolveConfig } from "./config";
import { knownSecrets } from "./daemon";
import { hostConfig, mcpSecretEnvNames } from "./extensions";

describe("parseConfigFile", () => {
  test("accepts a full file", () => {
    const r = parseConfigFile(
      "dispatch.toml",
      `host = "127.0.0.1"
allowedOrigins = ["tauri://localhost"]
[http]
port = 0
[ws]
port = 24999
[log]
level = "debug"
[providers]
defaultModel = "local/echo"
`,
    );
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.value.value.ws?.port).toBe(24999);
      expect(r.value.raw.providers).toEqual({ defaultModel: "local/echo" });
    }
  });

  test("a bad value names the file and key path", () => {
    const r = parseConfigFile("dispatch.toml", `[ws]\nport = "x"\n[http]\nport = 70000\n`);
    expect(r).toEqual({
      ok: false,
      errors: [
        "dispatch.toml: http.port: expected integer 0..65535",
        "dispatch.toml: ws.port: expected integer 0..65535",
      ],
    });
  });

  test("unknown keys are reported one by one with their path", () => {
    const r = parseConfigFile("f.toml", `colour = "red"\n[http]\nprot = 1\n`);
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.errors.sort()).toEqual(["f.toml: colour: unknown key", "f.toml: http.prot: unknown key"]);
  });

  test("TOML syntax errors carry line and column", () => {
    const r = parseConfigFile("f.toml", `[http\nport = 1\n`);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]).toMatch(/^f\.toml:1:\d+: /);
  });

  test("a short token is rejected", () => {
    const r = parseConfigFile("f.toml", `token = "short"\n`);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]).toStartWith("f.toml: token: expected at least");
  });
});

describe("resolveConfig", () => {
  test("defaults", () => {
    const r = resolveConfig({ value: {}, raw: {} }, {});
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.config.httpPort).toBe(DEFAULT_HTTP_PORT);
      expect(r.config.wsPort).toBe(DEFAULT_WS_PORT);
      expect(r.config.host).toBe("127.0.0.1");
      expect(r.config.token).toBeUndefined();
      expect(r.config.log.level).toBe("info");
    }
  });

  test("environment overrides the file", () => {
    const file = parseConfigFile(
      "f.toml",
      `[http]\nport = 1\n[ws]\nport = 2\nidleTimeoutSec = 30\n[log]\nlevel = "warn"\n`,
    );
    if (!file.ok) throw new Error(file.errors.join("\n"));
    const r = resolveConfig(file.value, {
      DISPATCH_HTTP_PORT: "0",
      DISPATCH_WS_PORT: "0",
      DISPATCH_HOST: "localhost",
      DISPATCH_LOG_LEVEL: "DEBUG",
      DISPATCH_TOKEN: "a".repeat(32),
    });
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect([r.config.httpPort, r.config.wsPort, r.config.host]).toEqual([0, 0, "localhost"]);
      expect(r.config.log.level).toBe("debug");
      expect(r.config.token).toBe("a".repeat(32));
      expect(r.config.ws).toEqual({ idleTimeoutSec: 30 });
    }
  });

  test("bad environment values name the variable", () => {
    const r = resolveConfig(
      { value: {}, raw: {} },
      { DISPATCH_WS_PORT: "abc", DISPATCH_HTTP_PORT: "65536", DISPATCH_LOG_LEVEL: "loud" },
    );
    expect(r).toEqual({
      ok: false,
      errors: [
        "environment: DISPATCH_HTTP_PORT: expected integer 0..65535",
        "environment: DISPATCH_WS_PORT: expected integer 0..65535",
        "environment: DISPATCH_LOG_LEVEL: expected one of debug, info, warn, error",
      ],
    });
  });
});

test("arguments win over the environment and are reported as arguments", () => {
  const r = resolveConfig(
    { value: {}, raw: {} },
    { DISPATCH_HTTP_PORT: "1" },
    { httpPort: "2", wsPort: "x" },
  );
  expect(r).toEqual({ ok: false, errors: ["argument --ws-port: expected integer 0..65535"] });
  const ok = resolveConfig({ value: {}, raw: {} }, { DISPATCH_HTTP_PORT: "1" }, { httpPort: "2" });
  expect(ok.ok && ok.config.httpPort).toBe(2);
});

test("extension sections are checked with the extension's own schema", () => {
  const r = parseConfigFile(
    "f.toml",
    `[providers]\ndefaultModle = "x"\n[session-orchestrator]\nmaxSteps = 0\n`,
  );
  expect(r.ok).toBe(false);
  if (!r.ok) {
    expect(r.errors).toContain("f.toml: providers.defaultModle: unknown key");
    expect(r.errors.some((e) => e.startsWith("f.toml: session-orchestrator.maxSteps: "))).toBe(true);
  }
});

test("tool sections are checked with the tools' limit schemas", () => {
  expect(parseConfigFile("f.toml", `[tool-run-shell]\nmaxTimeoutMs = 1000\n`).ok).toBe(true);
  expect(parseConfigFile("f.toml", `[tool-run-shell]\nmaxTimeoutMS = 1000\n`)).toEqual({
    ok: false,
    errors: ["f.toml: tool-run-shell.maxTimeoutMS: unknown key"],
  });
});

test("[ws] accepts transport-ws limits but not its connection settings", () => {
  expect(parseConfigFile("f.toml", `[ws]\nport = 0\nidleTimeoutSec = 30\n`).ok).toBe(true);
  const r = parseConfigFile("f.toml", `[ws]\ntoken = "${"x".repeat(30)}"\n`);
  expect(r).toEqual({ ok: false, errors: ["f.toml: ws.token: unknown key"] });
});

test("[http] limits pass through to transport-http; bad ones name the key", () => {
  const file = parseConfigFile("f.toml", `[http]\nport = 0\nidleTimeoutSec = 60\nmaxBodyBytes = 1000\n`);
  expect(file.ok).toBe(true);
  if (file.ok) {
    const r = resolveConfig(file.value, {});
    expect(r.ok && r.config.http).toEqual({ idleTimeoutSec: 60, maxBodyBytes: 1000 });
    expect(r.ok && hostConfig(r.config, "t")["transport-http"]).toMatchObject({
      port: 0,
      idleTimeoutSec: 60,
      token: "t",
    });
  }
  const bad = parseConfigFile("f.toml", `[http]\nmaxBodyBytes = -1\n`);
  expect(bad.ok).toBe(false);
  if (!bad.ok) expect(bad.errors[0]).toStartWith("f.toml: http.maxBodyBytes: ");
});

describe("loadConfig", () => {
  test("a missing default file means defaults; a missing explicit file is an error", async () => {
    const dir = await mkdtemp(join(tmpdir(), "dispatch-config-"));
    const path = join(dir, "dispatch.toml");
    expect((await loadConfig({ path, explicit: false }, {})).ok).toBe(true);
    const r = await loadConfig({ path, explicit: true }, {});
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]).toContain(path);
  });

  test("reads and validates the file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "dispatch-config-"));
    const path = join(dir, "dispatch.toml");
    await writeFile(path, `[ws]\nport = -1\n`);
    const r = await loadConfig({ path, explicit: false }, {});
    expect(r).toEqual({ ok: false, errors: [`${path}: ws.port: expected integer 0..65535`] });
  });
});

test("browser access keys: trustLocalBrowsers and [web] root reach both transports; the root is relative to the file", async () => {
  const dir = await mkdtemp(join(tmpdir(), "dispatch-config-"));
  const path = join(dir, "dispatch.toml");
  await mkdir(join(dir, "web"));
  await writeFile(path, `trustLocalBrowsers = true\nallowedHosts = ["box.lan"]\n[web]\nroot = "web"\n`);
  const r = await loadConfig({ path, explicit: false }, {});
  if (!r.ok) throw new Error(r.errors.join("\n"));
  expect(r.config.webRoot).toBe(join(dir, "web"));
  const host = hostConfig(r.config, "t", [], { browserSessions: join(dir, "s.json") });
  expect(host["transport-http"]).toMatchObject({ trustLocalBrowsers: true, webRoot: join(dir, "web") });
  expect(host["transport-ws"]).toMatchObject({ trustLocalBrowsers: true, sessionsFile: join(dir, "s.json") });
  await writeFile(path, `[web]\nroot = "missing"\n`);
  expect(await loadConfig({ path, explicit: false }, {})).toEqual({
    ok: false,
    errors: [`${path}: web.root: folder not found: ${join(dir, "missing")}`],
  });
  const bad = parseConfigFile("f.toml", `[web]\nroot = 3\nlisting = true\n`);
  expect(bad.ok ? [] : bad.errors).toEqual([
    "f.toml: web.root: expected a folder path",
    "f.toml: web.listing: unknown key",
  ]);
});

test("shell commands never get provider keys: apiKeyEnv names join the default scrub list", () => {
  const file = parseConfigFile(
    "f.toml",
    `[providers.credentials.corp]\nkind = "openai-compatible"\nbaseUrl = "http://127.0.0.1:9/v1"\napiKeyEnv = "CORP_LLM_KEY"\n`,
  );
  expect(file.ok).toBe(true);
  if (!file.ok) return;
  const r = resolveConfig(file.value, {});
  if (!r.ok) throw new Error(r.errors.join("\n"));
  const scrub = (hostConfig(r.config, "t")["tool-run-shell"] as { scrubEnv: string[] }).scrubEnv;
  expect(scrub).toContain("CORP_LLM_KEY");
  expect(scrub).toContain("DISPATCH_TOKEN");
  // An explicit list is kept, and the credential's variable is still added.
  const own = parseConfigFile(
    "f.toml",
    `[tool-run-shell]\nscrubEnv = ["MY_SECRET"]\n[providers.credentials.corp]\nkind = "anthropic"\napiKeyEnv = "CORP_LLM_KEY"\n`,
  );
  if (!own.ok) throw new Error(own.errors.join("\n"));
  const r2 = resolveConfig(own.value, {});
  if (!r2.ok) throw new Error(r2.errors.join("\n"));
  expect((hostConfig(r2.config, "t")["tool-run-shell"] as { scrubEnv: string[] }).scrubEnv).toEqual([
    "MY_SECRET",
    "CORP_LLM_KEY",
  ]);
});

test("the data folder and the config file join the permission gate's protected paths", () => {
  const file = parseConfigFile(
    "f.toml",
    `[permission-gate]\nprotectedPaths = ["/srv/keys"]\ntools = { write_file = "allow" }\n`,
  );
  if (!file.ok) throw new Error(file.errors.join("\n"));
  const r = resolveConfig(file.value, {});
  if (!r.ok) throw new Error(r.errors.join("\n"));
  const gate = hostConfig(r.config, "t", ["/home/u/.local/state/dispatch", "/etc/dispatch.toml"])[
    "permission-gate"
  ];
  expect(gate).toEqual({
    tools: { write_file: "allow" },
    protectedPaths: ["/srv/keys", "/home/u/.local/state/dispatch", "/etc/dispatch.toml"],
  });
});

test("[mcp.servers.<name>] is checked: unknown keys and bad values name the key", () => {
  const ok = parseConfigFile(
    "f.toml",
    `[mcp.servers.gh]\nurl = "http://127.0.0.1:1/mcp"\nheaders = { Authorization = "Bearer \${GH}" }\n[mcp.servers.files]\ncommand = "srv"\nargs = ["-v"]\nstartup = "lazy"\ntimeoutMs = 5000\n`,
  );
  expect(ok.ok).toBe(true);
  const errors = (toml: string) => {
    const r = parseConfigFile("f.toml", toml);
    return r.ok ? [] : r.errors;
  };
  expect(errors(`[mcp.servers.a]\ncommand = "x"\ncomand = "y"\n`)).toEqual([
    "f.toml: mcp.servers.a.comand: unknown key",
  ]);
  expect(errors(`[mcp.servers.a]\ncommand = "x"\nstartup = "later"\n`)).toEqual([
    "f.toml: mcp.servers.a.startup: expected eager or lazy",
  ]);
  expect(errors(`[mcp.servers.a]\ncommand = "x"\ntimeoutMs = -1\n`)[0]).toStartWith(
    "f.toml: mcp.servers.a.timeoutMs: ",
  );
  expect(errors(`[mcp.servers.a]\ncommand = "x"\nurl = "http://h/"\n`)[0]).toContain(
    "exactly one of command",
  );
  expect(errors(`[mcp.servers.a]\nurl = "http://h/"\nargs = []\n`)).toEqual([
    "f.toml: mcp.servers.a.args: not allowed for url servers",
  ]);
  expect(errors(`[mcp.servers.a]\nurl = "ftp://h/"\n`)[0]).toContain("mcp.servers.a.url");
  expect(errors(`[mcp.servers."a__b"]\ncommand = "x"\n`)[0]).toContain("mcp.servers");
  expect(errors(`[mcp]\nserver = {}\n`)).toEqual(["f.toml: mcp.server: unknown key"]);
});

test("variables named in MCP headers and env are scrubbed from run_shell and the logs", () => {
  const file = parseConfigFile(
    "f.toml",
    `[mcp.servers.gh]\nurl = "http://127.0.0.1:1/mcp"\nheaders = { Authorization = "Bearer \${GH_TOKEN}", X = "literal-secret-value" }\n`,
  );
  if (!file.ok) throw new Error(file.errors.join("\n"));
  const r = resolveConfig(file.value, {});
  if (!r.ok) throw new Error(r.errors.join("\n"));
  expect(mcpSecretEnvNames(r.config)).toEqual(["GH_TOKEN"]);
  expect((hostConfig(r.config, "t")["tool-run-shell"] as { scrubEnv: string[] }).scrubEnv).toContain(
    "GH_TOKEN",
  );
  const secrets = knownSecrets(r.config, "t".repeat(30), { GH_TOKEN: "ghp_0123456789" });
  expect(secrets).toContain("ghp_0123456789");
  expect(secrets).toContain("literal-secret-value");
});
