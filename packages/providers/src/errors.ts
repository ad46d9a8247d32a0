import {
  APICallError,
  InvalidPromptError,
  InvalidResponseDataError,
  JSONParseError,
  TypeValidationError,
  UnsupportedFunctionalityError,
} from "@ai-sdk/provider";
import { ProviderError } from "./contract";

/** What the mapping needs to know about the call that failed. */
export interface FailureContext {
  /** Model name, for messages. */
  model: string;
  /** Whether the stream already yielded a part: then nothing is retryable. */
  yielded: boolean;
  signal?: AbortSignal;
  /** Strings that must never appear in a message (API keys). */
  secrets: readonly string[];
  /** The credential's base URL, named when a connection fails before the SDK knows the request URL. */
  baseUrl?: string;
  /**
   * Set when the credential has no API key: where to set one (e.g. `DISPATCH_API_KEY`). A 401/403 is then
   * PROVIDER_MISSING_API_KEY naming it instead of PROVIDER_AUTH.
   */
  missingKey?: string;
}

const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ConnectionRefused",
  "ConnectionClosed",
  "FailedToOpenSocket",
  "ETIMEDOUT",
  "EPIPE",
  "UND_ERR_SOCKET",
]);
const MAX_DETAIL = 300;
/** How much of an error response's body a message carries. */
const MAX_BODY = 200;

/** Pure: maps anything thrown by (or reported inside) an AI SDK stream to a `ProviderError`. */
export function toProviderError(error: unknown, ctx: FailureContext): ProviderError {
  if (error instanceof ProviderError) return error;
  const clean = (text: string): string => truncate(redact(text, ctx.secrets));
  const transient = (yes: boolean): boolean => yes && !ctx.yielded;
  if (ctx.signal?.aborted || isAbort(error)) {
    return new ProviderError("PROVIDER_ABORTED", `request to ${ctx.model} was aborted`);
  }
  if (APICallError.isInstance(error)) {
    const status = error.statusCode;
    const url = safeUrl(error.url || ctx.baseUrl);
    // No status: the connection failed. A success status: the body failed while streaming (reset).
    if (status === undefined || status < 400) {
      return new ProviderError("PROVIDER_NETWORK", redact(connectionMessage(error, url, ctx), ctx.secrets), {
        retryable: transient(error.isRetryable),
        url,
      });
    }
    const detail = clean(httpDetail(error.message, error.responseBody));
    if (status === 429) {
      const retryAfterMs = parseRetryAfter(error.responseHeaders);
      return new ProviderError(
        "PROVIDER_RATE_LIMITED",
        `${ctx.model} is rate limited (HTTP 429 from ${url}): ${detail}`,
        {
          status,
          url,
          retryable: transient(true),
          ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
        },
      );
    }
    if ((status === 401 || status === 403) && ctx.missingKey) {
      return new ProviderError(
        "PROVIDER_MISSING_API_KEY",
        `${url} refused ${ctx.model} without an API key (HTTP ${status}): set ${ctx.missingKey}`,
        { status, url },
      );
    }
    if (status === 401 || status === 403) {
      return new ProviderError(
        "PROVIDER_AUTH",
        `${ctx.model} refused the credentials (HTTP ${status} from ${url}): ${detail}; check the API key`,
        { status, url },
      );
    }
    return new ProviderError(
      "PROVIDER_HTTP_ERROR",
      `${ctx.model} returned HTTP ${status} from ${url}: ${detail}`,
      { status, url, retryable: transient(error.isRetryable) },
    );
  }
  if (isNetworkError(error)) {
    return new ProviderError(
      "PROVIDER_NETWORK",
      redact(connectionMessage(error, safeUrl(ctx.baseUrl), ctx), ctx.secrets),
      {
        retryable: transient(true),
      },
    );
  }
  if (InvalidResponseDataError.isInstance(error) && /without a finish reason/i.test(error.message)) {
    return truncated(ctx);
  }
  if (
    JSONParseError.isInstance(error) ||
    TypeValidationError.isInstance(error) ||
    InvalidResponseDataError.isInstance(error)
  ) {
    return new ProviderError(
      "PROVIDER_BAD_RESPONSE",
      `${ctx.model} sent an invalid response: ${clean(error.message)}`,
    );
  }
  if (UnsupportedFunctionalityError.isInstance(error) || InvalidPromptError.isInstance(error)) {
    return new ProviderError(
      "PROVIDER_INVALID_REQUEST",
      `cannot send this request to ${ctx.model}: ${clean(error.message)}`,
    );
  }
  if (isStreamErrorObject(error)) {
    const retryable =
      error.isRetryable === true ||
      (typeof error.statusCode === "number" && (error.statusCode === 429 || error.statusCode >= 500)) ||
      /overload|rate.?limit|server|unavailable|timeout|api_error/i.test(
        `${error.type ?? ""} ${error.code ?? ""}`,
      );
    const kind = error.type ? ` (${error.type})` : "";
    return new ProviderError(
      "PROVIDER_STREAM_ERROR",
      `${ctx.model} reported an error${kind}: ${clean(error.message)}`,
      {
        retryable: transient(retryable),
        ...(typeof error.statusCode === "number" ? { status: error.statusCode } : {}),
      },
    );
  }
  return new ProviderError("PROVIDER_BAD_RESPONSE", `${ctx.model} failed: ${clean(messageOf(error))}`);
}

/**
 * Pure: one sentence for a failed connection, naming the URL and what to check. The SDK's own text
 * repeats its cause ("Cannot connect to API: X: X"), so only the innermost reason is kept.
 */
function connectionMessage(error: unknown, url: string, ctx: Pick<FailureContext, "model">): string {
  const code = errorCode(error);
  if (code === "ECONNREFUSED" || code === "ConnectionRefused" || code === "FailedToOpenSocket") {
    return `cannot connect to ${url} for ${ctx.model}: the connection was refused; check that the server is running and that the credential's baseUrl (host and port) is right`;
  }
  if (code === "ETIMEDOUT") {
    return `cannot connect to ${url} for ${ctx.model}: the connection timed out; check the address and the network`;
  }
  return `the connection to ${url} for ${ctx.model} failed (${code ?? innermostMessage(error)}); check that the server is running and reachable`;
}

/** Pure: an HTTP error's text: the SDK's message plus the first bytes of the body when it says more. */
function httpDetail(message: string, body: string | undefined): string {
  const head = body?.trim().slice(0, MAX_BODY);
  if (!head || message.includes(head)) return message;
  return `${message} (body: ${JSON.stringify(head)}${(body?.trim().length ?? 0) > MAX_BODY ? "…" : ""})`;
}

/** Pure: a URL without user info, query or fragment (they may hold keys); "the provider" when unknown. */
function safeUrl(url: string | undefined): string {
  if (!url) return "the provider";
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return "the provider";
  }
}

/** The errors of a cause chain, outermost first (a cycle ends it). */
function causeChain(error: unknown): Error[] {
  const chain: Error[] = [];
  for (let current: unknown = error; current instanceof Error && !chain.includes(current); ) {
    chain.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  return chain;
}

/** The first network error code (ECONNREFUSED, …) in the cause chain. */
function errorCode(error: unknown): string | undefined {
  for (const e of causeChain(error)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && NETWORK_CODES.has(code)) return code;
  }
  return undefined;
}

function innermostMessage(error: unknown): string {
  let current: unknown = error;
  while (current instanceof Error && current.cause instanceof Error && current.cause !== current)
    current = current.cause;
  return truncate(messageOf(current));
}

/** The stream ended before the response was complete (no finish, or cut mid-way). */
export function truncated(ctx: FailureContext): ProviderError {
  return new ProviderError("PROVIDER_NETWORK", `the response of ${ctx.model} ended before it was complete`, {
    retryable: !ctx.yielded,
  });
}

/**
 * Pure: replaces every occurrence of each secret, bearer tokens and the userinfo of URLs
 * (`https://user:pass@host` → `https://[redacted]@host`) with `[redacted]`. Messages end up in logs
 * and in the conversation's history (error chunks), so a base URL's credentials must not.
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join("[redacted]");
  }
  return out
    .replace(/(bearer\s+)[^\s"']+/gi, "$1[redacted]")
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]+@/gi, "$1[redacted]@");
}

/** Pure: `retry-after` (seconds or HTTP date) or `retry-after-ms` in milliseconds. */
export function parseRetryAfter(
  headers: Record<string, string> | undefined,
  now = Date.now(),
): number | undefined {
  if (!headers) return undefined;
  const ms = Number(headers["retry-after-ms"]);
  if (Number.isFinite(ms) && ms >= 0 && headers["retry-after-ms"] !== undefined) return ms;
  const value = headers["retry-after"];
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === "AbortError" || error.name === "ResponseAborted");
}

function isNetworkError(error: unknown): boolean {
  if (errorCode(error) !== undefined) return true;
  return causeChain(error).some(
    (e) => e instanceof TypeError && /fetch failed|socket|connection/i.test(e.message),
  );
}

interface StreamErrorObject {
  message: string;
  type?: string;
  code?: string | number | null;
  statusCode?: number;
  isRetryable?: boolean;
}

function isStreamErrorObject(error: unknown): error is StreamErrorObject {
  return (
    typeof error === "object" &&
    error !== null &&
    !(error instanceof Error) &&
    typeof (error as { message?: unknown }).message === "string"
  );
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "string") return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}

function truncate(text: string): string {
  return text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL)}…` : text;
}
