import { checkFunction, checkTimeout } from './checks.js';
import { CancelledError, InvalidStateError, TimeoutError, timerTimeoutError } from './errors.js';
import { Deadline } from './deadline.js';
import { FutureExtras, type TaskControl } from './task-options.js';
import type { Trace } from './tracing.js';

/** The states of a future, as in Python. */
export type FutureState = 'PENDING' | 'RUNNING' | 'CANCELLED' | 'FINISHED';

const PENDING = 0;
const RUNNING = 1;
const CANCELLED = 2;
const FINISHED = 3;
const STATE_NAMES: readonly FutureState[] = ['PENDING', 'RUNNING', 'CANCELLED', 'FINISHED'];

/**
 * Told once when a future it watches is done. `wait`, `asCompleted` and
 * `result()` wake through this, so completion costs O(1) per watcher.
 * @internal
 */
export interface Waiter {
  futureDone(future: Future<any>): void;
}

/**
 * A waiter's place among a future's waiters once it has more than one: they are woken in the order they
 * came, and one leaves in O(1) by its place, so that thousands of timed-out waits on one future cost no
 * hashing (a Set of them cost more than their timers).
 * @internal
 */
export class WaiterLink {
  prev: WaiterLink | null = null;
  next: WaiterLink | null = null;
  left = false;

  constructor(readonly waiter: Waiter) {}
}

/** A future's waiters when more than one, oldest first. */
class WaiterList {
  head: WaiterLink;
  tail: WaiterLink;

  constructor(first: WaiterLink) {
    this.head = this.tail = first;
  }

  add(link: WaiterLink): void {
    link.prev = this.tail;
    this.tail.next = link;
    this.tail = link;
  }

  /** Whether the list is empty after; the link keeps `next`, so that a wake in progress goes on past it. */
  remove(link: WaiterLink): boolean {
    if (link.left) return false;
    link.left = true;
    const { prev, next } = link;
    if (prev === null) {
      if (next === null) return true;
      this.head = next;
    } else prev.next = next;
    if (next === null) this.tail = prev!;
    else next.prev = prev;
    return false;
  }

  find(waiter: Waiter): WaiterLink | null {
    for (let link: WaiterLink | null = this.head; link !== null; link = link.next) if (link.waiter === waiter && !link.left) return link;
    return null;
  }

  wake(future: Future<any>): void {
    for (let link: WaiterLink | null = this.head; link !== null; link = link.next) if (!link.left) link.waiter.futureDone(future);
  }
}

/**
 * The executor that runs a future. A worker may start a task the main thread
 * still sees as pending, so the owner has the last word on those.
 * @internal
 */
export interface FutureOwner {
  /** Withdraws a pending future's work; `false` when it has started (the owner then marks it running). */
  cancelQueued(future: Future<any>): boolean;
  /** Stops a running future's work for `cancel({ interrupt: true })`; `false` when it cannot. */
  interrupt(future: Future<any>): boolean;
  /** Marks a pending future running when its worker has started it. */
  checkStarted?(future: Future<any>): void;
}

/** Reports a failing done callback without letting it reach the completing code. */
function reportCallbackError(future: Future<any>, error: unknown): void {
  console.error(`exception calling callback for ${String(future)}`);
  console.error(error);
}

/** Settles one `result()`/`exception()` promise when the future is done or time runs out. */
class ResultWaiter extends Deadline implements Waiter {
  link: WaiterLink | null = null;

  constructor(
    readonly future: Future<any>,
    readonly resolve: (value: any) => void,
    readonly reject: (error: unknown) => void,
    readonly wantException: boolean,
    readonly ms: number | undefined,
  ) {
    super();
    if (ms !== undefined) this.startDeadline(ms);
  }

  futureDone(future: Future<any>): void {
    this.clearDeadline();
    future._settle(this.resolve, this.reject, this.wantException);
  }

  protected expired(): void {
    this.future._removeWaiter(this, this.link);
    this.reject(timerTimeoutError(`${this.wantException ? 'exception' : 'result'}() timed out after ${this.ms} ms`));
  }
}

/**
 * The result of a call that runs elsewhere: `submit()` returns one; `new Future()`
 * makes a pending one for tests and custom executors. Not thenable: `await future.result()`.
 */
export class Future<T> {
  /** @internal */ _state = PENDING;
  /** @internal The value, or the error when `_failed`. */ _value: unknown = undefined;
  /** @internal */ _failed = false;
  /** @internal */ _owner: FutureOwner | null = null;
  /** @internal Set once `setRunningOrNotifyCancel()` saw the cancellation, as Python's CANCELLED_AND_NOTIFIED. */
  _cancelSeen = false;
  /** @internal Marks a future as seen by one `wait`/`asCompleted` call, to drop duplicates without a hash set. */
  _mark = 0;
  // One waiter or callback is the common case: held directly; more waiters in a list.
  private _waiters: Waiter | WaiterList | null = null;
  private _callbacks: ((future: any) => unknown) | Array<(future: any) => unknown> | null = null;
  /** What few futures have: task options, progress callbacks. One field, so that every other future stays as small. */
  private _extras: FutureExtras | null = null;
  /**
   * @internal Its tracing context (tracing.ts), built only while the channel has a subscriber:
   * a `TaskTrace`, or a `ChunkTrace` (`.items`) for a chunk of `map` items, held until the future is done; else null.
   */
  _trace: Trace | null = null;

  /** @internal The options of a task submitted through `withOptions()`, or null. */
  get _control(): TaskControl | null {
    return this._extras === null ? null : this._extras.control;
  }

  /** @internal */
  set _control(control: TaskControl | null) {
    (this._extras ??= new FutureExtras()).control = control;
  }

  /** The current state, one of Python's four. */
  get state(): FutureState {
    if (this._state === PENDING) this._owner?.checkStarted?.(this);
    return STATE_NAMES[this._state]!;
  }

  /**
   * Cancels the future if possible and returns whether it is cancelled.
   *
   * A pending future is cancelled; a running or finished one is not, unless
   * `interrupt` is set and the executor running it can stop it.
   */
  cancel(options?: { interrupt?: boolean }): boolean {
    if (this._state === PENDING && (this._owner === null || this._owner.cancelQueued(this))) {
      this._state = CANCELLED;
      this._complete();
      return true;
    }
    if (this._state === CANCELLED) return true;
    if (this._state === FINISHED) return false;
    // Running: only an interrupt that the owner carries out cancels it.
    if (options?.interrupt !== true || this._owner === null || !this._owner.interrupt(this)) return false;
    if (this._state !== RUNNING) return this._state === CANCELLED;
    this._state = CANCELLED;
    this._complete();
    return true;
  }

  /** Whether the future was cancelled. */
  cancelled(): boolean {
    return this._state === CANCELLED;
  }

  /** Whether the task is running now. */
  running(): boolean {
    if (this._state === PENDING) this._owner?.checkStarted?.(this);
    return this._state === RUNNING;
  }

  /** Whether the future was cancelled or finished. */
  done(): boolean {
    return this._state >= CANCELLED;
  }

  /**
   * The task's value. Rejects with the task's error, `CancelledError`, or
   * `TimeoutError` when `timeout` milliseconds pass first (default: no timeout;
   * `0`: do not wait; only then does the error's stack show the caller, as a
   * timer's would show only the timer). Throws a `TypeError` for a timeout that is not a number.
   */
  result(timeout?: number): Promise<T> {
    return this._await(timeout, false);
  }

  /**
   * The task's error, or `undefined` when it succeeded. Rejects with
   * `CancelledError`, or `TimeoutError` when `timeout` milliseconds pass first
   * (default: no timeout). Throws a `TypeError` for a timeout that is not a number.
   */
  exception(timeout?: number): Promise<unknown> {
    return this._await(timeout, true);
  }

  /**
   * Calls `fn(future)` once the future is done, callbacks in the order added;
   * at once if it is done already. A throwing callback is reported on stderr
   * and stops nothing else. Throws a `TypeError` when `fn` is not a function.
   */
  addDoneCallback(fn: (future: Future<T>) => unknown): void {
    checkFunction(fn, 'addDoneCallback()');
    if (this._state < CANCELLED) {
      const callbacks = this._callbacks;
      if (callbacks === null) this._callbacks = fn;
      else if (typeof callbacks === 'function') this._callbacks = [callbacks, fn];
      else callbacks.push(fn);
      return;
    }
    this._runCallback(fn);
  }

  /**
   * Calls `fn(value)` for each value the task reports with `reportProgress()`
   * from now on, in the order reported, and only while the future is not done:
   * every value comes before the future is done, none after. Added to a done
   * future it is never called. A throwing callback is reported on stderr and
   * stops nothing else. Throws a `TypeError` when `fn` is not a function.
   */
  addProgressCallback(fn: (value: unknown) => unknown): void {
    checkFunction(fn, 'addProgressCallback()');
    if (this._state >= CANCELLED) return;
    const extras = (this._extras ??= new FutureExtras());
    const callbacks = extras.progress;
    if (callbacks === null) extras.progress = fn;
    else if (typeof callbacks === 'function') extras.progress = [callbacks, fn];
    else callbacks.push(fn);
  }

  /** The task reported a value: its progress callbacks get it, unless the future is done. @internal */
  _reportProgress(value: unknown): void {
    const callbacks = this._extras?.progress ?? null;
    if (callbacks === null || this._state >= CANCELLED) return;
    if (typeof callbacks === 'function') this._runProgress(callbacks, value);
    // A copy: a callback that adds another does not see it called for this value.
    else for (const fn of [...callbacks]) if (this._state < CANCELLED) this._runProgress(fn, value);
  }

  /**
   * Marks the future as running, or returns `false` when it was cancelled,
   * in which case the work must not run. For executors and tests.
   * Throws an `Error` when the future is running or done already.
   */
  setRunningOrNotifyCancel(): boolean {
    if (this._state === PENDING) {
      this._state = RUNNING;
      return true;
    }
    if (this._state === CANCELLED && !this._cancelSeen) {
      this._cancelSeen = true;
      return false;
    }
    throw new Error('Future in unexpected state');
  }

  /** Completes the future with a value. For executors and tests. Throws `InvalidStateError` when it is done already. */
  setResult(value: T): void {
    if (this._state >= CANCELLED) throw new InvalidStateError(`${this.state}: ${String(this)}`);
    this._value = value;
    this._state = FINISHED;
    this._complete();
  }

  /** Completes the future with an error. For executors and tests. Throws `InvalidStateError` when it is done already. */
  setException(error: unknown): void {
    if (this._state >= CANCELLED) throw new InvalidStateError(`${this.state}: ${String(this)}`);
    this._value = error;
    this._failed = true;
    this._state = FINISHED;
    this._complete();
  }

  /** Python's repr, e.g. `<Future state=finished returned number>`. */
  toString(): string {
    let detail = '';
    if (this._state === FINISHED) detail = this._failed ? ` raised ${typeName(this._value)}` : ` returned ${typeName(this._value)}`;
    return `<Future state=${this.state.toLowerCase()}${detail}>`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  /**
   * @internal Watches the future until it is done. Returns the waiter's place when the future has other
   * waiters (null when it is the only one): `_removeWaiter()` given it takes O(1), else a search.
   */
  _addWaiter(waiter: Waiter): WaiterLink | null {
    const waiters = this._waiters;
    if (waiters === null) {
      this._waiters = waiter;
      return null;
    }
    const link = new WaiterLink(waiter);
    if (waiters instanceof WaiterList) waiters.add(link);
    else (this._waiters = new WaiterList(new WaiterLink(waiters))).add(link);
    return link;
  }

  /** @internal Stops watching: the waiter is not told when the future is done. */
  _removeWaiter(waiter: Waiter, link: WaiterLink | null = null): void {
    const waiters = this._waiters;
    if (waiters === waiter) this._waiters = null;
    else if (waiters instanceof WaiterList) {
      const place = link ?? waiters.find(waiter);
      if (place !== null && waiters.remove(place)) this._waiters = null;
    }
  }

  /** An executor's worker has started the task (or it can no longer be withdrawn). @internal */
  _setRunning(): void {
    if (this._state === PENDING) this._state = RUNNING;
  }

  /** An executor took a task back from a worker that never started it, to run it elsewhere. @internal */
  _setPending(): void {
    if (this._state === RUNNING) this._state = PENDING;
  }

  /** Settles a `result()` (or `exception()`) promise from a done future. @internal */
  _settle(resolve: (value: any) => void, reject: (error: unknown) => void, wantException: boolean): void {
    if (this._state === CANCELLED) reject(new CancelledError());
    else if (wantException) resolve(this._failed ? this._value : undefined);
    else if (this._failed) reject(this._value);
    else resolve(this._value);
  }

  private _await(timeout: number | undefined, wantException: boolean): Promise<any> {
    return new Promise((resolve, reject) => {
      const ms = checkTimeout(timeout);
      if (this._state >= CANCELLED) return this._settle(resolve, reject, wantException);
      // Not waiting at all: made here, so that its stack shows the caller.
      if (ms === 0) return reject(new TimeoutError(`${wantException ? 'exception' : 'result'}() timed out after 0 ms`));
      const waiter = new ResultWaiter(this, resolve, reject, wantException, ms);
      waiter.link = this._addWaiter(waiter);
    });
  }

  /** Wakes the waiters, then runs the callbacks: the order API.md promises. */
  private _complete(): void {
    // Published first: what the subscriber records is in place before anyone sees the outcome.
    const trace = this._trace;
    if (trace !== null) {
      // Let go first: a done future kept by the program keeps no context alive (the subscriber has it).
      this._trace = null;
      trace.done(this);
    }
    const waiters = this._waiters;
    if (waiters !== null) {
      this._waiters = null;
      if (waiters instanceof WaiterList) waiters.wake(this);
      else waiters.futureDone(this);
    }
    if (this._extras !== null) this._extras.progress = null;
    const callbacks = this._callbacks;
    if (callbacks !== null) {
      this._callbacks = null;
      if (typeof callbacks === 'function') this._runCallback(callbacks);
      else for (let i = 0; i < callbacks.length; i++) this._runCallback(callbacks[i]!);
    }
  }

  private _runProgress(fn: (value: unknown) => unknown, value: unknown): void {
    try {
      fn(value);
    } catch (error) {
      console.error(`exception calling progress callback for ${String(this)}`);
      console.error(error);
    }
  }

  private _runCallback(fn: (future: Future<T>) => unknown): void {
    try {
      fn(this);
    } catch (error) {
      reportCallbackError(this, error);
    }
  }
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object' || typeof value === 'function') return (value as object).constructor?.name ?? typeof value;
  return typeof value;
}
