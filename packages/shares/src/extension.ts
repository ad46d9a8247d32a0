import { ShareStore } from "@dispatch/conversation-store/contract";
import type { Extension } from "@dispatch/kernel";
import { SHARES_EXTENSION_ID, Shares } from "./contract";
import { createShares } from "./shares";

/** Provides `Shares` over the store's share table; stops the expiry timer on shutdown. */
export function sharesExtension(opts: { now?: () => number } = {}): Extension {
  return {
    manifest: { id: SHARES_EXTENSION_ID, version: "0.1.0", provides: [Shares], needs: [ShareStore] },
    activate(ctx) {
      const shares = createShares({ store: ctx.get(ShareStore), ...(opts.now ? { now: opts.now } : {}) });
      ctx.scope.add(() => shares.dispose());
      ctx.provide(Shares, shares);
    },
  };
}
