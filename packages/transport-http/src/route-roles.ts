/**
 * Who may call each route: the protocol's route table declares it (`HttpRoute.role`), the operations
 * core's `authorize` decides it (one rule for every transport). The guard asks before a handler runs,
 * with the route's `:id`, so a share viewer is refused every owner route and every other
 * conversation alike — whether that conversation exists or not.
 */
import { authorize, type OpError, type Requirement, type Role } from "@dispatch/operations";
import { httpRoutes } from "@dispatch/protocol";
import type { HttpMethod } from "./route-match";

/** `"<METHOD> <bun path>"` → its requirement, from the protocol's table. */
const REQUIREMENTS: ReadonlyMap<string, Requirement> = new Map(
  httpRoutes.map((r) => [
    `${r.method.toUpperCase()} ${r.path.replace(/\{(\w+)\}/g, ":$1")}`,
    r.role as Requirement,
  ]),
);

/** Pure: the requirement of a routed request; a route the table does not declare is owner-only. */
export function routeRequirement(method: string, path: string): Requirement {
  return REQUIREMENTS.get(`${method.toUpperCase() as HttpMethod} ${path}`) ?? "owner";
}

/** Pure: the refusal of `role` for `method path` (with its `:id`, when it has one), or nothing. */
export function authorizeRoute(
  role: Role,
  method: string,
  path: string,
  conversationId: string | undefined,
): OpError | undefined {
  return authorize(routeRequirement(method, path), role, `${method.toUpperCase()} ${path}`, conversationId);
}
