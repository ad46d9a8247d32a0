import { Counter } from "./wait";

/**
 * The wire-level actions a scripted response is made of. Format modules (OpenAI, Anthropic) turn their
 * high-level steps into these.
 */
export type Frame =
  | { type: "write"; data: string }
  | { type: "delay"; ms: number }
  /** Close the socket abruptly: no terminating chunk, so the client sees a connection reset. */
  | { type: "cut" }
  /** Send nothing more; the response stays open until the client goes away or the server closes. */
  | { type: "hang" };

export type WireResponse =
  | { type: "stream"; frames: Frame[]; headers?: Record<string, string> }
  | { type: "http"; status: number; body: string; headers?: Record<string, string> };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** Parsed JSON body, or the raw text when it is not JSON, or undefined for an empty body. */
  body: unknown;
}

export interface ScriptedServer<R> extends AsyncDisposable {
  /** Base URL including the API prefix, e.g. `http://127.0.0.1:41234/v1`. */
  readonly url: string;
  /** Every request received, in arrival order (including unscripted ones). */
  readonly requests: RecordedRequest[];
  /** Queues responses; each scripted request consumes one, in order. */
  script(...responses: R[]): void;
  /** Responses queued and not yet consumed. */
  pending(): number;
  /** Requests whose client went away before the response finished (abort, disconnect). */
  readonly abortedRequests: number;
  /** Resolves when at least `n` requests were received. */
  waitForRequests(n: number, timeoutMs?: number): Promise<void>;
  /** Resolves when at least `n` clients disconnected mid-response. */
  waitForAborts(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface ScriptedServerOptions<R> {
  /** Path prefix of the API, e.g. "/v1". */
  prefix: string;
  /** Method + path (after the prefix) that consumes the script queue, e.g. "POST /chat/completions". */
  scriptedRoute: string;
  encode(response: R): WireResponse;
  /** Fixed routes answered without consuming the queue, keyed like `scriptedRoute`. */
  staticRoutes?: Record<string, () => WireResponse>;
  /** When set, requests must carry this key (see `checkAuth`), else 401. */
  authorize?: (headers: Headers) => WireResponse | undefined;
}

const DEFAULT_WAIT_MS = 10_000;

/** Starts a loopback HTTP server (127.0.0.1, free port) that answers with scripted responses. */
export function startScriptedServer<R>(options: ScriptedServerOptions<R>): ScriptedServer<R> {
  const queue: R[] = [];
  const requests: RecordedRequest[] = [];
  const received = new Counter();
  const aborts = new Counter();
  const openStreams = new Set<() => void>();

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const text = await req.text();
      requests.push({
        method: req.method,
        path: url.pathname,
        headers: headerRecord(req.headers),
        body: parseBody(text),
      });
      received.increment();
      const route = `${req.method} ${url.pathname.slice(options.prefix.length)}`;
      const denied = url.pathname.startsWith(options.prefix) ? options.authorize?.(req.headers) : undefined;
      if (denied) return toResponse(denied, req.signal);
      const fixed = url.pathname.startsWith(options.prefix) ? options.staticRoutes?.[route] : undefined;
      if (fixed) return toResponse(fixed(), req.signal);
      if (!url.pathname.startsWith(options.prefix) || route !== options.scriptedRoute) {
        return new Response(
          JSON.stringify({ error: { message: `testkit: no route ${req.method} ${url.pathname}` } }),
          {
            status: 404,
            headers: { "content-type": "application/json" },
          },
        );
      }
      const next = queue.shift();
      if (next === undefined) {
        return new Response(
          JSON.stringify({ error: { message: "testkit: no scripted response left for this request" } }),
          { status: 599, headers: { "content-type": "application/json" } },
        );
      }
      return toResponse(options.encode(next), req.signal);
    },
  });

  function toResponse(wire: WireResponse, signal: AbortSignal): Response {
    if (wire.type === "http") {
      return new Response(wire.body, {
        status: wire.status,
        headers: { "content-type": "application/json", ...wire.headers },
      });
    }
    return new Response(frameStream(wire.frames, signal), {
      status: 200,
      headers: {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        ...wire.headers,
      },
    });
  }

  function frameStream(frames: Frame[], signal: AbortSignal): ReadableStream<Uint8Array> {
    const encoder = new TextEncoder();
    let finished = false;
    let wake: () => void = () => {};
    const stopped = new Promise<void>((resolve) => {
      wake = resolve;
    });
    openStreams.add(wake);
    signal.addEventListener("abort", () => {
      if (!finished) aborts.increment();
      wake();
    });
    return new ReadableStream<Uint8Array>({
      async start(controller) {
        try {
          for (const frame of frames) {
            if (signal.aborted) return;
            if (frame.type === "write") controller.enqueue(encoder.encode(frame.data));
            else if (frame.type === "delay") await Promise.race([Bun.sleep(frame.ms), stopped]);
            else if (frame.type === "hang") {
              await stopped;
              return;
            } else {
              finished = true;
              // error() without a reason closes the socket without the terminating chunk, quietly.
              controller.error();
              return;
            }
          }
          finished = true;
          controller.close();
        } catch {
          // the client went away while we were writing; the abort listener counted it
        } finally {
          openStreams.delete(wake);
        }
      },
    });
  }

  const url = `http://127.0.0.1:${server.port}${options.prefix}`;
  const close = async (): Promise<void> => {
    for (const wake of openStreams) wake();
    await server.stop(true);
  };
  return {
    url,
    requests,
    script: (...responses) => {
      queue.push(...responses);
    },
    pending: () => queue.length,
    get abortedRequests() {
      return aborts.value;
    },
    waitForRequests: (n, timeoutMs = DEFAULT_WAIT_MS) =>
      received.reach(n, timeoutMs, `${n} request(s) to ${url}`),
    waitForAborts: (n, timeoutMs = DEFAULT_WAIT_MS) =>
      aborts.reach(n, timeoutMs, `${n} client disconnect(s) mid-response at ${url}`),
    close,
    [Symbol.asyncDispose]: close,
  };
}

function headerRecord(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, key) => {
    out[key] = value;
  });
  return out;
}

function parseBody(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Writes one SSE event; `event` adds an `event:` line (Anthropic style). */
export function sseEvent(data: unknown, event?: string): Frame {
  const payload = typeof data === "string" ? data : JSON.stringify(data);
  return { type: "write", data: `${event ? `event: ${event}\n` : ""}data: ${payload}\n\n` };
}

/** Splits `text` into fragments of at most `size` characters (at least one fragment). */
export function fragments(text: string, size: number): string[] {
  if (text.length <= size) return [text];
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}
