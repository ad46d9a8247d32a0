import { afterEach, expect, test } from "bun:test";
import { createHost, createMemoryLogger } from "@dispatch/kernel";
import { collect, type OpenAIServer, startOpenAIServer } from "@dispatch/testkit";
import { z } from "zod";
import { ModelCatalog, type ProviderPart } from "./contract";
import { remoteCredentialSchema } from "./credential-schema";
import { providersExtension } from "./extension";
import { type BuiltinKind, type CredentialKind, type ProviderKind, ProviderKinds } from "./kind-contract";
import { createProviderKinds } from "./kinds";
import { listModels } from "./model-list";
import { modelRequest } from "./test-support";

/**
 * A provider kind that exists only in this test: it echoes the user's text reversed (shouted when its
 * own config field `shout` is set) and lists its models from a loopback OpenAI-style server with its
 * own auth header. Nothing in the catalog, the config resolver or the extension names it.
 */
const reverseKind: { type: "credential" } & CredentialKind = {
  type: "credential",
  id: "reverse",
  schema: remoteCredentialSchema("reverse").safeExtend({ shout: z.boolean().optional() }),
  defaultBaseUrl: "http://127.0.0.1:9/v1",
  requiresApiKey: true,
  claimsDispatchEnv: ({ baseUrl }) => baseUrl?.includes("/reverse/") === true,
  createModel(credential, ctx) {
    const shout = credential.settings?.shout === true;
    return {
      name: ctx.name,
      info: ctx.info,
      async *stream(request): AsyncGenerator<ProviderPart> {
        const last = request.messages.at(-1)?.chunks[0];
        const text = [...(last?.type === "text" ? last.text : "")].reverse().join("");
        yield { type: "text-delta", delta: shout ? text.toUpperCase() : text };
        yield { type: "finish", reason: "stop" };
      },
    };
  },
  listModels: (credential, timeoutMs, logger) =>
    listModels(credential, timeoutMs, logger, { "x-reverse-key": credential.apiKey ?? "" }),
};

/** A built-in kind of this test only: `canned/yes` always answers "yes". */
const cannedKind: { type: "builtin" } & BuiltinKind<{ word?: string } | undefined> = {
  type: "builtin",
  id: "canned",
  credential: "canned",
  label: "canned",
  section: z.object({ word: z.string().optional() }).strict(),
  defaultModel: "canned/yes",
  models: () => [{ name: "canned/yes", info: { contextWindow: 10 } }],
  createModel: (entry, settings) => ({
    name: entry.name,
    info: entry.info,
    async *stream(): AsyncGenerator<ProviderPart> {
      yield { type: "text-delta", delta: settings?.word ?? "yes" };
      yield { type: "finish", reason: "stop" };
    },
  }),
};

let server: OpenAIServer | undefined;
const hosts: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.stop()));
  await server?.close();
  server = undefined;
});

async function boot(kinds: ProviderKind[], config: unknown, env: Record<string, string> = {}) {
  const host = createHost({
    extensions: [providersExtension({ env, kinds })],
    config: { providers: config },
    logger: createMemoryLogger(),
  });
  hosts.push(host);
  return { host, report: await host.start() };
}

async function textOf(catalog: ModelCatalog, name: string): Promise<string> {
  const model = catalog.resolve(name);
  if (!model.ok) throw new Error(model.error.message);
  const parts = await collect(model.value.stream(modelRequest()));
  return parts.flatMap((p) => (p.type === "text-delta" ? [p.delta] : [])).join("");
}

test("a kind defined outside the catalog is configured, listed, resolved and streamed end to end", async () => {
  server = startOpenAIServer({ models: ["backwards", "nomic-embed-text"] });
  const { host, report } = await boot([reverseKind, cannedKind], {
    credentials: { mine: { kind: "reverse", baseUrl: server.url, apiKey: "rk-1", shout: true } },
    canned: { word: "sure" },
  });
  expect(report.active).toEqual(["providers"]);
  const catalog = host.get(ModelCatalog);
  expect(catalog.list().map((e) => e.name)).toEqual(["mine/backwards", "canned/yes"]);
  expect(server.requests.map((r) => [r.path, r.headers["x-reverse-key"]])).toEqual([["/v1/models", "rk-1"]]);
  expect(catalog.defaultModel()).toBe("mine/backwards");
  expect(await textOf(catalog, "mine/backwards")).toBe("OLLEH");
  expect(await textOf(catalog, "canned/yes")).toBe("sure");
  expect(
    host
      .get(ProviderKinds)
      .list()
      .map((k) => k.id),
  ).toEqual(["reverse", "canned"]);
});

test("the kind's schema, key rule and environment claim apply through the registry", async () => {
  const typo = await boot([reverseKind], { credentials: { mine: { kind: "reverse", shoot: true } } });
  expect(typo.report.disabled[0]?.reason).toContain("credentials.mine");
  expect(typo.report.disabled[0]?.reason).toContain("shoot");
  const unknown = await boot([reverseKind], { credentials: { x: { kind: "anthropic" } } });
  expect(unknown.report.disabled[0]?.reason).toContain(
    'credentials.x.kind: Invalid option: expected one of "reverse"',
  );
  const reserved = await boot([reverseKind, cannedKind], { credentials: { canned: { kind: "reverse" } } });
  expect(reserved.report.disabled[0]?.reason).toContain('"canned" is reserved for the canned models');

  const { host } = await boot(
    [reverseKind, cannedKind],
    { providerEnvKeys: false },
    {
      DISPATCH_BASE_URL: "http://127.0.0.1:9/reverse/v1",
      DISPATCH_MODEL: "m",
    },
  );
  const catalog = host.get(ModelCatalog);
  expect(catalog.defaultModel()).toBe("default/m");
  expect(catalog.resolve("default/m")).toMatchObject({
    ok: false,
    error: { code: "PROVIDER_MISSING_API_KEY" },
  });
  // Without a credential the built-in kind's default is the default.
  const offline = await boot([reverseKind, cannedKind], {});
  expect(offline.host.get(ModelCatalog).defaultModel()).toBe("canned/yes");
});

test("the registry rejects duplicate kinds, two reservations of a name and two DISPATCH_* fallbacks", () => {
  const fallback = (id: string): ProviderKind => ({ ...reverseKind, id, claimsDispatchEnv: "fallback" });
  expect(() => createProviderKinds([reverseKind, reverseKind])).toThrow('"reverse" is installed twice');
  expect(() => createProviderKinds([cannedKind, { ...cannedKind, id: "other" }])).toThrow(
    'both reserve "canned"',
  );
  expect(() => createProviderKinds([fallback("a"), fallback("b")])).toThrow("both the DISPATCH_* fallback");
  expect(() => createProviderKinds([{ ...cannedKind, credential: "no/slash" }])).toThrow(
    "invalid credential name",
  );
});
