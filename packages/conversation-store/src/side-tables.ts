/**
 * Turns, pending permission requests and workspaces: the tables beside the log. Each write goes
 * through the store's transaction runner, so the same one-writer, all-or-nothing rules apply.
 */
import { PermissionDecisionSchema } from "@dispatch/protocol";
import type { PermissionDecision } from "@dispatch/protocol/types";
import {
  type BeginTurn,
  DEFAULT_WORKSPACE_ID,
  type EndTurn,
  type PermissionRequestRecord,
  type Result,
  type SavePermissionRequest,
  type TurnRecord,
  type Workspace,
  type WorkspaceInput,
  type WorkspacePatch,
} from "./contract";
import { fail, ok, serialize, unknownConversation } from "./result";
import { toPermission, toTurn, toWorkspace } from "./rows";
import type { Statements } from "./statements";
import {
  BeginTurnSchema,
  EndTurnSchema,
  KeySchema,
  parseInput,
  SavePermissionRequestSchema,
  time,
  WorkspaceIdSchema,
  WorkspaceInputSchema,
  WorkspacePatchSchema,
} from "./validation";

type Write = <T>(fn: () => Result<T>) => Result<T>;

export class SideTables {
  constructor(
    private readonly s: Statements,
    private readonly now: () => number,
    private readonly write: Write,
  ) {}

  // ── turns ──

  beginTurn(turn: BeginTurn): Result<TurnRecord> {
    const p = parseInput(BeginTurnSchema, turn, "beginTurn");
    if (!p.ok) return p;
    const t = p.value;
    return this.write(() => {
      if (!this.s.conversationExists.get(t.conversationId)) {
        return unknownConversation(t.conversationId, "beginTurn");
      }
      if (this.s.turnById.get(t.turnId))
        return fail("STORE_TURN_EXISTS", `turn "${t.turnId}" already exists`);
      const row = this.s.insertTurn.get({
        id: t.turnId,
        conversationId: t.conversationId,
        startedAt: t.startedAt,
      });
      return row ? ok(toTurn(row)) : fail("STORE_WRITE_FAILED", `turn "${t.turnId}" was not inserted`);
    });
  }

  /** Records how a turn ended; a later call overwrites (the last word wins). */
  endTurn(turnId: string, end: EndTurn): Result<TurnRecord> {
    const key = parseInput(KeySchema, turnId, "endTurn turnId");
    if (!key.ok) return key;
    const p = parseInput(EndTurnSchema, end, `endTurn "${turnId}" end`);
    if (!p.ok) return p;
    const e = p.value;
    const metrics = e.metrics === undefined ? undefined : serialize(e.metrics);
    if (e.metrics !== undefined && metrics === undefined) {
      return fail("STORE_INVALID_INPUT", `endTurn "${turnId}" end.metrics: not JSON-serializable`);
    }
    return this.write(() => {
      const row = this.s.endTurn.get({
        id: turnId,
        status: e.status,
        endedAt: e.endedAt,
        usage: e.usage === undefined ? null : JSON.stringify(e.usage),
        metrics: metrics ?? null,
      });
      return row ? ok(toTurn(row)) : fail("STORE_UNKNOWN_TURN", `turn "${turnId}" does not exist`);
    });
  }

  getTurn(turnId: string): TurnRecord | undefined {
    if (typeof turnId !== "string") return undefined;
    const row = this.s.turnById.get(turnId);
    return row ? toTurn(row) : undefined;
  }

  listTurns(conversationId: string): TurnRecord[] {
    if (typeof conversationId !== "string") return [];
    return this.s.turnsOf.all(conversationId).map(toTurn);
  }

  // ── permission requests ──

  savePermissionRequest(req: SavePermissionRequest): Result<PermissionRequestRecord> {
    const p = parseInput(SavePermissionRequestSchema, req, "savePermissionRequest");
    if (!p.ok) return p;
    const r = p.value;
    const input = serialize(r.input ?? null);
    if (input === undefined) {
      return fail(
        "STORE_INVALID_INPUT",
        `savePermissionRequest "${r.requestId}" input: not JSON-serializable`,
      );
    }
    return this.write(() => {
      if (!this.s.conversationExists.get(r.conversationId)) {
        return unknownConversation(r.conversationId, "savePermissionRequest");
      }
      if (this.s.permissionById.get(r.requestId)) {
        return fail("STORE_INVALID_INPUT", `permission request "${r.requestId}" already exists`);
      }
      const row = this.s.insertPermission.get({
        id: r.requestId,
        conversationId: r.conversationId,
        turnId: r.turnId,
        toolCallId: r.toolCallId,
        toolName: r.toolName,
        input,
        reason: r.reason,
        createdAt: r.createdAt,
      });
      return row
        ? ok(toPermission(row))
        : fail("STORE_WRITE_FAILED", `request "${r.requestId}" not inserted`);
    });
  }

  /** Only a pending request can be resolved; anything else is STORE_UNKNOWN_PERMISSION_REQUEST. */
  resolvePermissionRequest(
    requestId: string,
    decision: PermissionDecision,
    resolvedAt?: number,
  ): Result<PermissionRequestRecord> {
    const key = parseInput(KeySchema, requestId, "resolvePermissionRequest requestId");
    if (!key.ok) return key;
    const what = `resolvePermissionRequest "${requestId}"`;
    const d = parseInput(PermissionDecisionSchema, decision, `${what} decision`);
    if (!d.ok) return d;
    const at = parseInput(time.optional(), resolvedAt, `${what} resolvedAt`);
    if (!at.ok) return at;
    return this.write(() => {
      const row = this.s.resolvePermission.get({
        id: requestId,
        status: d.value,
        at: at.value ?? this.now(),
      });
      if (row) return ok(toPermission(row));
      const existing = this.s.permissionById.get(requestId);
      return fail(
        "STORE_UNKNOWN_PERMISSION_REQUEST",
        existing
          ? `permission request "${requestId}" is not pending (it is ${existing.status})`
          : `permission request "${requestId}" does not exist`,
      );
    });
  }

  listPendingPermissionRequests(conversationId: string): PermissionRequestRecord[] {
    if (typeof conversationId !== "string") return [];
    return this.s.pendingPermissions.all(conversationId).map(toPermission);
  }

  // ── workspaces ──

  /** `default` first, then by id. */
  listWorkspaces(): Workspace[] {
    return this.s.workspaces.all().map(toWorkspace);
  }

  getWorkspace(id: string): Workspace | undefined {
    if (typeof id !== "string") return undefined;
    const row = this.s.workspaceById.get(id);
    return row ? toWorkspace(row) : undefined;
  }

  createWorkspace(input: WorkspaceInput): Result<Workspace> {
    const p = parseInput(WorkspaceInputSchema, input, "createWorkspace");
    if (!p.ok) return p;
    const w = p.value;
    return this.write(() => {
      if (this.s.workspaceById.get(w.id))
        return fail("STORE_WORKSPACE_EXISTS", `workspace "${w.id}" already exists`);
      const row = this.s.insertWorkspace.get({
        id: w.id,
        title: w.title ?? w.id,
        cwd: w.defaultCwd ?? null,
        createdAt: this.now(),
      });
      return row ? ok(toWorkspace(row)) : fail("STORE_WRITE_FAILED", `workspace "${w.id}" was not inserted`);
    });
  }

  updateWorkspace(id: string, patch: WorkspacePatch): Result<Workspace> {
    const key = parseInput(KeySchema, id, "updateWorkspace id");
    if (!key.ok) return key;
    const p = parseInput(WorkspacePatchSchema, patch, `updateWorkspace "${id}" patch`);
    if (!p.ok) return p;
    const v = p.value;
    return this.write(() => {
      const row = this.s.updateWorkspace.get({
        id,
        title: v.title ?? null,
        setCwd: v.defaultCwd !== undefined,
        cwd: v.defaultCwd ?? null,
      });
      return row ? ok(toWorkspace(row)) : fail("STORE_UNKNOWN_WORKSPACE", `workspace "${id}" does not exist`);
    });
  }

  deleteWorkspace(id: string): Result<void> {
    const p = parseInput(WorkspaceIdSchema, id, "deleteWorkspace id");
    if (!p.ok) return p;
    if (id === DEFAULT_WORKSPACE_ID) {
      return fail("STORE_DEFAULT_WORKSPACE", `workspace "${DEFAULT_WORKSPACE_ID}" always exists`);
    }
    return this.write(() => {
      if (!this.s.workspaceById.get(id))
        return fail("STORE_UNKNOWN_WORKSPACE", `workspace "${id}" does not exist`);
      if (this.s.workspaceInUse.get(id)) {
        return fail(
          "STORE_WORKSPACE_NOT_EMPTY",
          `workspace "${id}" still holds conversations; move them to another workspace first`,
        );
      }
      this.s.deleteWorkspace.run(id);
      return ok(undefined);
    });
  }
}
