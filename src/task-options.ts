/**
 * Per-task options, as `executor.withOptions()` takes them: checked once per
 * view, then carried by each of its tasks in a TaskControl that the executor
 * running the task consults at its turns (queued, started, failed).
 * @internal
 */
import { describe } from './checks.js';
import { timerTimeoutError } from './errors.js';
import { longTimeout, type LongTimeout } from './long-timeout.js';

/** The options of `executor.withOptions()`: how each task submitted through the view runs. */
export interface TaskOptions {
  /**
   * Among the executor's queued tasks, higher runs first; FIFO within one
   * priority (default 0). A finite number; BullMQ: an integer, see its docs.
   */
  priority?: number;
  /**
   * Milliseconds from the moment the task starts (not from submit); then the
   * task is interrupted as `cancel({ interrupt: true })` would, and its future
   * fails with `TimeoutError` (it is not cancelled). Default: none.
   */
  timeout?: number;
  /**
   * How many more times a task that throws (or whose worker dies under it)
   * runs, with `backoff` ms before the first retry, doubling for each next
   * (default 0 retries, backoff 0). The future fails with the last error; a
   * cancelled or timed-out task is not run again.
   */
  retries?:
    | number
    | {
        /** Runs after the first, at most (an integer >= 0). */
        attempts: number;
        /** Milliseconds before the first retry, doubling for each next (default 0). */
        backoff?: number;
      };
  /** Aborting it is `future.cancel({ interrupt: true })` for each task of the view. */
  signal?: AbortSignal;
}

/** A view's options, checked and with their defaults: what each of its tasks runs with. @internal */
export interface TaskSettings {
  readonly priority: number;
  /** Whether `priority` was given at all: BullMQ maps an explicit 0 onto its own priorities too. */
  readonly hasPriority: boolean;
  readonly timeout: number | undefined;
  readonly attempts: number;
  readonly backoff: number;
  readonly signal: AbortSignal | undefined;
}

const KEYS = new Set(['priority', 'timeout', 'retries', 'signal']);

/**
 * The options of a view made from one with `given` by `withOptions(options)`:
 * the latest wins per key; a key set to `undefined` leaves it as it was.
 * Throws a `TypeError` or `RangeError` naming the option that is wrong.
 */
export function mergeTaskOptions(given: TaskOptions, options: unknown, caller: string): TaskOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new TypeError(`${caller} expects an options object, got ${describe(options)}`);
  const merged: Record<string, unknown> = { ...given };
  for (const key of Object.keys(options)) {
    if (!KEYS.has(key)) throw new TypeError(`${caller}: unknown option '${key}' (the options are priority, timeout, retries and signal)`);
    const value = (options as Record<string, unknown>)[key];
    if (value !== undefined) merged[key] = value;
  }
  taskSettings(merged, caller);
  return merged as TaskOptions;
}

/** Checks options and fills in the defaults. @internal */
export function taskSettings(options: TaskOptions, caller = 'withOptions()'): TaskSettings {
  const { priority, timeout, retries, signal } = options;
  if (priority !== undefined && (typeof priority !== 'number' || !Number.isFinite(priority))) {
    throw new TypeError(`${caller}: priority must be a finite number, got ${describe(priority)}`);
  }
  if (timeout !== undefined) {
    if (typeof timeout !== 'number') throw new TypeError(`${caller}: timeout must be a number of milliseconds, got ${describe(timeout)}`);
    if (!(timeout > 0)) throw new RangeError(`${caller}: timeout must be a positive number of milliseconds, got ${describe(timeout)}`);
  }
  let attempts = 0;
  let backoff = 0;
  if (typeof retries === 'number' || retries === undefined) {
    attempts = checkAttempts(retries ?? 0, `${caller}: retries`);
  } else if (retries !== null && typeof retries === 'object') {
    for (const key of Object.keys(retries)) {
      if (key !== 'attempts' && key !== 'backoff') throw new TypeError(`${caller}: unknown retries option '${key}' (they are attempts and backoff)`);
    }
    attempts = checkAttempts(retries.attempts, `${caller}: retries.attempts`);
    backoff = retries.backoff ?? 0;
    if (typeof backoff !== 'number' || !(backoff >= 0) || !Number.isFinite(backoff)) {
      throw new RangeError(`${caller}: retries.backoff must be a number of milliseconds >= 0, got ${describe(backoff)}`);
    }
  } else {
    throw new TypeError(`${caller}: retries must be a number or { attempts, backoff }, got ${describe(retries)}`);
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError(`${caller}: signal must be an AbortSignal, got ${describe(signal)}`);
  return {
    priority: priority ?? 0,
    hasPriority: priority !== undefined,
    timeout: timeout === Infinity ? undefined : timeout,
    attempts,
    backoff,
    signal,
  };
}

function checkAttempts(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`${name} must be an integer >= 0, got ${describe(value)}`);
  if (value < 0) throw new RangeError(`${name} must be an integer >= 0, got ${describe(value)}`);
  return value;
}

/** What a TaskControl uses of its future (future.ts, which imports this file, is not imported back). */
interface ControlledFuture {
  done(): boolean;
  running(): boolean;
  cancel(options?: { interrupt?: boolean }): boolean;
  setException(error: unknown): void;
  _setPending(): void;
  _addWaiter(waiter: { futureDone(future: unknown): void }): void;
  _owner: { interrupt(future: any): boolean } | null;
}

type ProgressCallbacks = ((value: unknown) => unknown) | Array<(value: unknown) => unknown>;

/** What only some futures carry, kept in one object so that every other future stays small. @internal */
export class FutureExtras {
  control: TaskControl | null = null;
  progress: ProgressCallbacks | null = null;
}

/** A task's priority in its executor's queue: 0 unless a view gave one. @internal */
export function priorityOf(task: object): number {
  const control = (task as { _control?: TaskControl | null })._control;
  return control == null ? 0 : control.settings.priority;
}

/**
 * One task's options and where it stands with them: its timer while a try
 * runs, and how many tries failed. Told when the future is done (as a waiter),
 * to stop its timer.
 * @internal
 */
export class TaskControl {
  /** Tries that failed and were run again. */
  retried = 0;
  /** Set while the executor interrupts the task for its timeout: counted as failed, not cancelled. */
  timingOut = false;
  /** The running try's timeout. */
  timer: LongTimeout | null = null;
  private watching = false;

  constructor(
    readonly settings: TaskSettings,
    readonly future: ControlledFuture,
  ) {}

  /** Whether the task may only be handed to a worker that starts it at once: its timeout counts from then. */
  get startsAtOnce(): boolean {
    return this.settings.timeout !== undefined;
  }

  /** This try of the task has started: its timeout, if any, runs from now. */
  started(): void {
    const ms = this.settings.timeout;
    if (ms === undefined || this.future.done()) return;
    if (!this.watching) {
      this.watching = true;
      this.future._addWaiter(this);
    }
    this.timer?.clear();
    this.timer = longTimeout(timeUp, ms, this);
  }

  /**
   * This try failed: the milliseconds to wait before the next one, or -1 when
   * the task has used its retries (or is done already) and fails for good.
   */
  retryDelay(): number {
    this.tryEnded();
    if (this.retried >= this.settings.attempts || this.future.done()) return -1;
    return this.settings.backoff * 2 ** this.retried++;
  }

  /** This try has ended: its timeout stops. */
  tryEnded(): void {
    this.timer?.clear();
    this.timer = null;
  }

  /** @internal The future is done: no timeout can come anymore. */
  futureDone(): void {
    this.tryEnded();
  }
}

/**
 * A try ran out of time: its executor interrupts it, as `cancel({ interrupt:
 * true })` would, but the future fails with TimeoutError (and counts as failed:
 * `Counters.interrupted`). One handed to its worker but not started there yet
 * (its initializer still ran) has its time start again.
 */
function timeUp(control: TaskControl): void {
  control.timer = null;
  const future = control.future;
  if (future.done()) return;
  if (!future.running()) return control.started();
  control.timingOut = true;
  let interrupted = false;
  try {
    interrupted = future._owner?.interrupt(future) ?? false;
  } finally {
    control.timingOut = false;
  }
  if (interrupted && !future.done()) future.setException(timerTimeoutError(`the task timed out after ${control.settings.timeout} ms`));
}

/**
 * The tasks of an executor that wait for another try (their backoff): pending,
 * in no queue. `requeue` puts one back in the executor's queue when its time comes.
 * @internal
 */
export class Retries<T extends ControlledFuture> {
  private readonly waiting = new Set<T>();

  constructor(private readonly requeue: (task: T) => void) {}

  get size(): number {
    return this.waiting.size;
  }

  /** A try of `task` failed: true when it runs again (the caller then counts it pending still), false when it fails for good. */
  schedule(task: T): boolean {
    const control = (task as { _control?: TaskControl | null })._control;
    if (control == null || control.settings.attempts === 0) return false;
    const delay = control.retryDelay();
    if (delay < 0) return false;
    task._setPending();
    this.waiting.add(task);
    if (delay === 0) queueMicrotask(() => this.again(task));
    // Doubling passes Node's timer limit (2^31 - 1 ms) within ~21 tries of a 1 s backoff: setTimeout would fire at once.
    else longTimeout((t) => this.again(t), delay, task).unref();
    return true;
  }

  /** `task` was cancelled while it waited. */
  delete(task: T): void {
    this.waiting.delete(task);
  }

  /** Removes and returns every task waiting (a shutdown cancels them, a broken pool fails them). */
  takeAll(): T[] {
    const all = [...this.waiting];
    this.waiting.clear();
    return all;
  }

  private again(task: T): void {
    if (this.waiting.delete(task) && !task.done()) this.requeue(task);
  }
}

/** The futures that follow a signal, under one listener: a signal shared by many tasks must not pile up listeners (Node warns past 10). */
interface Followers {
  readonly futures: Set<ControlledFuture>;
  readonly onAbort: () => void;
}

const following = new WeakMap<AbortSignal, Followers>();

/** Cancels the future, interrupting it, when `signal` aborts (at once if it has). @internal */
export function followSignal(future: ControlledFuture, signal: AbortSignal): void {
  if (future.done()) return;
  if (signal.aborted) {
    future.cancel({ interrupt: true });
    return;
  }
  let followers = following.get(signal);
  if (followers === undefined) {
    const futures = new Set<ControlledFuture>();
    const onAbort = (): void => {
      following.delete(signal);
      for (const f of [...futures]) f.cancel({ interrupt: true });
    };
    followers = { futures, onAbort };
    following.set(signal, followers);
    signal.addEventListener('abort', onAbort, { once: true });
  }
  const { futures, onAbort } = followers;
  futures.add(future);
  future._addWaiter({
    futureDone: () => {
      if (!futures.delete(future) || futures.size > 0 || following.get(signal) !== followers) return;
      following.delete(signal);
      signal.removeEventListener('abort', onAbort);
    },
  });
}
