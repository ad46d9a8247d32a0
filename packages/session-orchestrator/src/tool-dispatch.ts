export interface DispatchOptions<T> {
  /** At most this many items run at the same time (at least 1). */
  concurrency: number;
  /** An exclusive item starts only when nothing else runs, and nothing starts while it runs. */
  isExclusive(item: T): boolean;
}

/**
 * Runs `run` for every item under the tool dispatch policy and returns the results in item order
 * (the order the model issued the calls), whatever order they finish in.
 *
 * - Items start in order; a sliding window keeps up to `concurrency` of them running.
 * - Exclusive items run alone: they wait for everything started before them, and items after them wait
 *   for them to finish.
 * - Every item runs once: identical items (same tool, same arguments) are never merged.
 *
 * `run` should not reject (the turn loop turns every failure into an error result); if it does, the
 * remaining items still run and the first rejection is rethrown after all have settled.
 */
export async function dispatchInOrder<T, R>(
  items: readonly T[],
  opts: DispatchOptions<T>,
  run: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const limit = Math.max(1, Math.floor(opts.concurrency));
  const results = new Array<R>(items.length);
  const running = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;

  const start = (item: T, index: number): Promise<void> => {
    const p = run(item, index).then(
      (r) => {
        results[index] = r;
      },
      (error: unknown) => {
        failure ??= { error };
      },
    );
    const tracked = p.finally(() => running.delete(tracked));
    running.add(tracked);
    return tracked;
  };

  for (const [index, item] of items.entries()) {
    if (opts.isExclusive(item)) {
      await Promise.all(running);
      await start(item, index);
      continue;
    }
    while (running.size >= limit) await Promise.race(running);
    start(item, index);
  }
  await Promise.all(running);
  if (failure) throw failure.error;
  return results;
}
