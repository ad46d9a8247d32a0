/**
 * The share viewer page in a real browser (headless Chromium) against a real daemon: opened at a
 * share's url, it shows the history and a live turn as it streams, and says "revoked" once the share
 * is revoked (the daemon closes its socket with 4403); a socket lost mid-turn is reconnected and the
 * turn resumed with every word once.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type RunningTestDaemon, reap, startDaemon, tempHome, WsClient } from "@dispatch/daemon/test-support";
import { CHROMIUM, type DevtoolsPage, haveChromium, visitWithDevtools } from "./support/chromium";

if (!haveChromium) console.warn(`viewer page tests skipped: no Chromium at ${CHROMIUM}`);

let daemon: RunningTestDaemon;
let owner: WsClient;
const A = crypto.randomUUID();

/** Polls the page until `expression` is truthy; its value. */
async function until(page: DevtoolsPage, expression: string, what: string, ms = 20_000): Promise<unknown> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    last = await page.evaluate(expression);
    if (last) return last;
    await Bun.sleep(100);
  }
  const body = await page.evaluate("document.body.innerText");
  throw new Error(
    `timed out after ${ms} ms waiting for ${what}; the page shows:\n${String(body).slice(0, 1500)}`,
  );
}

async function send(message: string, model: string): Promise<void> {
  const id = crypto.randomUUID();
  owner.ws.send(JSON.stringify({ type: "chat.send", id, conversationId: A, model, message }));
  await owner.next((f) => f.replyTo === id, "the turn's ack");
}

const sealedAfter = (from: number) =>
  owner.next(
    (f) =>
      f.type === "chat.delta" &&
      (f.event as { type: string }).type === "turn-sealed" &&
      owner.frames.indexOf(f) >= from,
    "turn-sealed",
    60_000,
  );

describe.skipIf(!haveChromium)("the viewer page", () => {
  beforeAll(async () => {
    daemon = await startDaemon(await tempHome());
    owner = new WsClient(`ws://127.0.0.1:${daemon.info.wsPort}`, [`dispatch.token.${daemon.token}`]);
    await owner.next((f) => f.type === "catalog", "the owner's catalog");
    const from = owner.frames.length;
    await send("an earlier question", "local/echo");
    await sealedAfter(from);
  });
  afterAll(async () => {
    owner?.ws.close();
    await daemon?.stop().catch(() => reap(daemon));
  });

  test("shows the history and a live turn, then 'revoked' when the share is revoked", async () => {
    const res = await daemon.api(`/conversations/${A}/shares`, { method: "POST", body: "{}" });
    const share = (await res.json()) as { shareId: string; url: string };
    const page = await visitWithDevtools(share.url, await tempHome());
    try {
      await until(page, `document.getElementById("status").dataset.state === "live"`, "the page to go live");
      await until(
        page,
        `document.getElementById("history").textContent.includes("an earlier question")`,
        "the history",
      );
      const words = Array.from({ length: 80 }, (_, i) => `word${i}`).join(" ");
      const from = owner.frames.length;
      await send(`live question ${words}`, "local/slow");
      const seen = (await until(
        page,
        `(() => { const t = document.getElementById("live").textContent; return t.includes("live question") && t.includes("word1") ? t : ""; })()`,
        "the live turn on the page",
      )) as string;
      // Seen while the turn still runs: the last word has not streamed yet.
      expect(seen).not.toContain("word79 word79");
      await sealedAfter(from);
      await until(
        page,
        `document.getElementById("history").textContent.includes("word79") && document.getElementById("live").children.length === 0`,
        "the sealed turn moved into the history",
      );
      // The secret stays in the fragment: the page never put it in the DOM.
      const dom = String(await page.evaluate("document.documentElement.outerHTML"));
      expect(dom).not.toContain(share.url.split("#")[1] as string);
      await daemon.api(`/shares/${share.shareId}`, { method: "DELETE" });
      const status = await until(
        page,
        `(() => { const s = document.getElementById("status"); return s.dataset.state === "ended" ? s.textContent : ""; })()`,
        "the page to show the share ended",
      );
      expect(status).toContain("revoked");
    } finally {
      await page.kill();
    }
  });

  test("a socket lost mid-turn: the page reconnects and resumes the turn, every word once", async () => {
    const res = await daemon.api(`/conversations/${A}/shares`, { method: "POST", body: "{}" });
    const share = (await res.json()) as { shareId: string; url: string };
    const page = await visitWithDevtools(share.url, await tempHome());
    try {
      // Keep a handle on the page's sockets (its own script holds them in a closure), then reload.
      await page.send("Page.enable");
      await page.send("Page.addScriptToEvaluateOnNewDocument", {
        source: `(() => { const W = window.WebSocket; window.__sockets = [];
          window.WebSocket = class extends W { constructor(...a) { super(...a); window.__sockets.push(this); } }; })()`,
      });
      await page.send("Page.reload");
      await until(
        page,
        `window.__sockets?.length >= 1 && document.getElementById("status").dataset.state === "live"`,
        "the reloaded page to go live",
      );
      const words = Array.from({ length: 150 }, (_, i) => `word${i}`).join(" ");
      const from = owner.frames.length;
      await send(`resumed question ${words}`, "local/slow");
      const answer = `(document.querySelector('#live [data-kind="assistant"] .body')?.textContent ?? "")`;
      await until(page, `${answer}.includes("word20 ")`, "twenty words of the answer");
      await page.evaluate("window.__sockets[0].close()");
      await until(
        page,
        `window.__sockets.length >= 2 && document.getElementById("status").dataset.state === "live"`,
        "the page to reconnect",
      );
      const text = String(
        await until(page, `${answer}.includes("word120 ") && ${answer}`, "the answer after the reconnect"),
      );
      // Still the live turn (not the history's copy of it), and each word once, in order.
      const seen = [...text.matchAll(/word(\d+)/g)].map((m) => Number(m[1]));
      expect(seen.slice(0, 121)).toEqual(Array.from({ length: 121 }, (_, i) => i));
      await sealedAfter(from);
    } finally {
      await page.kill();
    }
  }, 90_000);
});
