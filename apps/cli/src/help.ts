/** Help texts, one per command; `dispatch <command> --help` prints the matching one. */
const GLOBAL = `Global flags: --json (machine-readable output), --home <dir> (data folder; default $DISPATCH_HOME or the per-user state folder), -h/--help`;

export const HELP: Record<string, string> = {
  main: `dispatch — talk to the local Dispatch daemon

Usage:
  dispatch <credential>/<model> --text "…" [options]   chat: stream the answer to the terminal
  dispatch serve                                       run the daemon in the foreground
  dispatch status                                      is a daemon running? where does it listen?
  dispatch stop-daemon                                 stop the running daemon
  dispatch models                                      list the models the daemon offers
  dispatch mcp list                                    the daemon's MCP servers and their state
  dispatch list [--status s1,s2] [--workspace w] [--all]
  dispatch read <id>                                   print a conversation's history
  dispatch send <id> --text "…" [--queue] [--open]     continue a conversation
  dispatch stop <id>                                   stop the running turn
  dispatch open <id>                                   ask every connected frontend to open the conversation
  dispatch compact <id> [--keep N]                     summarize older messages

Ids: a unique prefix of a conversation id works anywhere an id does.
Client commands start a daemon in the background when none is running.
${GLOBAL}`,
  chat: `dispatch <credential>/<model> --text "…" [options]

Starts a turn with that model (e.g. local/echo) and streams the answer.
  -t, --text <text>          the message
  -f, --file <path>          append the contents of a file to the message
  -c, --conversation <id>    continue this conversation instead of starting a new one
      --cwd <dir>            working directory for the agent's tools (remembered per conversation)
      --effort <level>       reasoning effort: low, medium, high, xhigh, max
  -w, --workspace <id>       workspace of a new conversation
      --show-reasoning       print the model's reasoning as it streams
      --open                 ask connected frontends to open the conversation
Permission requests are asked interactively on a terminal and denied otherwise.
${GLOBAL}`,
  serve: `dispatch serve — run the daemon in the foreground (Ctrl-C stops it).
Environment: DISPATCH_HOME, DISPATCH_WS_PORT, DISPATCH_HTTP_PORT (0 = a free port), DISPATCH_BASE_URL,
DISPATCH_API_KEY, DISPATCH_MODEL, DISPATCH_CONFIG (path of dispatch.toml).`,
  status: `dispatch status — show whether a daemon runs for the data folder, its pid, ports and version.\n${GLOBAL}`,
  "stop-daemon": `dispatch stop-daemon — ask the running daemon to shut down (SIGTERM) and wait until it has.\n${GLOBAL}`,
  models: `dispatch models — list the models the daemon offers (<credential>/<model>).\n${GLOBAL}`,
  list: `dispatch list [--status active,queued,idle,closed] [--workspace <id>] [--all] [--limit N]
Lists conversations, newest activity first. Closed ones are hidden unless --all or --status names them.
${GLOBAL}`,
  read: `dispatch read <id> [--since <seq>] [--limit N] — print a conversation's history.\n${GLOBAL}`,
  send: `dispatch send <id> --text "…" [--queue] [--open] [--show-reasoning]
Continues a conversation and streams the answer. With --queue the text is queued when a turn is
running (delivered at the next tool boundary or as the next turn) and the command returns at once.
${GLOBAL}`,
  stop: `dispatch stop <id> — stop the conversation's running turn.\n${GLOBAL}`,
  open: `dispatch open <id> — ask every connected frontend to open or focus the conversation.\n${GLOBAL}`,
  compact: `dispatch compact <id> [--keep N] — summarize older messages, keeping the last N intact.\n${GLOBAL}`,
};

/** Pure: the help text for a topic (a command name, or a model name for chat mode). */
export function helpFor(topic?: string): string {
  if (!topic) return HELP.main ?? "";
  return HELP[topic] ?? (topic.includes("/") ? (HELP.chat ?? "") : (HELP.main ?? ""));
}
