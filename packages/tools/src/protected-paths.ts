/**
 * Protected paths: files that other programs execute or obey, so that writing them is code execution
 * in disguise. With `git status*` allowed and one "always" on write_file, a model set `core.fsmonitor`
 * in .git/config and ran `git status`: an arbitrary command without a shell prompt. A write to a
 * protected path therefore always asks (unless denied), whatever allow rule, per-tool setting, default
 * or "always" answer would cover it, and the request names the risk.
 *
 * The list is about code that runs without an explicit command: git's configuration and hooks, shell
 * and direnv start-up files, ssh and git user configuration, and Dispatch's own configuration and data.
 * It cannot be complete (a project's build scripts run under `bun test` too); see SECURITY.md.
 */

import * as path from "node:path";

const GIT =
  "git runs programs named in its configuration (core.fsmonitor, core.pager, aliases, filters) and hooks: " +
  "a write here can run code on the next git command, even an allowed one like `git status`";
const SHELL = "a shell start-up file: every new shell runs it";

/** Folder names (any depth, compared case-insensitively) whose whole content is protected. */
const FOLDERS: Record<string, string> = {
  ".git": GIT,
  ".husky": `git hooks (.husky): ${GIT}`,
  ".ssh": "ssh configuration and keys: ProxyCommand runs commands, authorized_keys grants logins",
  ".dispatch": "Dispatch's own files: its configuration decides what tools may do",
};

/** File names (any folder, case-insensitive). */
const FILES: Record<string, string> = {
  ".git": GIT, // a `.git` file points git at another repository's configuration
  ".gitconfig": `the user's git configuration: ${GIT}`,
  ".gitmodules": `submodule configuration: ${GIT}`,
  ".envrc": "direnv runs .envrc when a shell enters the folder",
  "dispatch.toml": "Dispatch's configuration: it holds the permission rules and provider credentials",
  ".bashrc": SHELL,
  ".bash_profile": SHELL,
  ".bash_login": SHELL,
  ".bash_logout": SHELL,
  ".profile": SHELL,
  ".zshrc": SHELL,
  ".zshenv": SHELL,
  ".zprofile": SHELL,
  ".zlogin": SHELL,
  ".zlogout": SHELL,
  ".kshrc": SHELL,
  ".cshrc": SHELL,
  ".tcshrc": SHELL,
  ".login": SHELL,
};

/** Nested folders (as "a/b" segment pairs, case-insensitive) whose content is protected. */
const NESTED: Record<string, string> = {
  ".config/git": `the user's git configuration: ${GIT}`,
  ".config/fish": SHELL,
  ".config/dispatch": "Dispatch's own files: its configuration decides what tools may do",
};

/**
 * Pure: why writing the absolute path `p` is dangerous, or undefined when it is not protected.
 * `extra` lists further protected paths (absolute; a path protects itself and everything below it),
 * e.g. the daemon's data folder and its config file.
 */
export function protectedRisk(p: string, extra: readonly string[] = []): string | undefined {
  const abs = path.resolve(p);
  for (const x of extra) {
    const root = path.resolve(x);
    if (abs === root || abs.startsWith(root.endsWith(path.sep) ? root : root + path.sep))
      return `${root} is protected ([permission-gate] protectedPaths: Dispatch's data or configuration)`;
  }
  const segments = abs
    .split(path.sep)
    .filter((s) => s !== "")
    .map((s) => s.toLowerCase());
  const name = segments[segments.length - 1] ?? "";
  for (let i = 0; i < segments.length - 1; i++) {
    const folder = FOLDERS[segments[i] as string];
    if (folder) return folder;
    const nested = NESTED[`${segments[i]}/${segments[i + 1]}`];
    if (nested && i + 1 < segments.length - 1) return nested;
  }
  return Object.hasOwn(FILES, name) ? FILES[name] : undefined;
}
