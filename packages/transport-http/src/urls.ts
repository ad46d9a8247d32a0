/** Pure URL and header helpers of the HTTP shell. */
import { corsHeaders } from "@dispatch/connection-policy";

/** Pure: the origins a browser page served by this daemon's HTTP port would send. */
export function ownOrigins(host: string, port: number): string[] {
  const names = new Set([
    "127.0.0.1",
    "localhost",
    host.includes(":") && !host.startsWith("[") ? `[${host}]` : host,
  ]);
  return [...names].map((n) => `http://${n}:${port}`);
}

/** Pure: the path of a request URL as sent (before any decoding), without the query. */
export function rawPathname(url: string): string {
  const afterScheme = url.indexOf("//");
  const start = url.indexOf("/", afterScheme === -1 ? 0 : afterScheme + 2);
  if (start === -1) return "/";
  const end = url.search(/[?#]/);
  return end === -1 || end < start ? url.slice(start) : url.slice(start, end);
}

/** Adds the CORS headers for an allowed `origin` (none for a non-browser request). */
export function withCors(res: Response, origin: string | undefined): Response {
  if (origin === undefined) return res;
  for (const [k, v] of Object.entries(corsHeaders(origin))) res.headers.set(k, v);
  res.headers.append("Access-Control-Expose-Headers", "X-Conversation-Id, X-Turn-Id");
  return res;
}
