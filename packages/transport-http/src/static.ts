/**
 * `[web] root`: the HTTP port serves a single-page app from one folder. Guarantees:
 * - nothing outside the folder: `..` segments, encoded slashes or backslashes, NUL and other control
 *   characters are refused (400) before the file system is touched; symlinks are resolved and a target
 *   outside the (real) root is 404, like a missing file;
 * - no directory listing: a folder is never listed (its `index.html` or the SPA fallback instead);
 * - unknown paths that accept HTML get `index.html` (client-side routing); others 404;
 * - caching: `index.html` is `no-cache`; names with a content hash (`app-3f9a1c2b.js`) are immutable
 *   for a year; everything else revalidates with an ETag (size + mtime).
 */
import { realpathSync, statSync } from "node:fs";
import { join, sep } from "node:path";
import type { HttpFailure } from "./errors";

/** Pure: the safe relative path of a raw URL path, or why it is refused. */
export function staticPath(rawPath: string): { ok: true; rel: string } | { ok: false; failure: HttpFailure } {
  const bad = (message: string) => ({
    ok: false as const,
    failure: { status: 400, code: "HTTP_INVALID_PATH", message },
  });
  if (/%2f|%5c/i.test(rawPath)) return bad("encoded slashes are not allowed in a path");
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return bad("malformed percent-encoding in the path");
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f\\]/.test(decoded)) return bad("control characters or backslashes in the path");
  const segments = decoded.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.includes("..")) return bad("`..` is not allowed in a path");
  return { ok: true, rel: segments.join("/") };
}

/** Pure: the Cache-Control for a served file. */
export function cacheControl(rel: string): string {
  if (rel === "index.html" || rel.endsWith("/index.html")) return "no-cache";
  const base = rel.slice(rel.lastIndexOf("/") + 1);
  return /[.-][A-Za-z0-9_]{8,}\.[a-z0-9]+$/.test(base) && /\d/.test(base)
    ? "public, max-age=31536000, immutable"
    : "no-cache";
}

/** Resolves the web root once (startup); throws with the key's name when it is not a folder. */
export function resolveWebRoot(root: string): string {
  let real: string;
  try {
    real = realpathSync(root);
  } catch {
    throw new Error(`[web] root: folder not found: ${root}`);
  }
  if (!statSync(real).isDirectory()) throw new Error(`[web] root: not a folder: ${root}`);
  return real;
}

/** A file inside the root (symlinks resolved and re-checked), or undefined. */
function fileInside(root: string, rel: string): { path: string; size: number; mtimeMs: number } | undefined {
  try {
    const real = realpathSync(join(root, rel));
    if (real !== root && !real.startsWith(root + sep)) return undefined;
    let st = statSync(real);
    let path = real;
    if (st.isDirectory()) {
      path = join(real, "index.html");
      st = statSync(path);
    }
    return st.isFile() ? { path, size: st.size, mtimeMs: st.mtimeMs } : undefined;
  } catch {
    return undefined;
  }
}

function notFound(pathname: string): HttpFailure {
  return { status: 404, code: "HTTP_NOT_FOUND", message: `no route or file ${pathname}` };
}

/** Serves GET/HEAD `pathname` from `root` (already resolved with `resolveWebRoot`). */
export function serveStatic(
  root: string,
  req: Request,
  rawPath: string,
): { ok: true; response: Response } | { ok: false; failure: HttpFailure } {
  const p = staticPath(rawPath);
  if (!p.ok) return p;
  let rel = p.rel;
  let file = rel === "" ? undefined : fileInside(root, rel);
  if (file === undefined) {
    const wantsHtml = rel === "" || (req.headers.get("accept") ?? "").includes("text/html");
    if (!wantsHtml) return { ok: false, failure: notFound(rawPath) };
    rel = "index.html";
    file = fileInside(root, rel);
    if (file === undefined) return { ok: false, failure: notFound(rawPath) };
  }
  const etag = `"${file.size.toString(36)}-${Math.floor(file.mtimeMs).toString(36)}"`;
  const headers: Record<string, string> = {
    ETag: etag,
    "Cache-Control": cacheControl(file.path.endsWith(`${sep}index.html`) ? "index.html" : rel),
    "X-Content-Type-Options": "nosniff",
  };
  if (req.headers.get("if-none-match") === etag) {
    return { ok: true, response: new Response(null, { status: 304, headers }) };
  }
  const body = Bun.file(file.path);
  headers["Content-Type"] = body.type || "application/octet-stream";
  return { ok: true, response: new Response(req.method === "HEAD" ? null : body, { headers }) };
}
