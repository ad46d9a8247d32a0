/**
 * The route table of PROTOCOL.md §6 (Bun `routes` shape, handlers not yet guarded — see server.ts).
 * Every client operation, reads included, is a command run through the operations core
 * (`operationRunner`); the route modules only parse requests and render values.
 */
import type { ApiDeps } from "./api-deps";
import { chatRoute } from "./chat-route";
import { conversationRoutes } from "./conversation-routes";
import { eventRoutes } from "./event-routes";
import { operationRunner } from "./operations";
import type { RouteTable } from "./request";
import { settingsRoutes } from "./settings-routes";
import { shareRoutes } from "./share-routes";
import { systemRoutes } from "./system-routes";

export type { ApiDeps } from "./api-deps";
export type { RouteHandler, RouteTable } from "./request";

export function apiRoutes(deps: ApiDeps): RouteTable {
  const { orchestrator, conversations, log, settings } = deps;
  const op = operationRunner({
    orchestrator,
    gate: deps.gate,
    ...(deps.shares === undefined ? {} : { shares: deps.shares }),
    reads: {
      status: (id) => orchestrator.status(id),
      getSettings: (id) => settings.getSettings(id),
      updateSettings: (id, patch) => settings.updateSettings(id, patch),
      listConversations: (q) => conversations.listConversations(q),
      readWindow: (id, q) => log.readWindow(id, q),
      models: () => deps.models(),
      defaultModel: () => deps.defaultModel?.(),
      mcpServers: () => deps.mcpServers(),
      health: () => ({ ok: true, version: deps.version, ...deps.health() }),
    },
  });
  return {
    ...systemRoutes(deps, op),
    ...chatRoute(deps, op),
    ...conversationRoutes(deps, op),
    ...settingsRoutes(deps, op),
    ...eventRoutes({
      get streams() {
        return deps.streams;
      },
      logger: deps.logger,
      get shares() {
        return deps.shares;
      },
      follow: {
        orchestrator,
        get turns() {
          return deps.turns;
        },
        workspaceOf: (id) => settings.getSettings(id)?.workspaceId,
      },
    }),
    ...shareRoutes(deps, op),
  };
}
