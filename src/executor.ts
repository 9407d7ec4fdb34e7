import { itemsRan } from './chunk.js';
import { checkFunction, checkOptions } from './checks.js';
import { ExecutorShutdownError } from './errors.js';
import { KeepAlive } from './keep-alive.js';
import type { Future } from './future.js';
import { MapIterator } from './map.js';
import { splitMapArgs, type IterablesOf, type MapOptions } from './map/input.js';
import { followSignal, mergeTaskOptions, taskSettings, type TaskOptions, type TaskSettings } from './task-options.js';
import { Latency } from './latency.js';

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
  /**
   * How long recent tasks ran, started to done, in ms: over the last 1024 timed
   * tasks (every task while fewer than ~20,000 are submitted a second, and the
   * first 64 of a burst; above that a regular sample of them), `map` items
   * each counted; all 0 while `count` is 0.
   */
  runTime: {
    /** Tasks (items) the figures are over. */ count: number;
    /** Their mean, ms. */ mean: number;
    /** The median, ms. */ p50: number;
    /** The 90th percentile, ms. */ p90: number;
    /** The 99th percentile, ms. */ p99: number;
  };
  /** How long the same tasks waited, queued (submitted) to started, in ms. */
  waitTime: {
    /** Tasks (items) the figures are over. */ count: number;
    /** Their mean, ms. */ mean: number;
    /** The median, ms. */ p50: number;
    /** The 90th percentile, ms. */ p90: number;
    /** The 99th percentile, ms. */ p99: number;
  };
  /**
   * The share of worker time spent running tasks over the last 5 seconds (or
   * since the first task, if less), 0 to 1: of the workers the executor had
   * then (a worker ended or retired still counts what it ran; one started
   * lately counts from its start). `BullMQExecutor`: NaN (its workers are not seen from here).
   */
  utilization: number;
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
  /** The items of pending `map` chunks past the first of each: a chunk is one task, its items are counted each. */
  chunkItems = 0;
  completed = 0;
  failed = 0;
  cancelled = 0;
  /** Wait and run times of recent tasks, and busy time. */
  readonly latency = new Latency();

  /** A task of `items` (a chunk's length, or 1) is submitted; whether it is the only one pending. */
  added(items: number): boolean {
    this.chunkItems += items - 1;
    return this.pending++ === 0;
  }

  /** A task of `items` ended, or is no longer this executor's; whether none is pending. */
  removed(items: number): boolean {
    this.chunkItems -= items - 1;
    return --this.pending === 0;
  }

  /** A chunk of `items` ended with this outcome: each item that ran counts, the failed one too, and those after it as cancelled. */
  chunkEnded(outcome: { values: unknown[]; failed: boolean }, items: number): void {
    const ran = itemsRan(outcome);
    this.completed += ran;
    if (outcome.failed) this.failed++;
    this.cancelled += items - ran;
  }

  /**
   * `items` of a running task were interrupted: cancelled, or failed when its timeout ran out. Its latency
   * `ticket` counts its wait and its run so far; `busy`: that run is busy time no worker will report.
   */
  interrupted(future: Future<any>, items: number, ticket: number, busy: boolean): void {
    if (future._control?.timingOut === true) {
      this.completed += items;
      this.failed += items;
    } else {
      this.cancelled += items;
    }
    if (ticket >= 0) this.latency.interrupted(ticket, performance.now(), items, busy);
  }

  /**
   * What `stats()` returns, given the executor's workers, how many of its pending tasks run now,
   * and what the running ones have run inside the utilization window (ms; NaN: not known).
   */
  snapshot(workers: number, idleWorkers: number, running: number, runningMs = 0): ExecutorStats {
    const l = this.latency;
    return {
      workers,
      idleWorkers,
      queued: this.pending + this.chunkItems + this.unsent - running,
      running,
      completed: this.completed,
      failed: this.failed,
      cancelled: this.cancelled,
      runTime: l.runTime(),
      waitTime: l.waitTime(),
      utilization: l.utilization(performance.now(), runningMs),
    };
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
   * A view of this executor whose `submit` and `map` run each task with these
   * options (see {@link TaskOptions}: `priority`, `timeout`, `retries`,
   * `signal`); `shutdown` and `stats` are the executor's own. Views nest: the
   * latest wins per key. `map` on a view submits one task per item (no
   * chunks), so that every item gets the options. Throws a `TypeError` for
   * an unknown option or a value of the wrong type, a `RangeError` for one
   * out of range.
   */
  withOptions(options: TaskOptions): Executor {
    const given = mergeTaskOptions({}, options, 'withOptions()');
    return new ExecutorView(this, given, taskSettings(given));
  }

  /** The executor that runs the tasks submitted here: a `withOptions()` view's, otherwise this one. @internal */
  _target(): Executor {
    return this;
  }

  /**
   * `submit` with per-task options, for `withOptions()` views. Executors that
   * order, time and retry tasks override it; any other takes a signal only.
   * @internal
   */
  _submitWith(settings: TaskSettings, fn: (...args: any[]) => unknown, args: unknown[]): Future<any> {
    if (settings.hasPriority || settings.timeout !== undefined || settings.attempts > 0) {
      throw new TypeError(`${this.constructor.name} does not support the priority, timeout and retries options; only signal`);
    }
    return this.submit(fn, ...args);
  }

  /**
   * Signals the executor to free its resources once pending work is done.
   * With `wait` (the default) it resolves once every submitted task has ended
   * and every worker has exited; with `cancelFutures` the tasks that have not
   * started are cancelled. Calling it again is harmless. Defaults: `wait: true`,
   * `cancelFutures: false`; a `TypeError` when either is not a boolean.
   */
  async shutdown(options?: ShutdownOptions): Promise<void> {
    const { wait = true, cancelFutures = false } = checkOptions<ShutdownOptions>(options, 'shutdown()', ['wait', 'cancelFutures']);
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

/** What `withOptions()` returns: the same executor, its tasks submitted with options. */
class ExecutorView extends Executor {
  constructor(
    private readonly _base: Executor,
    private readonly _given: TaskOptions,
    private readonly _settings: TaskSettings,
  ) {
    super();
  }

  submit<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Future<Awaited<R>> {
    const future = this._base._submitWith(this._settings, fn as (...args: any[]) => unknown, args);
    if (this._settings.signal !== undefined) followSignal(future, this._settings.signal);
    return future;
  }

  override withOptions(options: TaskOptions): Executor {
    const given = mergeTaskOptions(this._given, options, 'withOptions()');
    return new ExecutorView(this._base, given, taskSettings(given));
  }

  override _submitWith(settings: TaskSettings, fn: (...args: any[]) => unknown, args: unknown[]): Future<any> {
    return this._base._submitWith(settings, fn, args);
  }

  override _target(): Executor {
    return this._base._target();
  }

  override shutdown(options?: ShutdownOptions): Promise<void> {
    return this._base.shutdown(options);
  }

  stats(): ExecutorStats {
    return this._base.stats();
  }

  /** @internal */
  protected _beginShutdown(): void {}
}
