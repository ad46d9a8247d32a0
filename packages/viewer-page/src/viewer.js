// The read-only viewer of a shared conversation (PROTOCOL.md §8). No build step: plain DOM, text
// only (never innerHTML). The secret lives in the URL fragment, which the browser never sends; it is
// presented as `Authorization: Share` to the HTTP API and as the `dispatch.share.<secret>` subprotocol.
(() => {
  const secret = decodeURIComponent(location.hash.slice(1));
  const meta = document.querySelector('meta[name="dispatch-ws"]');
  const wsUrl = meta ? meta.content : `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}`;
  const $ = (id) => document.getElementById(id);
  const historyEl = $("history");
  const liveEl = $("live");

  let conversationId;
  let chunks = [];
  /** The turn being watched: its id, the last event number, its blocks. */
  let live;
  let lastN;
  let ended = false;
  let attempt = 0;
  let ws;

  function status(text, state) {
    const el = $("status");
    el.textContent = text;
    el.dataset.state = state;
  }

  function block(kind, label, text) {
    const div = document.createElement("div");
    div.className = `msg ${kind}`;
    if (label) {
      const l = document.createElement("span");
      l.className = "label";
      l.textContent = label;
      div.append(l);
    }
    const body = document.createElement("span");
    body.className = "body";
    body.textContent = text;
    div.append(body);
    return div;
  }

  const json = (v) => {
    try {
      return typeof v === "string" ? v : JSON.stringify(v, null, 2);
    } catch {
      return String(v);
    }
  };

  function chunkBlock(c) {
    const k = c.chunk;
    switch (k.type) {
      case "text":
        return block(
          c.role === "user" ? "user" : c.role === "system" ? "system" : "assistant",
          c.role,
          k.text,
        );
      case "thinking":
        return block("reasoning", "reasoning", k.text);
      case "tool-call":
        return block("tool", `tool call: ${k.toolName}`, json(k.input));
      case "tool-result": {
        const b = block(`tool${k.isError ? " failed" : ""}`, `result: ${k.toolName}`, json(k.content));
        return b;
      }
      case "error":
        return block("error", "error", k.message);
      case "system":
        return block("system", "system", k.text);
      case "image":
        return block("user", "image", k.url);
      default:
        return block("system", k.type, json(k));
    }
  }

  /** History, without what the live turn shows itself (its prompt and persisted steps). */
  function render() {
    let shown = chunks;
    if (live && live.userText !== undefined) {
      for (let i = chunks.length - 1; i >= 0; i--) {
        const c = chunks[i];
        if (c.role === "user" && c.chunk.type === "text" && c.chunk.text === live.userText) {
          shown = chunks.slice(0, i);
          break;
        }
      }
    }
    historyEl.replaceChildren(...shown.map(chunkBlock));
    liveEl.replaceChildren(...(live ? live.blocks : []));
  }

  function append(kind, label, text) {
    const b = block(kind, label, text);
    live.blocks.push(b);
    liveEl.append(b);
    return b;
  }

  /** Appends a delta to the turn's last block of `kind`, or starts one. */
  function delta(kind, label, text) {
    const last = live.blocks[live.blocks.length - 1];
    if (last && last.dataset.kind === kind) {
      last.querySelector(".body").textContent += text;
      return;
    }
    append(kind, label, text).dataset.kind = kind;
  }

  function onEvent(e, n) {
    if (e.type === "status" || e.turnId === undefined) return;
    if (!live || live.turnId !== e.turnId) {
      live = { turnId: e.turnId, blocks: [] };
      render();
    }
    if (typeof n === "number") lastN = n;
    switch (e.type) {
      case "user-message":
        live.userText = e.text;
        render();
        live.blocks.unshift(block("user", "user", e.text));
        liveEl.prepend(live.blocks[0]);
        return;
      case "text-delta":
        return delta("assistant", "assistant", e.delta);
      case "reasoning-delta":
        return delta("reasoning", "reasoning", e.delta);
      case "tool-call":
        return void append("tool", `tool call: ${e.toolName}`, json(e.input));
      case "tool-output":
        return delta(`tool output-${e.toolCallId}`, `output: ${e.stream}`, e.data);
      case "tool-result":
        return void append(`tool${e.isError ? " failed" : ""}`, `result: ${e.toolName}`, json(e.content));
      case "permission-request":
        return void append("system", "waiting for permission", `${e.toolName}: ${e.reason}`);
      case "steering":
        return void append("user", "steering", e.text);
      case "error":
        return void append("error", "error", e.message);
      case "turn-sealed":
        live = undefined;
        lastN = undefined;
        void loadHistory();
        return;
      default:
        return;
    }
  }

  async function api(path) {
    const res = await fetch(path, { headers: { Authorization: `Share ${secret}` }, cache: "no-store" });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw Object.assign(new Error(body.error || `HTTP ${res.status}`), { status: res.status });
    return body;
  }

  async function loadHistory() {
    try {
      const body = await api(`/conversations/${encodeURIComponent(conversationId)}`);
      chunks = body.chunks;
      render();
    } catch (err) {
      fail(err);
    }
  }

  function fail(err) {
    if (ended) return;
    if (err.status === 401 || err.status === 403 || err.status === 429) finish(err.message);
  }

  function finish(text) {
    ended = true;
    document.body.classList.add("ended");
    status(text, "ended");
    if (ws && ws.readyState <= 1) ws.close(1000);
  }

  function connect() {
    if (ended) return;
    status(attempt === 0 ? "connecting" : "reconnecting", "connecting");
    ws = new WebSocket(wsUrl, [`dispatch.share.${secret}`]);
    ws.onopen = () =>
      ws.send(
        JSON.stringify({ type: "hello", protocol: 2, client: { name: "dispatch-viewer", version: "1" } }),
      );
    ws.onmessage = (m) => {
      let msg;
      try {
        msg = JSON.parse(m.data);
      } catch {
        return;
      }
      if (msg.type === "hello" && msg.share) {
        attempt = 0;
        conversationId = msg.share.conversationId;
        const sub = { type: "chat.subscribe", id: "sub", conversationId };
        if (live && lastN !== undefined) sub.resume = { turnId: live.turnId, n: lastN };
        ws.send(JSON.stringify(sub));
      } else if (msg.type === "ack" && msg.replyTo === "sub") {
        status("live", "live");
        void reconcile();
      } else if (msg.type === "chat.delta") {
        onEvent(msg.event, msg.n);
      } else if (msg.type === "chat.batch") {
        for (const b of msg.events) onEvent(b.event, b.n);
      } else if (msg.type === "conversation.presence") {
        // A relay also says whether the owner's daemon is online (the history stays either way).
        const owner = msg.owner === "offline" ? " · owner offline" : "";
        $("presence").textContent = `· ${msg.watchers} watching${owner}`;
      }
    };
    ws.onclose = (e) => {
      if (ended) return;
      if (e.code === 4403)
        return finish(`this share was ${/expired/.test(e.reason) ? "expired" : "revoked"}`);
      // Refused at the upgrade (revoked, expired, rate-limited): the HTTP API says why.
      api(conversationId ? `/conversations/${encodeURIComponent(conversationId)}/status` : "/health").then(
        () => retry(),
        (err) => (err.status ? fail(err) : retry()),
      );
    };
  }

  /** After a (re)connect: the history, and the live turn only if it still runs. */
  async function reconcile() {
    try {
      const s = await api(`/conversations/${encodeURIComponent(conversationId)}/status`);
      if (!s.isActive && live) {
        live = undefined;
        lastN = undefined;
      }
    } catch (err) {
      return fail(err);
    }
    await loadHistory();
  }

  function retry() {
    if (ended) return;
    attempt++;
    status("reconnecting", "connecting");
    setTimeout(connect, Math.min(10_000, 250 * 2 ** Math.min(attempt, 6)));
  }

  if (!secret) finish("this link has no share secret (the part after #)");
  else connect();
})();
