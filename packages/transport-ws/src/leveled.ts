/**
 * Subscribers split by protocol level. Every pub/sub topic of the fan-out exists once per level
 * (`<base>#<level>`), and a socket is on the topic of its own level only, so one publish per level
 * reaches exactly the connections that may see the frame — what each level sees is decided by
 * `visibleAt` (@dispatch/protocol/levels), never here.
 */
import type { ProtocolLevel } from "@dispatch/protocol";

/** Pure: the topic of `base` for connections of `level`. */
export function levelTopic(base: string, level: ProtocolLevel): string {
  return `${base}#${level}`;
}

/** A set of subscribers, one bucket per level (a member's level is read when it is added or removed). */
export class LeveledSet<T extends { data: { level: ProtocolLevel } }> {
  private readonly buckets = new Map<ProtocolLevel, Set<T>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(member: T): void {
    let set = this.buckets.get(member.data.level);
    if (set === undefined) {
      set = new Set();
      this.buckets.set(member.data.level, set);
    }
    if (set.has(member)) return;
    set.add(member);
    this.count++;
  }

  /** Removes `member` from the bucket of `level` (default: its current level). */
  delete(member: T, level: ProtocolLevel = member.data.level): boolean {
    const set = this.buckets.get(level);
    if (set === undefined || !set.delete(member)) return false;
    this.count--;
    if (set.size === 0) this.buckets.delete(level);
    return true;
  }

  has(member: T): boolean {
    return this.buckets.get(member.data.level)?.has(member) === true;
  }

  /** The non-empty buckets. */
  levels(): IterableIterator<[ProtocolLevel, Set<T>]> {
    return this.buckets.entries();
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (const set of this.buckets.values()) yield* set;
  }
}
