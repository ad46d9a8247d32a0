import type { HttpFailure } from "./errors";

export type BodyText = { ok: true; text: string } | { ok: false; failure: HttpFailure };

function tooLarge(maxBytes: number): HttpFailure {
  return {
    status: 413,
    code: "HTTP_BODY_TOO_LARGE",
    message: `request body is larger than ${maxBytes} bytes`,
  };
}

/** Pure: a declared Content-Length above the cap is refused before reading anything. */
export function checkContentLength(header: string | null, maxBytes: number): HttpFailure | undefined {
  if (header === null) return undefined;
  const n = Number(header);
  return Number.isFinite(n) && n > maxBytes ? tooLarge(maxBytes) : undefined;
}

/**
 * Pure: a request that carries a body must say it is JSON (`application/json`, parameters allowed).
 * Besides honesty, this keeps browsers' "simple" cross-site posts (text/plain forms) out of the API.
 */
export function checkContentType(headers: Headers): HttpFailure | undefined {
  const length = headers.get("content-length");
  const hasBody = (length !== null && length.trim() !== "0") || headers.get("transfer-encoding") !== null;
  if (!hasBody) return undefined;
  const type = headers.get("content-type")?.split(";")[0]?.trim().toLowerCase();
  if (type === "application/json") return undefined;
  return {
    status: 415,
    code: "HTTP_UNSUPPORTED_MEDIA_TYPE",
    message: `request body must be application/json (got ${type ? `"${type}"` : "no Content-Type"})`,
  };
}

/**
 * Reads a UTF-8 body of at most `maxBytes`, counted while streaming so a chunked body without
 * Content-Length is capped too (413). JSON decoding and validation are the protocol parsers' job.
 */
export async function readBodyText(req: Request, maxBytes: number): Promise<BodyText> {
  const unsupported = checkContentType(req.headers);
  if (unsupported) return { ok: false, failure: unsupported };
  const declared = checkContentLength(req.headers.get("content-length"), maxBytes);
  if (declared) return { ok: false, failure: declared };
  if (req.body === null) return { ok: true, text: "" };
  const parts: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      return { ok: false, failure: tooLarge(maxBytes) };
    }
    parts.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const p of parts) {
    bytes.set(p, offset);
    offset += p.byteLength;
  }
  try {
    return { ok: true, text: new TextDecoder("utf-8", { fatal: true }).decode(bytes) };
  } catch {
    return {
      ok: false,
      failure: { status: 400, code: "HTTP_INVALID_BODY", message: "request body is not valid UTF-8" },
    };
  }
}
