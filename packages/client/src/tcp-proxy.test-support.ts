import type { Socket, TCPSocketListener } from "bun";

/**
 * A loopback TCP proxy that can cut every connection at once: a real network fault between a client
 * and the daemon, with the daemon itself still running. Test support only.
 */
export interface CuttableProxy {
  port: number;
  /** Closes every open connection (both sides); new connections still work. */
  cutAll(): number;
  close(): void;
}

/** One direction of a connection: bytes the kernel did not take yet wait here until `drain`. */
class Pipe {
  private backlog: Uint8Array[] = [];
  private target: Socket<Pair> | undefined;

  attach(target: Socket<Pair>): void {
    this.target = target;
    this.flush();
  }
  push(chunk: Uint8Array): void {
    this.backlog.push(new Uint8Array(chunk));
    this.flush();
  }
  /** Writes as much of the backlog as the socket takes (Bun's `write` may accept only a part). */
  flush(): void {
    const target = this.target;
    if (!target) return;
    while (this.backlog.length > 0) {
      const head = this.backlog[0] as Uint8Array;
      const written = target.write(head);
      if (written < head.byteLength) {
        this.backlog[0] = head.subarray(Math.max(written, 0));
        return;
      }
      this.backlog.shift();
    }
  }
}

interface Pair {
  client: Socket<Pair>;
  upstream?: Socket<Pair>;
  /** client → daemon */
  up: Pipe;
  /** daemon → client */
  down: Pipe;
}

export async function startProxy(targetPort: number): Promise<CuttableProxy> {
  const pairs = new Set<Pair>();
  const listener: TCPSocketListener<Pair> = Bun.listen<Pair>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(client) {
        const pair: Pair = { client, up: new Pipe(), down: new Pipe() };
        pair.down.attach(client);
        client.data = pair;
        pairs.add(pair);
        Bun.connect<Pair>({
          hostname: "127.0.0.1",
          port: targetPort,
          data: pair,
          socket: {
            open(upstream) {
              pair.upstream = upstream;
              pair.up.attach(upstream);
            },
            data(_upstream, chunk) {
              pair.down.push(chunk);
            },
            drain() {
              pair.up.flush();
            },
            close() {
              pair.client.end();
              pairs.delete(pair);
            },
            error() {
              pair.client.end();
            },
          },
        }).catch(() => client.end());
      },
      data(client, chunk) {
        client.data.up.push(chunk);
      },
      drain(client) {
        client.data.down.flush();
      },
      close(client) {
        client.data.upstream?.end();
        pairs.delete(client.data);
      },
    },
  });
  return {
    port: listener.port,
    cutAll() {
      const n = pairs.size;
      for (const pair of [...pairs]) {
        pair.client.terminate();
        pair.upstream?.terminate();
        pairs.delete(pair);
      }
      return n;
    },
    close() {
      listener.stop(true);
    },
  };
}
