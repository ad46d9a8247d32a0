import { describe, expect, test } from "bun:test";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_HTTP_PORT, DEFAULT_WS_PORT, loadConfig, parseConfigFile, resolveConfig } from "./config";

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
anything = { nested = true }
`,
    );
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.value.ws?.port).toBe(24999);
      expect(r.value.providers).toEqual({ anything: { nested: true } });
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
    const r = resolveConfig({}, {});
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
    const r = resolveConfig(
      { http: { port: 1 }, ws: { port: 2 }, log: { level: "warn" } },
      {
        DISPATCH_HTTP_PORT: "0",
        DISPATCH_WS_PORT: "0",
        DISPATCH_HOST: "localhost",
        DISPATCH_LOG_LEVEL: "DEBUG",
        DISPATCH_TOKEN: "a".repeat(32),
        DISPATCH_BASE_URL: "http://127.0.0.1:11434/v1",
        DISPATCH_MODEL: "ollama/llama3",
      },
    );
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect([r.config.httpPort, r.config.wsPort, r.config.host]).toEqual([0, 0, "localhost"]);
      expect(r.config.log.level).toBe("debug");
      expect(r.config.token).toBe("a".repeat(32));
      expect(r.config.providerEnv).toEqual({ baseUrl: "http://127.0.0.1:11434/v1", model: "ollama/llama3" });
    }
  });

  test("bad environment values name the variable", () => {
    const r = resolveConfig(
      {},
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
