/**
 * `concurrent-futures/progress`: tqdm for executors. Wrap an `asCompleted(...)`
 * or `executor.map(...)` iteration, or an array of futures, and a bar on a
 * terminal's stderr shows how far it got:
 *
 *     for await (const f of progress(asCompleted(futures))) console.log(await f.result());
 *
 * The bar is drawn by cli-progress, an optional dependency: without it, plain
 * lines say the same now and then.
 * @module concurrent-futures/progress
 */
import type { Writable } from 'node:stream';
import type { ExecutorStats } from './executor.js';
import { Future } from './future.js';
import { ProgressDisplay } from './progress/display.js';
import { itemCount } from './item-count.js';

/** The options of `progress()`. */
export interface ProgressOptions {
  /**
   * How many items there are. Default: the length of an array, the number of
   * futures given to `asCompleted()`, or that of a `map()` over arrays;
   * otherwise unknown (or estimated, see `executor`).
   */
  total?: number;
  /**
   * Where the total is unknown, the executor doing the work: its `stats()` estimate
   * the total as items done so far plus its queued and running tasks.
   */
  executor?: {
    /** Its counts, as `Executor.stats()` gives them. */
    stats(): ExecutorStats;
  };
  /** Text before the bar. */
  label?: string;
  /** Where to draw; default `process.stderr`. */
  stream?: Writable & {
    /** Whether it is a terminal: the bar is drawn only there. */
    isTTY?: boolean;
  };
  /** Where the stream is not a terminal, write a plain progress line every `interval` ms instead of nothing. */
  lines?: boolean;
  /** Milliseconds between plain lines; default 1000. */
  interval?: number;
  /** Show nothing (tqdm's `disable`). */
  disable?: boolean;
}

/**
 * Yields what `source` yields, unchanged, while a progress bar counts it.
 *
 * - An async iteration (`asCompleted(...)`, `executor.map(...)`, any async
 *   iterable): each item yielded is one done; a future that failed counts as a
 *   failure, and so does an error that ends the iteration (it is rethrown).
 * - An array (or iterable) of futures: they are yielded in their order, for the
 *   "use sequentially" pattern, and each counts as done when it completes, in
 *   whatever order that happens; the loop ends once every one of them is done,
 *   so `for await (const _ of progress(futures));` waits for all with a bar.
 * - Any other iterable: each item yielded is one done.
 *
 * Leaving the loop early closes `source` (so `map` cancels what has not started)
 * and leaves the bar where it got to.
 */
export function progress<T>(source: AsyncIterable<T> | Iterable<T>, options: ProgressOptions = {}): AsyncIterableIterator<T> {
  if (source === null || typeof source !== 'object' || !(Symbol.asyncIterator in source || Symbol.iterator in source)) {
    throw new TypeError(`progress() expects an iterable or async iterable, got ${source === null ? 'null' : typeof source}`);
  }
  if (options.total !== undefined && (!Number.isInteger(options.total) || options.total < 0)) {
    throw new RangeError(`progress(): total must be a non-negative integer, got ${options.total}`);
  }
  if (Symbol.asyncIterator in source) return trackIteration(source as AsyncIterable<T>, options, options.total ?? itemCount(source));
  const items = Array.isArray(source) ? (source as T[]) : Array.from(source as Iterable<T>);
  if (items.length > 0 && items.every((item) => item instanceof Future)) {
    return trackFutures(items as unknown as Future<unknown>[], options) as AsyncIterableIterator<T>;
  }
  return trackIteration(items, options, options.total ?? items.length);
}

/** Counts failures of futures: their outcome is read without delaying the yield. */
function countOutcome(display: ProgressDisplay, future: Future<unknown>): void {
  if (future.cancelled()) {
    display.add(1, 1);
    return;
  }
  display.add(1);
  future.exception().then(
    (error) => {
      if (error !== undefined) display.add(0, 1);
    },
    () => {},
  );
}

/** Feeds the total from `executor.stats()` while it is unknown; returns the function that stops. */
function watchExecutor(display: ProgressDisplay, options: ProgressOptions, total: number | undefined): (completed: boolean) => void {
  const executor = options.executor;
  if (executor === undefined || total !== undefined) return () => {};
  const refresh = (): void => {
    const stats = executor.stats();
    display.setTotal(display.done + stats.queued + stats.running);
  };
  refresh();
  const timer = setInterval(refresh, 200);
  timer.unref();
  return (completed) => {
    clearInterval(timer);
    // The estimate ends where the iteration did.
    if (completed) display.setTotal(display.done);
  };
}

async function* trackIteration<T>(source: AsyncIterable<T> | Iterable<T>, options: ProgressOptions, total: number | undefined): AsyncGenerator<T> {
  const display = await ProgressDisplay.open({ ...options, total });
  const unwatch = watchExecutor(display, options, total);
  let completed = false;
  try {
    for await (const item of source as AsyncIterable<T>) {
      if (item instanceof Future) countOutcome(display, item);
      else display.add(1);
      yield item;
    }
    completed = true;
  } catch (error) {
    display.add(1, 1);
    throw error;
  } finally {
    unwatch(completed);
    display.close();
  }
}

async function* trackFutures<T>(futures: Future<T>[], options: ProgressOptions): AsyncGenerator<Future<T>> {
  const display = await ProgressDisplay.open({ ...options, total: options.total ?? futures.length });
  for (const future of futures) future.addDoneCallback((f) => countOutcome(display, f as Future<unknown>));
  try {
    // Yielding in order; the bar follows completions, not the loop.
    yield* futures;
    // The display must not close before the last futures it counts.
    await waitAll(futures);
  } finally {
    display.close();
  }
}

function waitAll(futures: Future<unknown>[]): Promise<void> {
  let left = futures.length;
  if (left === 0) return Promise.resolve();
  return new Promise((resolve) => {
    for (const future of futures) future.addDoneCallback(() => --left === 0 && resolve());
  });
}
