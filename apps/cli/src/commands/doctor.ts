import { statSync } from "node:fs";
import { createServer } from "node:net";
import { daemonPaths } from "@dispatch/daemon/cli";
import { findDaemon } from "@dispatch/discovery";
import type { Logger } from "@dispatch/kernel";
import { EXIT } from "../io";
import type { CommandSpec } from "./spec";

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** What to do about it (only when not ok). */
  fix?: string;
}

/** Pure: a data folder that other users can read or enter leaks conversations and the token. */
export function folderModeCheck(path: string, mode: number | undefined): Check {
  if (mode === undefined)
    return { name: "data folder", ok: true, detail: `${path} (not created yet; made 0700 on first start)` };
  const perms = mode & 0o777;
  const ok = (perms & 0o077) === 0;
  const octal = perms.toString(8).padStart(3, "0");
  return ok
    ? { name: "data folder", ok, detail: `${path} (mode ${octal})` }
    : {
        name: "data folder",
        ok,
        detail: `${path} is mode ${octal}: other users can read it`,
        fix: `chmod 700 ${path}`,
      };
}

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** Collects what listModels would log, so the check can say why a provider failed. */
function collecting(into: string[]): Logger {
  const push = (msg: string, fields?: Record<string, unknown>) =>
    into.push(
      `${msg}${fields?.status ? ` (HTTP ${String(fields.status)})` : ""}${fields?.error ? `: ${String(fields.error)}` : ""}`,
    );
  const logger: Logger = { debug: () => {}, info: () => {}, warn: push, error: push, child: () => logger };
  return logger;
}

async function runChecks(home: string, env: Record<string, string | undefined>): Promise<Check[]> {
  // Loaded here, not at the top: every other command would pay for the daemon's modules.
  const { DAEMON_PROVIDER_KINDS, loadConfig } = await import("@dispatch/daemon");
  const { createProviderKinds, listCredentialModels, resolveProvidersConfig } = await import(
    "@dispatch/providers"
  );
  const checks: Check[] = [];
  const major = Number(Bun.version.split(".")[0]);
  const minor = Number(Bun.version.split(".")[1]);
  const bunOk = major > 1 || (major === 1 && minor >= 4);
  checks.push(
    bunOk
      ? { name: "bun", ok: true, detail: `${Bun.version} (${process.execPath})` }
      : {
          name: "bun",
          ok: false,
          detail: `${Bun.version} is too old`,
          fix: "install Bun 1.4 or newer (scripts/bootstrap.sh does)",
        },
  );
  let mode: number | undefined;
  try {
    mode = statSync(home).mode;
  } catch {
    mode = undefined;
  }
  checks.push(folderModeCheck(home, mode));
  const paths = daemonPaths(home, env);
  const loaded = await loadConfig({ path: paths.configFile, explicit: paths.configExplicit }, env);
  if (!loaded.ok) {
    checks.push({
      name: "config",
      ok: false,
      detail: loaded.errors.join("\n    "),
      fix: `fix ${paths.configFile} (the lines above name each key)`,
    });
    return checks;
  }
  checks.push({
    name: "config",
    ok: true,
    detail: `${paths.configFile}${statExists(paths.configFile) ? "" : " (absent: defaults)"}`,
  });
  const config = loaded.config;
  // The daemon's own provider kinds: the same credentials, resolved and listed the same way.
  const kinds = createProviderKinds(DAEMON_PROVIDER_KINDS);
  const providers = resolveProvidersConfig(config.sections.providers, env, kinds);
  if (!providers.ok) {
    checks.push({
      name: "providers",
      ok: false,
      detail: providers.message,
      fix: `fix [providers] in ${paths.configFile}`,
    });
  } else if (providers.value.credentials.length === 0) {
    checks.push({
      name: "providers",
      ok: true,
      detail:
        "none configured: only the offline local/* models (set DISPATCH_BASE_URL and DISPATCH_API_KEY, or [providers.credentials])",
    });
  } else {
    for (const c of providers.value.credentials) {
      const problems: string[] = [];
      const models = await listCredentialModels(kinds, c, 5000, collecting(problems));
      checks.push(
        models.length > 0
          ? { name: `provider ${c.name}`, ok: true, detail: `${c.baseUrl}: ${models.length} models` }
          : {
              name: `provider ${c.name}`,
              ok: false,
              detail: `${c.baseUrl}: no models listed${problems.length ? ` (${problems.join("; ")})` : ""}`,
              fix: `check the base URL and key of credential "${c.name}", or list its models in the config`,
            },
      );
    }
  }
  const running = findDaemon(home);
  for (const [name, port] of [
    ["http port", config.httpPort],
    ["ws port", config.wsPort],
  ] as const) {
    if (port === 0) checks.push({ name, ok: true, detail: "0 (a free port each start)" });
    else if (running && (running.httpPort === port || running.wsPort === port))
      checks.push({ name, ok: true, detail: `${port} (used by the running daemon, pid ${running.pid})` });
    else if (await portFree(config.host, port)) checks.push({ name, ok: true, detail: `${port} is free` });
    else
      checks.push({
        name,
        ok: false,
        detail: `${config.host}:${port} is taken by another program`,
        fix: `stop it, or choose another port (${name === "http port" ? "DISPATCH_HTTP_PORT or --http-port" : "DISPATCH_WS_PORT or --ws-port"})`,
      });
  }
  return checks;
}

function statExists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

export const doctor: CommandSpec = {
  name: "doctor",
  usage: "doctor",
  summary: "check Bun, the data folder, the config, each provider and the ports; say what to fix",
  positionals: { min: 0, max: 0, names: "" },
  options: [],
  async run({ home, io, json, print, printJson, out }) {
    const checks = await runChecks(home, io.env);
    const ok = checks.every((c) => c.ok);
    if (json) printJson({ ok, checks });
    else {
      for (const c of checks) {
        print(`${c.ok ? out("green", "ok  ") : out("red", "FAIL")} ${c.name}: ${c.detail}`);
        if (c.fix) print(`     fix: ${c.fix}`);
      }
      print(ok ? "everything looks fine" : "some checks failed; see the fixes above");
    }
    return ok ? EXIT.ok : EXIT.failed;
  },
};
