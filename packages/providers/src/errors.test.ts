import { expect, test } from "bun:test";
import { APICallError } from "@ai-sdk/provider";
import { parseRetryAfter, redact, toProviderError } from "./errors";

const ctx = { model: "t/m", yielded: false, secrets: ["sk-abcdef123"] };

test("pure: retry-after in seconds, as an HTTP date, and retry-after-ms", () => {
  expect(parseRetryAfter({ "retry-after": "2.5" })).toBe(2500);
  expect(parseRetryAfter({ "retry-after": new Date(10_000).toUTCString() }, 4_000)).toBe(6_000);
  expect(parseRetryAfter({ "retry-after-ms": "750", "retry-after": "9" })).toBe(750);
  expect(parseRetryAfter({ "retry-after": "soon" })).toBeUndefined();
  expect(parseRetryAfter(undefined)).toBeUndefined();
});

test("pure: redact removes known secrets and bearer tokens", () => {
  expect(redact("key sk-abcdef123 and Authorization: Bearer xyz.123", ["sk-abcdef123"])).toBe(
    "key [redacted] and Authorization: Bearer [redacted]",
  );
});

test("pure: redact removes the userinfo of URLs, also inside provider errors", () => {
  expect(redact("POST https://me:hunter2@llm.local:8080/v1/chat failed", [])).toBe(
    "POST https://[redacted]@llm.local:8080/v1/chat failed",
  );
  expect(redact("see http://token@h/x and mailto:a@b.c", [])).toBe(
    "see http://[redacted]@h/x and mailto:a@b.c",
  );
  const error = new APICallError({
    message: "Cannot connect to http://svc:s3cr3t-pass@127.0.0.1:9/v1/chat/completions",
    url: "http://svc:s3cr3t-pass@127.0.0.1:9/v1/chat/completions",
    requestBodyValues: {},
  });
  const mapped = toProviderError(error, { model: "m", yielded: false, secrets: [] });
  expect(mapped.message).not.toContain("s3cr3t-pass");
  expect(mapped.message).toContain("http://[redacted]@127.0.0.1:9");
});

test("pure: transient failures are retryable only before anything was yielded", () => {
  const error = new APICallError({ message: "busy", url: "u", requestBodyValues: {}, statusCode: 503 });
  expect(toProviderError(error, ctx)).toMatchObject({
    code: "PROVIDER_HTTP_ERROR",
    status: 503,
    retryable: true,
  });
  expect(toProviderError(error, { ...ctx, yielded: true })).toMatchObject({ retryable: false });
});

test("pure: a secret cut by truncation cannot leak a prefix", () => {
  const long = `${"x".repeat(295)}sk-abcdef123`;
  const error = new APICallError({ message: long, url: "u", requestBodyValues: {}, statusCode: 400 });
  expect(toProviderError(error, ctx).message).not.toContain("sk-ab");
});

test("pure: an aborted signal wins over whatever was thrown", () => {
  const controller = new AbortController();
  controller.abort();
  expect(toProviderError(new Error("socket closed"), { ...ctx, signal: controller.signal })).toMatchObject({
    code: "PROVIDER_ABORTED",
    retryable: false,
  });
});
