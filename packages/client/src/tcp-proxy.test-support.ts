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

interface Pair {
  client: Socket<Pair>;
  upstream?: Socket<Pair>;
  pending: Uint8Array[];
}

export async function startProxy(targetPort: number): Promise<CuttableProxy> {
  const pairs = new Set<Pair>();
  const listener: TCPSocketListener<Pair> = Bun.listen<Pair>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(client) {
        const pair: Pair = { client, pending: [] };
        client.data = pair;
        pairs.add(pair);
        Bun.connect<Pair>({
          hostname: "127.0.0.1",
          port: targetPort,
          data: pair,
          socket: {
            open(upstream) {
              pair.upstream = upstream;
              for (const chunk of pair.pending) upstream.write(chunk);
              pair.pending = [];
            },
            data(_upstream, chunk) {
              pair.client.write(chunk);
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
        const pair = client.data;
        if (pair.upstream) pair.upstream.write(chunk);
        else pair.pending.push(new Uint8Array(chunk));
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
