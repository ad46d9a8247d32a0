/**
 * Share links (PROTOCOL.md §8): create, list, revoke — owner operations of the core. The answer to a
 * create is the only place the secret appears; its `url` opens the viewer page with the secret in the
 * fragment, which browsers never send to a server (so no request log can hold it).
 */
import { ShareCreateBodySchema } from "@dispatch/protocol";
import type {
  ShareCreateResponse,
  ShareListResponse,
  ShareRevokeResponse,
  ShareSummary,
} from "@dispatch/protocol/types";
import type { ApiDeps } from "./api-deps";
import { existing } from "./conversation-routes";
import type { RunOperation } from "./operations";
import { handle, json, jsonBody, param, type RouteTable } from "./request";
import { requestBaseUrl } from "./system-routes";

/** Pure: the viewer page of a share, as reached through `base`. */
export function shareUrl(base: string, shareId: string, secret: string): string {
  return `${base}/s/${encodeURIComponent(shareId)}#${secret}`;
}

export function shareRoutes(deps: ApiDeps, op: RunOperation): RouteTable {
  return {
    "/conversations/:id/shares": {
      POST: handle(async (req) => {
        const conversationId = param(req, "id");
        const label = "POST /conversations/:id/shares";
        const b = await jsonBody(req, deps.maxBodyBytes, ShareCreateBodySchema, label, true);
        const command: {
          type: "share.create";
          conversationId: string;
          expiresInSec?: number;
          label?: string;
        } = {
          type: "share.create",
          conversationId,
        };
        if (b.expiresInSec !== undefined) command.expiresInSec = b.expiresInSec;
        if (b.label !== undefined) command.label = b.label;
        const s = (await op(command, req)) as { shareId: string; secret: string; expiresAt: number };
        const body: ShareCreateResponse = {
          shareId: s.shareId,
          secret: s.secret,
          url: shareUrl(requestBaseUrl(req), s.shareId, s.secret),
          expiresAt: s.expiresAt,
        };
        return json(body, 201);
      }),
      GET: handle(async (req) => {
        const conversationId = await existing(op, req);
        const shares = (await op({ type: "share.list", conversationId }, req)) as ShareSummary[];
        return json({ shares } satisfies ShareListResponse);
      }),
    },
    "/shares/:shareId": {
      DELETE: handle(async (req) => {
        const shareId = param(req, "shareId");
        const r = (await op({ type: "share.revoke", shareId }, req)) as ShareRevokeResponse;
        return json({ shareId: r.shareId, revoked: true } satisfies ShareRevokeResponse);
      }),
    },
  };
}
