/**
 * The per-entry permission filter of the search tools (glob, grep, list_dir). The gate judges the
 * folder a search starts in; this judges every entry the search lists or file it reads against the
 * same path rules (policy.ts `pathMatcher`), so `{ paths = ["**\/.env*"], action = "deny" }` holds for
 * `grep` and `glob` on the folder too:
 *
 * - covered by a deny rule: neither listed nor read, and a pruned folder is not descended into;
 * - covered by an ask rule: listed by name (glob, list_dir), but grep does not read it. Asking once per
 *   file in the middle of a search would flood the user, and asking for an unknown set up front cannot
 *   name what is asked for; instead the result says how many files were skipped and how to read them:
 *   read_file (or grep with that path), which asks.
 *
 * A symlink is judged by its own path and by its target's, like the gate judges symlinked paths.
 */

import * as path from "node:path";
import type { SearchAccess } from "./contract";
import { type FsRoot, isInside } from "./fs-root";
import { pathMatcher } from "./policy";

export type EntryVerdict = "list" | "hide" | "unread";

const EXAMPLES = 3;

export class SearchFilter {
  private readonly deny: ((p: string) => boolean)[];
  private readonly ask: ((p: string) => boolean)[];
  /** Entries not listed or read because a deny rule covers them. */
  hidden = 0;
  /** Files grep did not read because an ask rule covers them (the first few named). */
  unread = 0;
  readonly unreadExamples: string[] = [];

  constructor(
    private readonly root: FsRoot,
    private readonly access: SearchAccess | undefined,
  ) {
    this.deny = (access?.deny ?? []).map((g) => pathMatcher(g, access?.cwd ?? "/"));
    this.ask = (access?.ask ?? []).map((g) => pathMatcher(g, access?.cwd ?? "/"));
  }

  /** Pure: `real` (absolute, symlink-free) in the form the rules see: under the cwd as given. */
  private asGiven(real: string): string {
    const cwd = this.access?.cwd;
    if (cwd === undefined || !isInside(this.root.dir, real)) return real;
    return path.join(cwd, path.relative(this.root.dir, real));
  }

  /** Pure: the verdict for one path (relative to the root, or absolute and real). */
  private judge(p: string): EntryVerdict {
    if (!this.access) return "list";
    const abs = this.asGiven(path.isAbsolute(p) ? p : path.join(this.root.dir, p));
    if (this.deny.some((m) => m(abs))) return "hide";
    return this.ask.some((m) => m(abs)) ? "unread" : "list";
  }

  /** A folder (relative to the root) not to descend into; counted as hidden. */
  pruneDir(rel: string): boolean {
    if (this.judge(rel) !== "hide") return false;
    this.hidden++;
    return true;
  }

  /**
   * The verdict for a listed entry (relative to the root); a symlink also by its target's real path.
   * "hide" is counted here; the caller counts "unread" with `skipUnread` when it would have read it.
   */
  async entry(rel: string, symlink: boolean): Promise<EntryVerdict> {
    if (!this.access) return "list";
    let verdict = this.judge(rel);
    if (verdict !== "hide" && symlink) {
      const target = await this.root.resolve(rel);
      if (target.ok) verdict = worse(verdict, this.judge(target.value.real));
    }
    if (verdict === "hide") this.hidden++;
    return verdict;
  }

  /** The verdict for a file opened at `real` (its verified real path), for grep before it reads. */
  opened(real: string): EntryVerdict {
    const verdict = this.judge(real);
    if (verdict === "hide") this.hidden++;
    return verdict;
  }

  skipUnread(rel: string): void {
    this.unread++;
    if (this.unreadExamples.length < EXAMPLES) this.unreadExamples.push(rel);
  }

  /** Notes for the result: what the rules kept out of it. */
  notes(): string[] {
    const notes: string[] = [];
    if (this.hidden > 0)
      notes.push(
        `[${this.hidden} ${this.hidden === 1 ? "entry" : "entries"} left out: covered by deny rules]`,
      );
    if (this.unread > 0) {
      const more = this.unread > this.unreadExamples.length ? ", …" : "";
      notes.push(
        `[${this.unread} file(s) not searched: covered by ask rules (${this.unreadExamples.join(", ")}${more}); ` +
          "read_file, or grep with that path, asks the user for them]",
      );
    }
    return notes;
  }
}

const RANK: Record<EntryVerdict, number> = { list: 0, unread: 1, hide: 2 };
const worse = (a: EntryVerdict, b: EntryVerdict): EntryVerdict => (RANK[b] > RANK[a] ? b : a);
