/**
 * Limits of the HTTP event streams (SSE and long-poll), like the WebSocket's: open streams per client
 * address, and bytes a stream may fall behind before it is cut. Pure bookkeeping (no I/O).
 */

export interface StreamLimitsConfig {
  /** Open event streams (SSE and waiting long-polls together) per client address. */
  maxPerAddress: number;
  /** Bytes an SSE client may fall behind before its stream is cut (it can reconnect and resume). */
  maxBufferedBytes: number;
  /** Seconds between keep-alive comments on a quiet SSE stream. */
  keepAliveSec: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimitsConfig = {
  maxPerAddress: 32,
  maxBufferedBytes: 8 * 1024 * 1024,
  keepAliveSec: 15,
};

/** Open streams per address; `acquire` answers a release function, or undefined over the limit. */
export class StreamSlots {
  private readonly open = new Map<string, number>();

  constructor(private readonly max: number) {}

  acquire(address: string): (() => void) | undefined {
    const n = this.open.get(address) ?? 0;
    if (n >= this.max) return undefined;
    this.open.set(address, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(address) ?? 1) - 1;
      if (left <= 0) this.open.delete(address);
      else this.open.set(address, left);
    };
  }

  count(address: string): number {
    return this.open.get(address) ?? 0;
  }
}
