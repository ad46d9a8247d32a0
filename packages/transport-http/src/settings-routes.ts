/**
 * `GET|PUT /conversations/:id/<setting>`: both are reads of the operations core (a PUT is answered
 * with the updated setting). The existence check (404) comes before the body is read.
 */
import type { SettingName } from "@dispatch/operations";
import {
  CwdSettingBodySchema,
  ModelSettingBodySchema,
  ReasoningEffortSettingBodySchema,
  TitleSettingBodySchema,
} from "@dispatch/protocol";
import type { SettingsPatch } from "@dispatch/session-orchestrator/contract";
import type { z } from "zod";
import type { ApiDeps } from "./api-deps";
import { existing } from "./conversation-routes";
import type { RunOperation } from "./operations";
import { handle, json, jsonBody, type RouteTable } from "./request";

function setting<S extends z.ZodType>(
  deps: ApiDeps,
  op: RunOperation,
  path: string,
  name: SettingName,
  schema: S,
  patch: (value: z.output<S>) => SettingsPatch,
): RouteTable {
  return {
    [`/conversations/:id/${path}`]: {
      GET: handle(async (req) => {
        const conversationId = await existing(op, req);
        return json(
          await op(
            { type: "read", read: { read: "conversation.setting", conversationId, setting: name } },
            req,
          ),
        );
      }),
      PUT: handle(async (req) => {
        const conversationId = await existing(op, req);
        const value = await jsonBody(req, deps.maxBodyBytes, schema, `PUT /conversations/:id/${path}`);
        const read = {
          read: "conversation.setting.update" as const,
          conversationId,
          setting: name,
          patch: patch(value),
        };
        return json(await op({ type: "read", read }, req));
      }),
    },
  };
}

export function settingsRoutes(deps: ApiDeps, op: RunOperation): RouteTable {
  return {
    ...setting(deps, op, "model", "model", ModelSettingBodySchema, (b) => ({ model: b.model })),
    ...setting(deps, op, "title", "title", TitleSettingBodySchema, (b) => ({ title: b.title })),
    ...setting(deps, op, "cwd", "cwd", CwdSettingBodySchema, (b) => ({ cwd: b.cwd })),
    ...setting(deps, op, "reasoning-effort", "reasoningEffort", ReasoningEffortSettingBodySchema, (b) => ({
      reasoningEffort: b.reasoningEffort,
    })),
  };
}
