import { afterEach, expect, test } from "bun:test";
import { createHost, createMemoryLogger } from "@dispatch/kernel";
import { captureError, collect, openaiError, startOpenAIServer } from "@dispatch/testkit";
import { ModelCatalog } from "./contract";
import { providersExtension } from "./extension";
import { TEST_KINDS } from "./test-kinds";
import { modelRequest } from "./test-support";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function boot(config: unknown, env: Record<string, string | undefined>) {
  const logger = createMemoryLogger();
  const host = createHost({
    extensions: [providersExtension({ env, kinds: TEST_KINDS.list() })],
    config: { providers: config },
    logger,
  });
  cleanups.push(() => host.stop());
  const report = await host.start();
  return { host, logger, report };
}

test("boots offline with no configuration: local/echo is the default and streams", async () => {
  const { host, report, logger } = await boot(undefined, {});
  expect(report.active).toEqual(["providers"]);
  const catalog = host.get(ModelCatalog);
  expect(catalog.defaultModel()).toBe("local/echo");
  const model = catalog.resolve(catalog.defaultModel());
  if (!model.ok) throw new Error(model.error.message);
  const parts = await collect(model.value.stream(modelRequest()));
  expect(parts.at(-1)).toEqual({ type: "finish", reason: "stop" });
  expect(logger.records).toContainEqual(
    expect.objectContaining({
      msg: "model catalog ready",
      fields: expect.objectContaining({ offlineOnly: true }),
    }),
  );
});

test("an invalid config disables the extension with a reason naming the field", async () => {
  const { report } = await boot({ credentials: { x: { kind: "nope" } } }, {});
  expect(report.active).toEqual([]);
  expect(report.disabled[0]?.reason).toContain("credentials.x.kind");
});

test("API keys never appear in log records or error messages", async () => {
  const keys = ["sk-env-KEY-1111111111", "sk-config-KEY-2222222222", "sk-listing-KEY-3333333333"];
  const good = startOpenAIServer({ apiKey: keys[0], models: ["m"] });
  const wrongKey = startOpenAIServer({ apiKey: "something-else" });
  const gone = startOpenAIServer();
  const goneUrl = gone.url;
  await gone.close();
  cleanups.push(
    () => good.close(),
    () => wrongKey.close(),
  );
  const { host, logger } = await boot(
    {
      credentials: {
        refused: { kind: "openai-compatible", baseUrl: goneUrl, apiKey: keys[1] },
        unauthorized: { kind: "openai-compatible", baseUrl: wrongKey.url, apiKey: keys[2] },
      },
    },
    { DISPATCH_BASE_URL: good.url, DISPATCH_API_KEY: keys[0] },
  );
  const catalog = host.get(ModelCatalog);
  good.script(openaiError(401, { message: `bad key ${keys[0]}` }));
  const model = catalog.resolve("default/m");
  if (!model.ok) throw new Error(model.error.message);
  const streamError = await captureError(() => collect(model.value.stream(modelRequest())));

  // The listing failures were logged (so this test looks at real records), without any key.
  const warnings = logger.records
    .filter((r) => r.msg === "model listing failed")
    .map((r) => r.fields.credential);
  expect(warnings.sort()).toEqual(["refused", "unauthorized"]);
  const everything = JSON.stringify([
    logger.records,
    String(streamError),
    (streamError as Error).stack,
    catalog.list(),
  ]);
  for (const key of keys) expect(everything).not.toContain(key);
  expect(streamError).toMatchObject({ code: "PROVIDER_AUTH" });
});
