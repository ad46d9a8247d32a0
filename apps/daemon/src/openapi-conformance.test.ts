/**
 * The OpenAPI document says what the server does: a corpus of requests is replayed against the real
 * daemon (a subprocess) and every answer is checked against the document the daemon serves, with a
 * third-party validator (ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses it): the status must be listed
 * for the operation, and the body must match its schema (NDJSON line by line). Any violation fails.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { type RunningTestDaemon, reap, startDaemon, tempHome, writeConfig } from "./test-support";

setDefaultTimeout(60_000);

type Json = Record<string, unknown>;
interface Probe {
  method: string;
  path: string;
  body?: unknown;
  /** Raw body text (sent as is). */
  raw?: string;
  headers?: Record<string, string>;
  auth?: boolean;
  /** The status this probe is meant to provoke (the test also checks the server really answers it). */
  expect: number;
}

const MAX_BODY = 4096;
let d: RunningTestDaemon;
let spec: Json;

beforeAll(async () => {
  const home = await tempHome();
  await writeConfig(home, `[http]\nmaxBodyBytes = ${MAX_BODY}\n`);
  d = await startDaemon(home);
  spec = (await (await d.api("/openapi.json", { auth: false })).json()) as Json;
});
afterAll(() => reap(d));

/** The operation and the path template a concrete request path matches. */
function operationFor(method: string, path: string): { template: string; op: Json } | undefined {
  const paths = spec.paths as Record<string, Record<string, Json>>;
  for (const [template, item] of Object.entries(paths)) {
    const re = new RegExp(`^${template.replace(/\{\w+\}/g, "[^/]+")}$`);
    const op = item[method.toLowerCase()];
    if (re.test(path) && op) return { template, op };
  }
  return undefined;
}

function pointer(...segments: string[]): string {
  return segments.map((s) => encodeURIComponent(s.replace(/~/g, "~0").replace(/\//g, "~1"))).join("/");
}

/** ajv over the whole document: schemas are addressed by JSON pointer, so their `$ref`s resolve. */
function validatorOf(doc: Json) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ ...doc, $id: "spec" });
  return ajv;
}

async function replay(
  probes: Probe[],
  chat: { conversationId: string },
): Promise<{ violations: string[]; checked: number }> {
  const ajv = validatorOf(spec);
  const violations: string[] = [];
  let checked = 0;
  for (const p of probes) {
    const path = p.path.replace(":cid", chat.conversationId);
    const label = `${p.method} ${path}`;
    const found = operationFor(p.method, path.split("?")[0] as string);
    if (!found) {
      violations.push(`${label}: no operation in the document`);
      continue;
    }
    const headers: Record<string, string> = { ...p.headers };
    const body = p.raw ?? (p.body === undefined ? undefined : JSON.stringify(p.body));
    if (body !== undefined && !headers["content-type"]) headers["content-type"] = "application/json";
    const res = await d.api(path, {
      method: p.method,
      headers,
      ...(body !== undefined ? { body } : {}),
      auth: p.auth ?? true,
    });
    if (res.status !== p.expect) violations.push(`${label}: expected ${p.expect}, got ${res.status}`);
    const responses = found.op.responses as Record<string, Json>;
    const declared = responses[String(res.status)];
    if (!declared) {
      violations.push(`${label}: status ${res.status} is not listed for ${found.template}`);
      await res.text();
      continue;
    }
    let where = ["paths", found.template, p.method.toLowerCase(), "responses", String(res.status)];
    let response = declared;
    if (typeof declared.$ref === "string") {
      const name = (declared.$ref as string).split("/").pop() as string;
      response = ((spec.components as Json).responses as Record<string, Json>)[name] as Json;
      where = ["components", "responses", name];
    }
    const content = (response.content ?? {}) as Record<string, Json>;
    const type = res.headers.get("content-type")?.split(";")[0]?.trim() ?? "";
    if (!content[type]) {
      violations.push(
        `${label}: content type "${type}" is not listed (have ${Object.keys(content).join(", ")})`,
      );
      await res.text();
      continue;
    }
    const validate = ajv.getSchema(`spec#/${pointer(...where, "content", type, "schema")}`);
    if (!validate) throw new Error(`${label}: cannot compile the response schema`);
    const text = await res.text();
    const values =
      type === "application/x-ndjson"
        ? text
            .split("\n")
            .filter((l) => l.trim() !== "")
            .map((l) => JSON.parse(l) as unknown)
        : type === "application/json"
          ? [JSON.parse(text) as unknown]
          : [text];
    for (const [i, value] of values.entries()) {
      checked++;
      if (!validate(value)) violations.push(`${label} [${i}]: ${ajv.errorsText(validate.errors)}`);
    }
  }
  return { violations, checked };
}

test("every answer of the corpus is listed and matches the served document", async () => {
  // A conversation to act on: one finished turn with the offline model.
  const started = await d.api("/chat", { method: "POST", body: JSON.stringify({ message: "hello" }) });
  const conversationId = started.headers.get("x-conversation-id") as string;
  await started.text();
  const long = "x".repeat(201);
  const probes: Probe[] = [
    { method: "GET", path: "/health", auth: false, expect: 200 },
    { method: "GET", path: "/metrics", auth: false, expect: 200 },
    { method: "GET", path: "/openapi.json", auth: false, expect: 200 },
    { method: "GET", path: "/protocol.json", auth: false, expect: 200 },
    { method: "GET", path: "/models", expect: 200 },
    { method: "GET", path: "/mcp/servers", expect: 200 },
    { method: "GET", path: "/mcp/servers", auth: false, expect: 401 },
    { method: "GET", path: "/models", auth: false, expect: 401 },
    { method: "GET", path: "/models", headers: { host: "evil.example" }, expect: 403 },
    { method: "POST", path: "/chat", body: { message: "/long 3\nagain" }, expect: 200 },
    { method: "POST", path: "/chat", body: {}, expect: 400 },
    { method: "POST", path: "/chat", body: { message: "  \n " }, expect: 400 },
    { method: "POST", path: "/chat", raw: "{nope", expect: 400 },
    { method: "POST", path: "/chat", body: { message: "x".repeat(MAX_BODY) }, expect: 413 },
    {
      method: "POST",
      path: "/chat",
      body: { message: "hi" },
      headers: { "content-type": "text/plain" },
      expect: 415,
    },
    { method: "POST", path: "/chat", body: { conversationId, message: "hi", model: "nope/x" }, expect: 400 },
    { method: "GET", path: "/conversations?limit=2", expect: 200 },
    { method: "GET", path: "/conversations?limit=0", expect: 400 },
    { method: "GET", path: "/conversations?status=idle,closed", expect: 200 },
    { method: "GET", path: "/conversations?status=bogus", expect: 400 },
    { method: "GET", path: "/conversations/:cid", expect: 200 },
    { method: "GET", path: "/conversations/:cid?sinceSeq=0&limit=1", expect: 200 },
    { method: "GET", path: "/conversations/:cid?beforeSeq=0", expect: 400 },
    { method: "GET", path: `/conversations/${long}`, expect: 400 },
    { method: "GET", path: "/conversations/:cid/status", expect: 200 },
    { method: "GET", path: "/conversations/:cid/events?waitMs=0&protocol=2", expect: 200 },
    { method: "GET", path: "/conversations/:cid/events?waitMs=0&after=nope", expect: 400 },
    { method: "GET", path: "/conversations/:cid/events?waitMs=30001", expect: 400 },
    { method: "GET", path: "/events?channel=**", expect: 400 },
    {
      method: "GET",
      path: "/events?channel=conversation:x",
      headers: { accept: "application/json" },
      expect: 406,
    },
    { method: "GET", path: "/conversations/unknown-id/status", expect: 404 },
    { method: "GET", path: `/conversations/${long}/status`, expect: 400 },
    { method: "POST", path: "/conversations/:cid/open", expect: 200 },
    { method: "POST", path: "/conversations/:cid/stop", expect: 200 },
    { method: "POST", path: "/conversations/:cid/queue", body: { text: "/slow 1\nqueued" }, expect: 200 },
    { method: "POST", path: "/conversations/:cid/queue", body: { text: "  " }, expect: 400 },
    { method: "DELETE", path: "/conversations/:cid/queue/no-such-message", expect: 200 },
    { method: "GET", path: "/conversations/:cid/model", expect: 200 },
    { method: "PUT", path: "/conversations/:cid/model", body: { model: "local/slow" }, expect: 200 },
    { method: "PUT", path: "/conversations/:cid/model", body: { model: "nope/x" }, expect: 400 },
    { method: "GET", path: "/conversations/:cid/title", expect: 200 },
    { method: "PUT", path: "/conversations/:cid/title", body: { title: "T" }, expect: 200 },
    { method: "GET", path: "/conversations/:cid/cwd", expect: 200 },
    { method: "PUT", path: "/conversations/:cid/cwd", body: { cwd: "/tmp" }, expect: 200 },
    { method: "GET", path: "/conversations/:cid/reasoning-effort", expect: 200 },
    {
      method: "PUT",
      path: "/conversations/:cid/reasoning-effort",
      body: { reasoningEffort: "low" },
      expect: 200,
    },
    {
      method: "PUT",
      path: "/conversations/:cid/reasoning-effort",
      body: { reasoningEffort: "huge" },
      expect: 400,
    },
    {
      method: "POST",
      path: "/conversations/:cid/permissions/no-such",
      body: { decision: "allow" },
      expect: 404,
    },
    { method: "POST", path: "/conversations/:cid/compact", body: { keepLastN: 100 }, expect: 409 },
    { method: "POST", path: "/conversations/:cid/close", expect: 200 },
    { method: "POST", path: "/conversations/:cid/queue", body: { text: "late" }, expect: 409 },
  ];
  const { violations, checked } = await replay(probes, { conversationId });
  expect(violations).toEqual([]);
  // Every probe's body was validated (NDJSON streams count once per line).
  expect(checked).toBeGreaterThan(probes.length);
  // And the validator does reject what the document forbids.
  const health = validatorOf(spec).getSchema("spec#/components/schemas/HealthResponse");
  expect(health?.({ ok: true, version: "1", uptimeSec: -1, activeTurns: 0, store: "ok" })).toBe(false);
});

test("the served document names the daemon's real URL and requires the token", () => {
  expect(spec.servers).toEqual([{ url: d.base }]);
  expect(spec.security).toEqual([{ bearerAuth: [] }]);
  const paths = spec.paths as Record<string, Record<string, Json>>;
  const params = (paths["/conversations"]?.get?.parameters ?? []) as Json[];
  const limit = params.find((p) => p.name === "limit");
  expect(limit?.schema).toEqual({ type: "integer", minimum: 1, maximum: 10_000 });
  expect(paths["/health"]?.get?.security).toEqual([{}, { bearerAuth: [] }]);
});
