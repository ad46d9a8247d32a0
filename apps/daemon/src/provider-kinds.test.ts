import { expect, test } from "bun:test";
import { daemonProviderKinds } from "./provider-kinds";

test("the daemon installs the Anthropic, OpenAI-compatible and offline kinds, in that order", () => {
  expect(daemonProviderKinds.list().map((k) => k.id)).toEqual(["anthropic", "openai-compatible", "local"]);
});

test("loading the composition root loads no AI SDK provider module and no MCP SDK: both load on first use", async () => {
  // A fresh process: this test runner has loaded the SDKs already through other tests.
  const script = `
    await import(${JSON.stringify(`${import.meta.dir}/extensions.ts`)});
    await import(${JSON.stringify(`${import.meta.dir}/config-schema.ts`)});
    console.log(JSON.stringify(Object.keys(require.cache).filter((k) => k.includes("@ai-sdk/") || k.includes("@modelcontextprotocol/"))));
  `;
  const proc = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  expect({ code, err }).toEqual({ code: 0, err: "" });
  const loaded = JSON.parse(out) as string[];
  // The module list is real (the shared error types are loaded), and no provider SDK is among it.
  expect(loaded.some((k) => k.includes("@ai-sdk/provider/"))).toBe(true);
  expect(loaded.filter((k) => /@ai-sdk\/(openai-compatible|anthropic|provider-utils)\//.test(k))).toEqual([]);
  // The MCP extension imports the SDK only when a server is configured (mcp.ts, at activation).
  expect(loaded.filter((k) => k.includes("@modelcontextprotocol/"))).toEqual([]);
});
