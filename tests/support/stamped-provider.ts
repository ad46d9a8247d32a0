/**
 * A loopback model server in the OpenAI chat-completions streaming format whose every content delta
 * carries the moment it was written: `@<ms> ` with `ms` = performance.timeOrigin + performance.now().
 * A client in the same process parses the stamp to get provider-token → client-receipt latency.
 *
 * The last user message configures the stream: `tokens=<n> interval=<ms> hold=<0|1>`. With `hold=1`
 * the stream stays open after its tokens until `release()` (a turn that keeps running).
 */
export const STAMPED_MODEL = "stamped";

export interface StampedProvider {
  /** Base URL including `/v1`. */
  url: string;
  /** Ends every held stream (finish + [DONE]). */
  release(): void;
  close(): Promise<void>;
}

export const stampNow = (): number => performance.timeOrigin + performance.now();

/** Pure: the stamp in a delta written by this server, or undefined. */
export function stampOf(delta: string): number | undefined {
  const m = /@(\d+(?:\.\d+)?)/.exec(delta);
  return m ? Number(m[1]) : undefined;
}

/** Pure: reads `key=<number>` from a prompt. */
function setting(text: string, key: string, fallback: number): number {
  const m = new RegExp(`${key}=(\\d+)`).exec(text);
  return m ? Number(m[1]) : fallback;
}

function lastUserText(body: unknown): string {
  const messages = (body as { messages?: { role: string; content: unknown }[] }).messages ?? [];
  const last = messages.filter((m) => m.role === "user").at(-1);
  if (typeof last?.content === "string") return last.content;
  if (Array.isArray(last?.content)) return last.content.map((p: { text?: string }) => p.text ?? "").join(" ");
  return "";
}

export function startStampedProvider(): StampedProvider {
  const held = new Set<() => void>();
  const encoder = new TextEncoder();
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    encoder.encode(
      `data: ${JSON.stringify({
        id: "stamped",
        object: "chat.completion.chunk",
        created: 0,
        model: STAMPED_MODEL,
        choices: [{ index: 0, delta, finish_reason: finish }],
      })}\n\n`,
    );

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === "/v1/models")
        return Response.json({ object: "list", data: [{ id: STAMPED_MODEL, object: "model" }] });
      if (path !== "/v1/chat/completions") return new Response("not found", { status: 404 });
      const prompt = lastUserText(await req.json());
      const tokens = setting(prompt, "tokens", 100);
      const interval = setting(prompt, "interval", 5);
      const hold = setting(prompt, "hold", 0) === 1;
      const body = new ReadableStream<Uint8Array>({
        async start(controller) {
          try {
            controller.enqueue(chunk({ role: "assistant", content: "" }));
            for (let i = 0; i < tokens; i++) {
              if (req.signal.aborted) return;
              if (interval > 0) await Bun.sleep(interval);
              else if (i % 500 === 499) await new Promise((r) => setImmediate(r));
              controller.enqueue(chunk({ content: `@${stampNow().toFixed(3)} ` }));
            }
            if (hold) {
              await new Promise<void>((resolve) => {
                held.add(resolve);
                req.signal.addEventListener("abort", () => resolve());
              });
            }
            controller.enqueue(chunk({}, "stop"));
            controller.enqueue(encoder.encode("data: [DONE]\n\n"));
            controller.close();
          } catch {
            // the daemon went away mid-stream
          }
        },
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}/v1`,
    release() {
      for (const r of held) r();
      held.clear();
    },
    close: () => server.stop(true),
  };
}
