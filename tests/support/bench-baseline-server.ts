/**
 * The benchmark's baselines, run as their own process (like the daemon) so server and clients never
 * share a thread: a bare Bun.serve WebSocket server with no protocol, no policy and no persistence.
 * `bun tests/support/bench-baseline-server.ts` prints `{"port":N}` on its first stdout line.
 *
 * Ops (JSON text frames from a client):
 * - `{op:"sub", topic}` → joins the topic; answers `{op:"subbed"}`.
 * - `{op:"fanout", topic, frame, count, mode}` → sends `count` copies of the frame text (with `"n":i`
 *   appended) to the topic's subscribers, then a last frame containing `"turn-sealed"`. `raw`: serialize
 *   once, one `server.publish` per event (the limit of Bun's pub/sub); `naive`: for every subscriber,
 *   `JSON.stringify` the frame object and `ws.send` it (the per-connection loop of the naive design).
 * - `{op:"burst", frame, count}` → sends `count` copies of the frame to the asking socket, then
 *   `{op:"burst-done"}` (a late-join replay over a bare socket).
 * - `{op:"relay", topic, url, body}` → POSTs `body` to an OpenAI-format streaming `url` and publishes
 *   each content delta to the topic as a chat.delta frame, then a `turn-sealed` frame (a bare relay,
 *   for the latency baseline).
 * - `{op:"sdk", baseUrl, model, prompt}` → streams the same kind of request through the AI SDK's own
 *   `doStream` (the `@ai-sdk/openai-compatible` module the daemon uses), counting its text deltas, and
 *   answers `{op:"sdk-done", tokens, ms}`: what the provider library alone costs per token.
 */
import path from "node:path";
import type { ServerWebSocket } from "bun";

type Conn = ServerWebSocket<{ topics: Set<string> }>;

const subscribers = new Map<string, Set<Conn>>();
const yieldNow = () => new Promise<void>((r) => setImmediate(r));

const server = Bun.serve<{ topics: Set<string> }>({
  hostname: "127.0.0.1",
  port: 0,
  fetch(req, srv) {
    return srv.upgrade(req, { data: { topics: new Set() } })
      ? undefined
      : new Response("upgrade required", { status: 426 });
  },
  websocket: {
    perMessageDeflate: false,
    // Never drop or close for backpressure: the baseline measures delivery, buffering what it must.
    backpressureLimit: 2 ** 31,
    closeOnBackpressureLimit: false,
    idleTimeout: 0,
    message(ws, raw) {
      void handle(ws, JSON.parse(String(raw)) as Record<string, unknown>);
    },
    close(ws) {
      for (const t of ws.data.topics) subscribers.get(t)?.delete(ws);
    },
  },
});

async function handle(ws: Conn, op: Record<string, unknown>): Promise<void> {
  const topic = String(op.topic ?? "");
  switch (op.op) {
    case "sub": {
      ws.subscribe(topic);
      ws.data.topics.add(topic);
      const set = subscribers.get(topic) ?? new Set();
      set.add(ws);
      subscribers.set(topic, set);
      ws.send(JSON.stringify({ op: "subbed" }));
      return;
    }
    case "fanout":
      return fanout(topic, op.frame as Record<string, unknown>, Number(op.count), op.mode === "naive");
    case "burst": {
      const text = JSON.stringify(op.frame);
      for (let i = 0; i < Number(op.count); i++) {
        ws.send(text);
        if (i % 1000 === 999) await yieldNow();
      }
      ws.send(JSON.stringify({ op: "burst-done" }));
      return;
    }
    case "relay":
      return relay(topic, String(op.url), op.body);
    case "sdk": {
      const r = await sdkStream(String(op.baseUrl), String(op.model), String(op.prompt));
      ws.send(JSON.stringify({ op: "sdk-done", ...r }));
      return;
    }
  }
}

/** The daemon's OpenAI-compatible provider module, resolved from the package that depends on it. */
const SDK_FROM = path.join(import.meta.dir, "../../packages/provider-openai-compatible/src/index.ts");

async function sdkStream(baseURL: string, modelId: string, prompt: string) {
  const sdk = (await import(Bun.resolveSync("@ai-sdk/openai-compatible", SDK_FROM))) as {
    createOpenAICompatible(o: { name: string; baseURL: string; includeUsage: boolean }): {
      chatModel(id: string): {
        doStream(o: { prompt: unknown[] }): Promise<{ stream: ReadableStream<{ type: string }> }>;
      };
    };
  };
  const model = sdk.createOpenAICompatible({ name: "bench", baseURL, includeUsage: true }).chatModel(modelId);
  const started = performance.now();
  const { stream } = await model.doStream({
    prompt: [{ role: "user", content: [{ type: "text", text: prompt }] }],
  });
  let tokens = 0;
  const reader = stream.getReader();
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    if (value.type === "text-delta") tokens++;
  }
  return { tokens, ms: performance.now() - started };
}

async function fanout(topic: string, frame: Record<string, unknown>, count: number, naive: boolean) {
  const sealed = { ...frame, event: { type: "turn-sealed" } };
  const subs = subscribers.get(topic) ?? new Set<Conn>();
  for (let i = 1; i <= count + 1; i++) {
    const f = i > count ? sealed : { ...frame, n: i };
    if (naive) {
      for (const ws of subs) ws.send(JSON.stringify(f));
    } else {
      server.publish(topic, JSON.stringify(f));
    }
    // Let the event loop flush sockets now and then, as a streaming server would between tokens.
    if (i % 1000 === 0) await yieldNow();
  }
}

async function relay(topic: string, url: string, body: unknown): Promise<void> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let n = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut = buffer.indexOf("\n\n");
    while (cut >= 0) {
      const line = buffer.slice(0, cut).trim();
      buffer = buffer.slice(cut + 2);
      cut = buffer.indexOf("\n\n");
      if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
      const chunk = JSON.parse(line.slice(6)) as { choices?: { delta?: { content?: string } }[] };
      const delta = chunk.choices?.[0]?.delta?.content;
      if (!delta) continue;
      server.publish(
        topic,
        JSON.stringify({
          type: "chat.delta",
          event: { type: "text-delta", conversationId: topic, delta },
          n: ++n,
        }),
      );
    }
  }
  server.publish(topic, JSON.stringify({ type: "chat.delta", event: { type: "turn-sealed" }, n: ++n }));
}

process.stdout.write(`${JSON.stringify({ port: server.port })}\n`);
