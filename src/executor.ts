import { checkFunction, checkOptions } from './checks.js';
import { ExecutorShutdownError } from './errors.js';
import { KeepAlive } from './keep-alive.js';
import type { Future } from './future.js';
import { MapIterator } from './map.js';
import { splitMapArgs, type IterablesOf, type MapOptions } from './map/input.js';

/** A snapshot of an executor's work, for progress displays and monitoring. */
export interface ExecutorStats {
  /** Workers (for `AsyncPoolExecutor`: `maxWorkers`). */
  workers: number;
  /** Workers with nothing to run (for `AsyncPoolExecutor`: free slots). */
  idleWorkers: number;
  /** Submitted, not started, not cancelled. */
  queued: number;
  /** Started, not done. */
  running: number;
  /** Successes and failures. */
  completed: number;
  /** Failures only. */
  failed: number;
  /** Cancellations. */
  cancelled: number;
}

/** The options of `shutdown()`. */
export interface ShutdownOptions {
  /** Resolve only once every submitted task has ended and every worker exited (default `true`). */
  wait?: boolean;
  /** Cancel every task that has not started (default `false`). */
  cancelFutures?: boolean;
}

/**
 * The counters behind `stats()`, one rule for every executor: a task is
 * pending from its submit until it ends (done, failed or cancelled), and what
 * is pending and not running is queued. @internal
 */
export class Counters {
  /** Submitted and not ended. */
  pending = 0;
  /** Items `map` has read for the executor and holds, not sent yet (its automatic chunks): queued too. */
  unsent = 0;
  completed = 0;
  failed = 0;
  cancelled = 0;

  /** What `stats()` returns, given the executor's workers and how many of its pending tasks run now. */
  snapshot(workers: number, idleWorkers: number, running: number): ExecutorStats {
    return { workers, idleWorkers, queued: this.pending + this.unsent - running, running, completed: this.completed, failed: this.failed, cancelled: this.cancelled };
  }
}

/**
 * Runs calls asynchronously: the base class of every executor, as Python's
 * `Executor`. Subclasses provide `submit` and the shutdown steps; `map`,
 * `shutdown` and `Symbol.asyncDispose` are shared.
 */
export abstract class Executor {
  /** @internal */ protected _shutdown = false;
  /** @internal */ protected readonly _counters = new Counters();
  /** Holds the process open while the executor has work (or workers that have yet to exit). @internal */
  protected readonly _keepAlive = new KeepAlive();
  /** @internal */ private _endShutdown: (() => void) | null = null;
  /** @internal */ private readonly _whenTerminated = new Promise<void>((resolve) => (this._endShutdown = resolve));
  /** The maps holding items read and not sent yet: sent before a shutdown. @internal */
  private _unsentMaps: Set<{ sendAll(): void }> | null = null;

  /**
   * Schedules `fn(...args)` and returns a future for its result at once; the
   * task never starts inside this call. Throws `ExecutorShutdownError` after
   * `shutdown()`, a `TypeError` for a function that cannot run there (worker
   * pools refuse native, bound and entry-module functions), and the pool's
   * `BrokenExecutorError` once its initializer failed.
   */
  abstract submit<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Future<Awaited<R>>;

  /**
   * Like `zip`-ing the iterables and calling `fn` on each tuple, concurrently:
   * yields the results in input order. Submission starts at the call. The
   * optional last argument holds `timeout`, `chunksize` and `buffersize` (see
   * {@link MapOptions}). A task's error is thrown when its position is reached;
   * leaving the loop early or a failure cancels what has not started. Throws a
   * `TypeError` for a non-function or non-iterable, a `RangeError` for a count
   * below 1, `TimeoutError` when `timeout` runs out, `ExecutorShutdownError`
   * after `shutdown()`.
   */
  map<A extends unknown[], R>(
    fn: (...args: A) => R,
    ...iterables: [...IterablesOf<A>] | [...IterablesOf<A>, MapOptions]
  ): AsyncIterableIterator<Awaited<R>> {
    checkFunction(fn, 'map()');
    const { iterables: inputs, options } = splitMapArgs(iterables);
    return new MapIterator<Awaited<R>>(this, fn as (...args: any[]) => unknown, inputs, options);
  }

  /**
   * Signals the executor to free its resources once pending work is done.
   * With `wait` (the default) it resolves once every submitted task has ended
   * and every worker has exited; with `cancelFutures` the tasks that have not
   * started are cancelled. Calling it again is harmless. Defaults: `wait: true`,
   * `cancelFutures: false`; a `TypeError` when either is not a boolean.
   */
  async shutdown(options?: ShutdownOptions): Promise<void> {
    const { wait = true, cancelFutures = false } = checkOptions<ShutdownOptions>(options, 'shutdown()');
    if (typeof wait !== 'boolean') throw new TypeError('shutdown(): wait must be a boolean');
    if (typeof cancelFutures !== 'boolean') throw new TypeError('shutdown(): cancelFutures must be a boolean');
    if (wait && this._runsCurrentTask()) {
      // It would wait for its own end: CPython raises RuntimeError for the same.
      throw new Error("shutdown() was awaited from one of this executor's own tasks, which would wait for itself forever: use shutdown({ wait: false }) there");
    }
    if (this._unsentMaps !== null && !this._shutdown) {
      // Sent while the executor still takes work: a map called before shutdown() runs all its input, as in Python.
      for (const map of [...this._unsentMaps]) map.sendAll();
    }
    this._shutdown = true;
    this._beginShutdown(cancelFutures, wait);
    if (wait) await this._whenTerminated;
  }

  /** `shutdown({ wait: true })`, for `await using executor = ...`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown({ wait: true });
  }

  /** A snapshot of the executor's work (counts since creation), cheap enough to poll for a progress display. */
  abstract stats(): ExecutorStats;

  /** `map` holds `count` more items read and not sent yet (fewer, when negative): `stats()` counts them as queued. @internal */
  _unsent(count: number): void {
    this._counters.unsent += count;
  }

  /** A map holds such items (`sendAll()` sends them), or no longer. @internal */
  _holdUnsent(map: { sendAll(): void }, holding: boolean): void {
    if (holding) (this._unsentMaps ??= new Set()).add(map);
    else this._unsentMaps?.delete(map);
  }

  /** That many of them will never be sent (the iteration ended): they count as cancelled. @internal */
  _dropUnsent(count: number): void {
    this._counters.unsent -= count;
    this._counters.cancelled += count;
  }

  /** Whether the code running now is one of this executor's tasks. @internal */
  protected _runsCurrentTask(): boolean {
    return false;
  }

  /** Throws when no new work may be submitted. @internal */
  protected _checkOpen(): void {
    if (this._shutdown) throw new ExecutorShutdownError();
  }

  /** Stops taking work; cancels queued work when asked. @internal */
  protected abstract _beginShutdown(cancelFutures: boolean, wait: boolean): void;

  /** After `shutdown()`, once every task has ended and every worker has exited: what `shutdown()` waits for. @internal */
  protected _terminated(): void {
    this._endShutdown?.();
    this._endShutdown = null;
  }
}
