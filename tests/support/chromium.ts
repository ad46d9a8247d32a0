/**
 * Headless Chromium for browser tests: the system's binary (never downloaded), one throw-away profile
 * per visit, killed with its profile afterwards.
 */
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const haveChromium = existsSync(CHROMIUM);

/** Opens `url` in headless Chromium with `profile` as its user-data folder; `flags` are added. */
/** The command line of one headless visit. */
function chromiumArgs(url: string, profile: string, flags: string[]): string[] {
  return [
    CHROMIUM,
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    `--user-data-dir=${profile}`,
    ...flags,
    url,
  ];
}

export function visit(url: string, profile: string, flags: string[] = []): { kill(): Promise<void> } {
  const proc = Bun.spawn(chromiumArgs(url, profile, flags), { stdout: "ignore", stderr: "ignore" });
  return {
    async kill() {
      proc.kill("SIGKILL");
      await proc.exited;
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** A page under the DevTools protocol: evaluate expressions in it. */
export interface DevtoolsPage {
  /** Evaluates `expression` in the page; its value (JSON-able). */
  evaluate(expression: string): Promise<unknown>;
  /** Any DevTools protocol command to the page (e.g. `Page.reload`); its answer. */
  send(method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>>;
  kill(): Promise<void>;
}

/**
 * Opens `url` in headless Chromium with the DevTools protocol on a free loopback port, and connects
 * to the page (no playwright: the protocol over a WebSocket is enough to read the DOM).
 */
export async function visitWithDevtools(url: string, profile: string): Promise<DevtoolsPage> {
  const proc = Bun.spawn(
    chromiumArgs(url, profile, ["--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0"]),
    { stdout: "ignore", stderr: "pipe" },
  );
  const kill = async () => {
    proc.kill("SIGKILL");
    await proc.exited;
    await rm(profile, { recursive: true, force: true });
  };
  try {
    const port = await devtoolsPort(proc.stderr);
    type Target = { type: string; url: string; webSocketDebuggerUrl: string };
    let target: Target | undefined;
    for (let i = 0; i < 100 && target === undefined; i++) {
      const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Target[];
      target = list.find((t) => t.type === "page" && t.url.startsWith(url.split("#")[0] as string));
      if (target === undefined) await Bun.sleep(100);
    }
    if (target === undefined) throw new Error(`no DevTools page target for ${url}`);
    const sock = new WebSocket(target.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      sock.onopen = resolve;
      sock.onerror = () => reject(new Error("cannot connect to the DevTools page target"));
    });
    let nextId = 1;
    const pending = new Map<number, (r: Record<string, unknown>) => void>();
    sock.onmessage = (e) => {
      const msg = JSON.parse(String(e.data)) as { id?: number } & Record<string, unknown>;
      if (msg.id !== undefined) pending.get(msg.id)?.(msg);
    };
    const send = (method: string, params: Record<string, unknown> = {}) => {
      const id = nextId++;
      const answer = new Promise<Record<string, unknown>>((resolve) => pending.set(id, resolve));
      sock.send(JSON.stringify({ id, method, params }));
      return answer;
    };
    return {
      send,
      evaluate(expression) {
        return send("Runtime.evaluate", { expression, returnByValue: true }).then(
          (m) => ((m.result as { result?: { value?: unknown } })?.result?.value ?? null) as unknown,
        );
      },
      async kill() {
        sock.close();
        await kill();
      },
    };
  } catch (err) {
    await kill();
    throw err;
  }
}

/** The port of "DevTools listening on ws://127.0.0.1:<port>/…" on Chromium's stderr. */
async function devtoolsPort(stderr: ReadableStream<Uint8Array>): Promise<number> {
  const reader = stderr.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    const m = /DevTools listening on ws:\/\/[^:]+:(\d+)\//.exec(text);
    if (m) {
      reader.releaseLock();
      // Keep draining so Chromium never blocks on a full pipe.
      void stderr.pipeTo(new WritableStream()).catch(() => {});
      return Number(m[1]);
    }
  }
  throw new Error(`Chromium printed no DevTools port:\n${text.slice(0, 2000)}`);
}
