/**
 * One Redis connection that knows whether it is up and comes back by itself — Bun's built-in
 * `RedisClient` underneath (see the README's notes on the relay for why that client).
 *
 * Bun's own reconnect is switched off (`autoReconnect: false`, no offline queue): its retries give up
 * after `maxRetries` and it reports no "reconnected" event, while the publisher must know the moment
 * Redis is back (to republish the running turn) and must never queue without bound. So this link:
 * - fails a command at once while down (`RedisDownError`), never queues it;
 * - on a lost connection, retries with a capped backoff forever (until `close()`), each attempt a new
 *   client, and calls `onUp` after every successful (re)connect — the first one too;
 * - a subscriber link (`subscribe`) subscribes again after each reconnect.
 */
import { RedisClient } from "bun";

export class RedisDownError extends Error {
  override readonly name = "RedisDownError";
  readonly code = "RELAY_REDIS_DOWN";
}

export interface RedisLinkOptions {
  url: string;
  /** Named in errors and logs ("publisher", "relay reader"). */
  name: string;
  /** After every successful connect (first, and each reconnect). */
  onUp?: () => void;
  /** When a connection is lost (once per loss). */
  onDown?: (reason: string) => void;
  /** Backoff bounds of the reconnect loop. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Fail a connect attempt after this long. */
  connectTimeoutMs?: number;
  /** Pub/sub: the channels this link subscribes to after each connect, and their listener. */
  subscribe?: { channels: string[]; listener: (message: string, channel: string) => void };
}

export class RedisLink {
  #client: RedisClient | undefined;
  #up = false;
  #closed = false;
  #connecting: Promise<void> | undefined;
  #backoff: number;
  readonly #opts: RedisLinkOptions;

  constructor(opts: RedisLinkOptions) {
    this.#opts = opts;
    this.#backoff = opts.minBackoffMs ?? 50;
    void this.#connectLoop();
  }

  get up(): boolean {
    return this.#up;
  }

  /** Resolves once up (or rejects after `timeoutMs`). */
  async ready(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#up) {
      if (this.#closed) throw new RedisDownError(`${this.#opts.name}: closed`);
      if (Date.now() > deadline)
        throw new RedisDownError(`${this.#opts.name}: Redis at ${redactUrl(this.#opts.url)} not reachable`);
      await Bun.sleep(10);
    }
  }

  /** A raw command; rejects with RedisDownError at once while down. */
  async send(command: string, args: string[]): Promise<unknown> {
    const client = this.#client;
    if (!this.#up || !client) throw new RedisDownError(`${this.#opts.name}: Redis is down`);
    try {
      return await client.send(command, args);
    } catch (e) {
      if (!client.connected) this.#lost(client, String((e as Error)?.message ?? e));
      throw e;
    }
  }

  /** Closes the connection; no more reconnects. */
  close(): void {
    this.#closed = true;
    this.#up = false;
    const c = this.#client;
    this.#client = undefined;
    try {
      c?.close();
    } catch {}
  }

  #lost(client: RedisClient, reason: string): void {
    if (client !== this.#client) return;
    this.#client = undefined;
    const wasUp = this.#up;
    this.#up = false;
    try {
      client.close();
    } catch {}
    if (wasUp) this.#opts.onDown?.(reason);
    if (!this.#closed) void this.#connectLoop();
  }

  async #connectLoop(): Promise<void> {
    if (this.#connecting) return this.#connecting;
    this.#connecting = (async () => {
      while (!this.#closed && !this.#up) {
        const client = new RedisClient(this.#opts.url, {
          autoReconnect: false,
          enableOfflineQueue: false,
          enableAutoPipelining: true,
          connectionTimeout: this.#opts.connectTimeoutMs ?? 2_000,
        });
        try {
          await client.connect();
          if (this.#opts.subscribe) {
            const { channels, listener } = this.#opts.subscribe;
            await client.subscribe(channels, listener);
          }
          if (this.#closed) {
            client.close();
            return;
          }
          client.onclose = () => this.#lost(client, "connection closed");
          this.#client = client;
          this.#up = true;
          this.#backoff = this.#opts.minBackoffMs ?? 50;
          this.#opts.onUp?.();
          return;
        } catch {
          try {
            client.close();
          } catch {}
          await Bun.sleep(this.#backoff);
          this.#backoff = Math.min(this.#backoff * 2, this.#opts.maxBackoffMs ?? 1_000);
        }
      }
    })().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }
}

/** Pure: a Redis URL without its password (for messages and logs). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "<invalid redis url>";
  }
}

/** Pure: the error of a refused XADD id (at or below the stream's top): a duplicate, not a failure. */
export function isStaleIdError(e: unknown): boolean {
  return /equal or smaller than the target stream top item/i.test(String((e as Error)?.message ?? e));
}
