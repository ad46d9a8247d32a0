import type { ChatRequestBody, ReasoningEffort } from "@dispatch/protocol/types";
import { chat } from "../chat";
import { CliError, EXIT } from "../io";
import { stringFlag } from "./common";
import { existingFolder, gatherPrompt } from "./prompt";
import type { CommandSpec, RunContext } from "./spec";

const EFFORTS: readonly ReasoningEffort[] = ["low", "medium", "high", "xhigh", "max"];

/** Pure: `--allow a,b` and `--yes` as the turn's grant; undefined when neither is given. */
export function grantFrom(ctx: Pick<RunContext, "values">): ChatRequestBody["grant"] {
  const allow = stringFlag(ctx.values, "allow");
  const tools =
    allow === undefined
      ? []
      : allow
          .split(",")
          .map((t) => t.trim())
          .filter(Boolean);
  if (allow !== undefined && tools.length === 0)
    throw new CliError("--allow needs tool names: --allow read_file,grep", EXIT.usage);
  if (ctx.values.yes) return { all: true };
  return tools.length > 0 ? { tools } : undefined;
}

/** The most recent open conversation whose folder is `cwd`, else the most recent one. */
async function mostRecent(ctx: RunContext, cwd: string): Promise<string> {
  const conn = await ctx.daemon();
  const page = await conn.http.listConversations({ status: ["active", "queued", "idle"], limit: 50 });
  const [first] = page.conversations;
  if (!first) throw new CliError("--continue: there is no conversation to continue yet", EXIT.failed);
  for (const c of page.conversations) {
    const setting = await conn.http.getCwd(c.id);
    if (setting.cwd === cwd) return c.id;
  }
  return first.id;
}

export const chatCommand: CommandSpec = {
  name: "chat",
  usage: '[-m <model>] "prompt" | dispatch <credential>/<model> "prompt"',
  summary: "chat: stream the answer (stdin is appended as context)",
  details: `The message may come as arguments, with --text, from --file (- is stdin) or piped on stdin; an
argument and stdin together send the argument followed by stdin. The first argument is the model
when it looks like <credential>/<model>. The agent's tools work in this folder unless --cwd says
otherwise. Ctrl-C stops the turn (a second Ctrl-C exits at once). Permission requests are asked on a
terminal; without one they are denied unless --allow or --yes grant them for this turn.`,
  positionals: { min: 0, max: Number.POSITIVE_INFINITY, names: "" },
  options: [
    "model",
    "text",
    "file",
    "cwd",
    "continue",
    "resume",
    "conversation",
    "effort",
    "workspace",
    "show-reasoning",
    "open",
    "allow",
    "yes",
    "detach",
  ],
  async run(ctx) {
    const prompt = await gatherPrompt(ctx, "dispatch", true);
    if (!prompt) {
      ctx.print(ctx.helpFor(undefined));
      return EXIT.ok;
    }
    const effort = stringFlag(ctx.values, "effort");
    if (effort !== undefined && !EFFORTS.includes(effort as ReasoningEffort))
      throw new CliError(`--effort: "${effort}" is not one of ${EFFORTS.join(", ")}`, EXIT.usage);
    const here = ctx.io.cwd ?? process.cwd();
    const explicitCwd = stringFlag(ctx.values, "cwd");
    const cwd = existingFolder(
      explicitCwd ?? here,
      here,
      explicitCwd === undefined ? "this folder" : "--cwd",
    );
    const resume = stringFlag(ctx.values, "resume") ?? stringFlag(ctx.values, "conversation");
    if (resume !== undefined && ctx.values.continue)
      throw new CliError("--continue and --resume exclude each other", EXIT.usage);
    const grant = grantFrom(ctx);
    const body: ChatRequestBody = { message: prompt.text };
    if (prompt.model) body.model = prompt.model;
    const conn = await ctx.daemon();
    if (resume !== undefined) body.conversationId = await ctx.resolveId(conn, resume);
    else if (ctx.values.continue) body.conversationId = await mostRecent(ctx, cwd);
    // A continued conversation keeps its own folder unless --cwd moves it.
    if (body.conversationId === undefined || explicitCwd !== undefined) body.cwd = cwd;
    if (effort) body.reasoningEffort = effort as ReasoningEffort;
    const workspace = stringFlag(ctx.values, "workspace");
    if (workspace) body.workspaceId = workspace;
    if (grant) body.grant = grant;
    return chat(
      conn,
      body,
      {
        json: ctx.json,
        open: Boolean(ctx.values.open),
        showReasoning: Boolean(ctx.values["show-reasoning"]),
        detach: Boolean(ctx.values.detach),
      },
      ctx.io,
    );
  },
};
