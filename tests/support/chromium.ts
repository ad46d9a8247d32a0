/**
 * Headless Chromium for browser tests: the system's binary (never downloaded), one throw-away profile
 * per visit, killed with its profile afterwards.
 */
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const haveChromium = existsSync(CHROMIUM);

/** Opens `url` in headless Chromium with `profile` as its user-data folder; `flags` are added. */
export function visit(url: string, profile: string, flags: string[] = []): { kill(): Promise<void> } {
  const proc = Bun.spawn(
    [
      CHROMIUM,
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--no-first-run",
      `--user-data-dir=${profile}`,
      ...flags,
      url,
    ],
    { stdout: "ignore", stderr: "ignore" },
  );
  return {
    async kill() {
      proc.kill("SIGKILL");
      await proc.exited;
      await rm(profile, { recursive: true, force: true });
    },
  };
}
