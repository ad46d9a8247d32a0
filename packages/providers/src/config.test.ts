import { expect, test } from "bun:test";
import { resolveProvidersConfig } from "./config";
import { TEST_KINDS } from "./test-kinds";

function resolved(raw: unknown, env: Record<string, string | undefined> = {}) {
  const r = resolveProvidersConfig(raw, env, TEST_KINDS);
  if (!r.ok) throw new Error(r.message);
  return r.value;
}

function problem(raw: unknown): string {
  const r = resolveProvidersConfig(raw, {}, TEST_KINDS);
  if (r.ok) throw new Error("expected the config to be rejected");
  return r.message;
}

test("pure: nothing configured means no credentials and no default model", () => {
  expect(resolved(undefined)).toEqual({ credentials: [], listTimeoutMs: 3000, builtin: {} });
});

test("pure: DISPATCH_BASE_URL, DISPATCH_API_KEY and DISPATCH_MODEL define credential default", () => {
  const config = resolved(undefined, {
    DISPATCH_BASE_URL: "http://localhost:11434/v1/",
    DISPATCH_API_KEY: "k",
    DISPATCH_MODEL: "llama3.1",
  });
  expect(config.credentials).toEqual([
    {
      name: "default",
      kind: "openai-compatible",
      baseUrl: "http://localhost:11434/v1",
      apiKey: "k",
      headers: {},
      models: [{ id: "llama3.1", info: {} }],
      listModels: true,
      source: "env",
    },
  ]);
  expect(config.defaultModel).toBe("default/llama3.1");
});

test("pure: an anthropic URL, or an sk-ant- key without URL, selects the Anthropic kind", () => {
  const byUrl = resolved(undefined, {
    DISPATCH_BASE_URL: "https://api.anthropic.com/v1",
    DISPATCH_API_KEY: "x",
  });
  expect(byUrl.credentials[0]?.kind).toBe("anthropic");
  const byKey = resolved(undefined, { DISPATCH_API_KEY: "sk-ant-123" });
  expect(byKey.credentials[0]).toMatchObject({ kind: "anthropic", baseUrl: "https://api.anthropic.com/v1" });
  const openai = resolved(undefined, { DISPATCH_API_KEY: "sk-123" });
  expect(openai.credentials[0]).toMatchObject({
    kind: "openai-compatible",
    baseUrl: "https://api.openai.com/v1",
  });
});

test("pure: DISPATCH_MODEL may name local/* or a configured credential; other slashes belong to default", () => {
  const local = resolved(undefined, { DISPATCH_BASE_URL: "http://h/v1", DISPATCH_MODEL: "local/echo" });
  expect(local.defaultModel).toBe("local/echo");
  expect(local.credentials[0]?.models).toEqual([]);
  const routed = resolved(undefined, { DISPATCH_BASE_URL: "http://h/v1", DISPATCH_MODEL: "openai/gpt-4o" });
  expect(routed.defaultModel).toBe("default/openai/gpt-4o");
  const configured = resolved(
    { credentials: { work: { kind: "openai-compatible", baseUrl: "http://w/v1" } }, defaultModel: "work/a" },
    { DISPATCH_MODEL: "work/b" },
  );
  expect(configured.defaultModel).toBe("work/b");
});

test("pure: ANTHROPIC_API_KEY and OPENAI_API_KEY add credentials unless disabled or taken", () => {
  const env = { ANTHROPIC_API_KEY: "a-key", OPENAI_API_KEY: "o-key", OPENAI_BASE_URL: "http://proxy/v1" };
  const both = resolved(undefined, env);
  expect(both.credentials.map((c) => [c.name, c.kind, c.baseUrl, c.models[0]?.id])).toEqual([
    ["anthropic", "anthropic", "https://api.anthropic.com/v1", "claude-sonnet-4-5"],
    ["openai", "openai-compatible", "http://proxy/v1", "gpt-4.1"],
  ]);
  expect(resolved({ providerEnvKeys: false }, env).credentials).toEqual([]);
  const taken = resolved({ credentials: { anthropic: { kind: "anthropic", apiKey: "mine" } } }, env);
  expect(taken.credentials.filter((c) => c.name === "anthropic")).toMatchObject([
    { apiKey: "mine", source: "config" },
  ]);
});

test("pure: config credentials read keys from apiKeyEnv and note a missing variable", () => {
  const config = resolved(
    {
      credentials: {
        a: {
          kind: "openai-compatible",
          baseUrl: "http://a/v1",
          apiKeyEnv: "A_KEY",
          models: { m: { contextWindow: 8192 } },
        },
        b: { kind: "anthropic", apiKeyEnv: "B_KEY", models: ["claude-x"], listModels: true },
      },
    },
    { A_KEY: "from-env" },
  );
  expect(config.credentials[0]).toMatchObject({
    apiKey: "from-env",
    models: [{ id: "m", info: { contextWindow: 8192 } }],
    listModels: false,
  });
  expect(config.credentials[1]).toMatchObject({ missingKeyEnv: "B_KEY", listModels: true });
  expect(config.credentials[1]).not.toHaveProperty("apiKey");
});

test("pure: invalid configs are rejected with the path and the reason", () => {
  expect(problem({ credentials: { x: { kind: "gemini" } } })).toContain("credentials.x.kind");
  expect(problem({ credentials: { local: { kind: "anthropic" } } })).toContain('"local" is reserved');
  expect(problem({ credentials: { x: { kind: "anthropic", apiKey: "a", apiKeyEnv: "B" } } })).toContain(
    "not both",
  );
  expect(problem({ credentials: { x: { kind: "openai-compatible", baseUrl: "ftp://h" } } })).toContain(
    "credentials.x.baseUrl",
  );
  expect(problem({ credentials: { "bad name": { kind: "anthropic" } } })).toContain("credential names");
  expect(problem({ defaultModle: "x" })).toContain("defaultModle");
});
