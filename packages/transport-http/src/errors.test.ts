import { expect, test } from "bun:test";
import { checkContentLength, checkContentType, readBodyText } from "./body";
import { errorResponse, failureFrom, internalFailure, statusForCode } from "./errors";

test("statusForCode maps service and protocol codes", () => {
  expect(statusForCode("ORCH_TURN_RUNNING")).toBe(409);
  expect(statusForCode("ORCH_QUEUE_FULL")).toBe(429);
  expect(statusForCode("ORCH_CONVERSATION_CLOSED")).toBe(409);
  expect(statusForCode("STORE_UNKNOWN_CONVERSATION")).toBe(404);
  expect(statusForCode("ORCH_UNKNOWN_PERMISSION_REQUEST")).toBe(404);
  expect(statusForCode("PROTOCOL_INVALID_FIELD")).toBe(400);
  expect(statusForCode("PROTOCOL_INVALID_JSON")).toBe(400);
  expect(statusForCode("PROTOCOL_TOO_LARGE")).toBe(413);
  expect(statusForCode("ORCH_UNKNOWN_MODEL")).toBe(400);
  expect(statusForCode("STORE_WRITE_FAILED")).toBe(500);
  // Fallbacks for codes added later.
  expect(statusForCode("FOO_UNKNOWN_CONVERSATION")).toBe(404);
  expect(statusForCode("FOO_ALREADY_RUNNING")).toBe(409);
  expect(statusForCode("FOO_INVALID_THING")).toBe(400);
  expect(statusForCode("SOMETHING_ELSE")).toBe(500);
});

test("error bodies are { error, code }; internal failures carry only a request id", async () => {
  const res = errorResponse(
    failureFrom({ code: "ORCH_TURN_RUNNING", message: "a turn is already generating" }),
  );
  expect(res.status).toBe(409);
  expect(await res.json()).toEqual({ error: "a turn is already generating", code: "ORCH_TURN_RUNNING" });
  const internal = internalFailure("req-7");
  expect(internal.status).toBe(500);
  expect(internal.message).toContain("req-7");
});

test("content-length above the cap is refused up front", () => {
  expect(checkContentLength("11", 10)?.status).toBe(413);
  expect(checkContentLength("10", 10)).toBeUndefined();
  expect(checkContentLength(null, 10)).toBeUndefined();
});

test("readBodyText caps streamed bodies without Content-Length", async () => {
  const big = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < 4; i++) c.enqueue(new Uint8Array(8));
      c.close();
    },
  });
  const r = await readBodyText(new Request("http://x/", { method: "POST", body: big }), 16);
  expect(r.ok).toBe(false);
  if (!r.ok) expect(r.failure).toMatchObject({ status: 413, code: "HTTP_BODY_TOO_LARGE" });
  const json = { "content-type": "application/json" };
  const ok = await readBodyText(
    new Request("http://x/", { method: "POST", body: '{"a":"é"}', headers: json }),
    100,
  );
  expect(ok).toEqual({ ok: true, text: '{"a":"é"}' });
  const bad = await readBodyText(
    new Request("http://x/", { method: "POST", body: new Uint8Array([0xff, 0xfe]), headers: json }),
    100,
  );
  expect(bad.ok).toBe(false);
});

test("pure: a body must be application/json (parameters allowed); no body needs no type", () => {
  const h = (o: Record<string, string>) => new Headers(o);
  expect(
    checkContentType(h({ "content-length": "2", "content-type": "application/json; charset=utf-8" })),
  ).toBe(undefined);
  expect(checkContentType(h({ "content-length": "0" }))).toBeUndefined();
  expect(checkContentType(h({}))).toBeUndefined();
  const bads: Record<string, string>[] = [
    { "content-length": "2", "content-type": "text/plain" },
    { "transfer-encoding": "chunked" },
  ];
  for (const bad of bads) {
    expect(checkContentType(h(bad))).toMatchObject({ status: 415, code: "HTTP_UNSUPPORTED_MEDIA_TYPE" });
  }
});
