/**
 * The share viewer page (PROTOCOL.md §8): plain HTML, a stylesheet and a small script, no build step.
 * The daemon serves it at a share's `url` (`/s/<shareId>#<secret>`), and a relay can serve the same
 * files. The secret stays in the URL fragment (never sent); the page presents it itself.
 *
 * Guarantees: the files are embedded at bundle time (the single binary carries them); the page
 * renders text only (no HTML from the conversation); `viewerPage` names the WebSocket URL when it is
 * not the page's own origin, and the Content-Security-Policy allows exactly that.
 */

import html from "./index.html" with { type: "text" };
import css from "./viewer.css" with { type: "text" };
import js from "./viewer.js" with { type: "text" };

/** Where the page's assets are served (`/viewer/<name>`). */
export const VIEWER_ASSET_PREFIX = "/viewer/";

/** Pure: the page's HTML and its security headers. `wsUrl`: the WebSocket endpoint, when not this origin. */
export function viewerPage(opts: { wsUrl?: string } = {}): { html: string; headers: Record<string, string> } {
  const meta =
    opts.wsUrl === undefined ? "" : `<meta name="dispatch-ws" content="${escapeAttribute(opts.wsUrl)}">`;
  const connect = opts.wsUrl === undefined ? "'self'" : `'self' ${new URL(opts.wsUrl).origin}`;
  return {
    html: (html as unknown as string).replace("<!--DISPATCH_META-->", meta),
    headers: {
      "Content-Type": "text/html; charset=utf-8",
      "Content-Security-Policy": `default-src 'none'; script-src 'self'; style-src 'self'; connect-src ${connect}; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
      "Referrer-Policy": "no-referrer",
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
    },
  };
}

const ASSETS: Record<string, { body: string; type: string }> = {
  "viewer.js": { body: js as unknown as string, type: "text/javascript; charset=utf-8" },
  "viewer.css": { body: css as unknown as string, type: "text/css; charset=utf-8" },
};

/** Pure: an asset by name (`viewer.js`, `viewer.css`), or undefined. */
export function viewerAsset(name: string): { body: string; headers: Record<string, string> } | undefined {
  const a = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
  if (a === undefined) return undefined;
  return {
    body: a.body,
    headers: { "Content-Type": a.type, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache" },
  };
}

function escapeAttribute(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
}
