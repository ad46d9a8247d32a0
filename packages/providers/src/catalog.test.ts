import { afterEach, expect, test } from "bun:test";
import { createMemoryLogger, silentLogger } from "@dispatch/kernel";
import { type OpenAIServer, startAnthropicServer, startOpenAIServer } from "@dispatch/testkit";
import { createModelCatalog, type ModelCatalogImpl } from "./catalog";
import { resolveProvidersConfig } from "./config";
import type { ResolveResult } from "./contract";
import { TEST_KINDS } from "./test-kinds";

const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function openai(options: Parameters<typeof startOpenAIServer>[0] = {}): OpenAIServer {
  const server = startOpenAIServer(options);
  servers.push(server);
  return server;
}

async function catalogFor(
  raw: unknown,
  env: Record<string, string | undefined> = {},
  logger = silentLogger,
): Promise<ModelCatalogImpl> {
  const config = resolveProvidersConfig(raw, env, TEST_KINDS);
  if (!config.ok) throw new Error(config.message);
  const catalog = createModelCatalog({ config: config.value, kinds: TEST_KINDS, logger });
  await catalog.refresh();
  return catalog;
}

function errorCode(result: ResolveResult): string | undefined {
  return result.ok ? undefined : result.error.code;
}

test("with nothing configured only the offline models exist and local/echo is the default", async () => {
  const catalog = await catalogFor(undefined);
  expect(catalog.list().map((e) => e.name)).toEqual(["local/echo", "local/slow"]);
  expect(catalog.defaultModel()).toBe("local/echo");
  expect(catalog.resolve("local/echo")).toMatchObject({ ok: true, value: { name: "local/echo" } });
});

test("an OpenAI-compatible credential without models lists GET /models once, skipping non-chat models", async () => {
  const server = openai({
    apiKey: "k-list",
    models: ["llama3.1", { id: "qwen-long", context_length: 262_144 }, "nomic-embed-text"],
  });
  const catalog = await catalogFor(undefined, { DISPATCH_BASE_URL: server.url, DISPATCH_API_KEY: "k-list" });
  expect(catalog.list()).toEqual([
    { name: "default/llama3.1", info: { contextWindow: 128_000 } },
    { name: "default/qwen-long", info: { contextWindow: 262_144 } },
    { name: "local/echo", info: { contextWindow: 32_768, vision: false } },
    { name: "local/slow", info: { contextWindow: 32_768, vision: false } },
  ]);
  expect(catalog.defaultModel()).toBe("default/llama3.1");
  expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["GET /v1/models"]);
  expect(server.requests[0]?.headers.authorization).toBe("Bearer k-list");
});

test("an Anthropic credential lists its models with x-api-key", async () => {
  const server = startAnthropicServer({ apiKey: "ak", models: ["claude-a", "claude-b"] });
  servers.push(server);
  const catalog = await catalogFor({
    credentials: { claude: { kind: "anthropic", baseUrl: server.url, apiKey: "ak" } },
  });
  expect(catalog.list().slice(0, 2)).toEqual([
    { name: "claude/claude-a", info: { contextWindow: 200_000, vision: true } },
    { name: "claude/claude-b", info: { contextWindow: 200_000, vision: true } },
  ]);
});

test("configured models come first with their info; listing is skipped unless asked", async () => {
  const server = openai({ models: ["other"] });
  const catalog = await catalogFor({
    credentials: {
      a: {
        kind: "openai-compatible",
        baseUrl: server.url,
        models: { "gpt-4o": { contextWindow: 64_000 }, mine: {} },
      },
      b: { kind: "openai-compatible", baseUrl: server.url, models: ["first"], listModels: true },
    },
  });
  expect(catalog.list().map((e) => e.name)).toEqual([
    "a/gpt-4o",
    "a/mine",
    "b/first",
    "b/other",
    "local/echo",
    "local/slow",
  ]);
  expect(catalog.list()[0]?.info).toEqual({ contextWindow: 64_000, vision: true });
  expect(server.requests).toHaveLength(1);
  expect(catalog.defaultModel()).toBe("a/gpt-4o");
});

test("a failed listing is logged, not fatal; the credential keeps its configured models", async () => {
  const server = openai();
  const url = server.url;
  await server.close();
  const logger = createMemoryLogger();
  const catalog = await catalogFor({}, { DISPATCH_BASE_URL: url, DISPATCH_MODEL: "m" }, logger);
  expect(catalog.list().map((e) => e.name)).toEqual(["default/m", "local/echo", "local/slow"]);
  expect(logger.records).toContainEqual(
    expect.objectContaining({
      level: "warn",
      msg: "model listing failed",
      fields: expect.objectContaining({ credential: "default" }),
    }),
  );
});

test("a configured credential with no known model is the default anyway (with the fix), never a silent local/echo", async () => {
  const server = openai();
  const url = server.url;
  await server.close();
  const catalog = await catalogFor({}, { DISPATCH_BASE_URL: url });
  expect(catalog.list().map((e) => e.name)).toEqual(["local/echo", "local/slow"]);
  expect(catalog.defaultModel()).toBe("default/");
  const resolved = catalog.resolve(catalog.defaultModel());
  expect(resolved).toMatchObject({ ok: false, error: { code: "PROVIDER_UNKNOWN_MODEL" } });
  const message = resolved.ok ? "" : resolved.error.message;
  expect(message).toContain(`GET ${url}/models listed none`);
  expect(message).toContain("DISPATCH_MODEL");
  // The offline models stay available by name.
  expect(catalog.resolve("local/echo").ok).toBe(true);
});

test("resolution: full names, unlisted ids, bare ids, unknown credentials and models, missing keys", async () => {
  const server = openai({ models: ["m1", "shared"] });
  const catalog = await catalogFor(
    {
      credentials: {
        other: { kind: "openai-compatible", baseUrl: server.url, models: ["shared"] },
        claude: { kind: "anthropic", models: ["claude-x"] },
        envkey: { kind: "openai-compatible", baseUrl: server.url, apiKeyEnv: "UNSET_KEY_VAR", models: ["z"] },
      },
    },
    { DISPATCH_BASE_URL: server.url },
  );
  const full = catalog.resolve("default/m1");
  expect(full).toMatchObject({ ok: true, value: { name: "default/m1" } });
  expect(catalog.resolve("default/m1")).toEqual(full);
  expect(catalog.resolve("default/not-listed-but-fine")).toMatchObject({ ok: true });
  expect(catalog.resolve("m1")).toMatchObject({ ok: true, value: { name: "default/m1" } });
  expect(errorCode(catalog.resolve("shared"))).toBe("PROVIDER_UNKNOWN_MODEL");
  expect(errorCode(catalog.resolve("nope/x"))).toBe("PROVIDER_UNKNOWN_CREDENTIAL");
  expect(errorCode(catalog.resolve("zzz"))).toBe("PROVIDER_UNKNOWN_MODEL");
  expect(errorCode(catalog.resolve("local/nope"))).toBe("PROVIDER_UNKNOWN_MODEL");
  expect(errorCode(catalog.resolve("default/"))).toBe("PROVIDER_UNKNOWN_MODEL");
  expect(errorCode(catalog.resolve("claude/claude-x"))).toBe("PROVIDER_MISSING_API_KEY");
  const missing = catalog.resolve("envkey/z");
  expect(missing).toMatchObject({ ok: false, error: { code: "PROVIDER_MISSING_API_KEY" } });
  expect(missing.ok ? "" : missing.error.message).toContain("UNSET_KEY_VAR");
});

test("the configured default model wins over the first listed model", async () => {
  const server = openai({ models: ["listed"] });
  const catalog = await catalogFor(
    { defaultModel: "local/slow" },
    { DISPATCH_BASE_URL: server.url, DISPATCH_MODEL: "" },
  );
  expect(catalog.list()[0]?.name).toBe("default/listed");
  expect(catalog.defaultModel()).toBe("local/slow");
});

test("a listing that never answers times out without blocking activation", async () => {
  const server = openai({ hangModels: true });
  const logger = createMemoryLogger();
  const catalog = await catalogFor(
    { listTimeoutMs: 100 },
    { DISPATCH_BASE_URL: server.url, DISPATCH_MODEL: "m" },
    logger,
  );
  expect(catalog.list()[0]?.name).toBe("default/m");
  const warning = logger.records.find((r) => r.msg === "model listing failed");
  expect(String(warning?.fields.reason)).toContain("TimeoutError");
});
