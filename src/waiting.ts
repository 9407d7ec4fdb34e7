import { TimeoutError, timerTimeoutError } from './errors.js';
import { checkTimeout, describe } from './checks.js';
import { Future, type Waiter } from './future.js';
import { longTimeout, type LongTimeout } from './long-timeout.js';
import { ITEM_COUNT, ITEM_FUTURES } from './item-count.js';

/** Return as soon as any future finishes or is cancelled. */
export const FIRST_COMPLETED = 'FIRST_COMPLETED';
/** Return as soon as any future fails, or when all are done. */
export const FIRST_EXCEPTION = 'FIRST_EXCEPTION';
/** Return when every future is done. */
export const ALL_COMPLETED = 'ALL_COMPLETED';
/** When `wait()` returns. */
export type ReturnWhen = typeof FIRST_COMPLETED | typeof FIRST_EXCEPTION | typeof ALL_COMPLETED;

/** What `wait()` resolves with. */
export interface DoneAndNotDone<T> {
  /** The futures that had finished or were cancelled when `wait()` returned. */
  done: Set<Future<T>>;
  /** The others. */
  notDone: Set<Future<T>>;
}

function failed(future: Future<unknown>): boolean {
  return future._failed && !future.cancelled();
}

let epoch = 0;

/** The futures without duplicates, in first-seen order; marks instead of a hash set keep it cheap. */
function distinct<T>(futures: Iterable<Future<T>>, caller: string): Future<T>[] {
  if (futures == null || typeof (futures as any)[Symbol.iterator] !== 'function') {
    throw new TypeError(`${caller}() expects an iterable of futures`);
  }
  const mark = ++epoch;
  const out: Future<T>[] = [];
  let i = 0;
  for (const f of futures) {
    if (!(f instanceof Future)) throw new TypeError(`${caller}() expects futures, got ${describe(f)} at index ${i}`);
    if (f._mark !== mark) {
      f._mark = mark;
      out.push(f);
    }
    i++;
  }
  return out;
}

/** Counts completions down to the moment `wait()` may return. */
class WaitWaiter<T> implements Waiter {
  private timer: LongTimeout | undefined;
  private resolve!: (value: DoneAndNotDone<T>) => void;
  readonly promise = new Promise<DoneAndNotDone<T>>((resolve) => (this.resolve = resolve));

  constructor(
    private readonly futures: Future<T>[],
    private pending: number,
    private readonly returnWhen: ReturnWhen,
    timeout: number | undefined,
  ) {
    for (const f of futures) if (!f.done()) f._addWaiter(this);
    if (timeout !== undefined) this.timer = longTimeout(finishWait, timeout, this);
  }

  futureDone(future: Future<any>): void {
    this.pending--;
    if (this.pending === 0 || this.returnWhen === FIRST_COMPLETED || (this.returnWhen === FIRST_EXCEPTION && failed(future))) {
      this.finish();
    }
  }

  finish(): void {
    this.timer?.clear();
    this.pending = -1;
    this.resolve(split(this.futures, this));
  }
}

/** `wait()`'s timeout ran out; a plain function, so that no closure is made per call. */
function finishWait(waiter: WaitWaiter<any>): void {
  waiter.finish();
}

/**
 * Every future is done, and done is final: the sets are built only when read,
 * so that waiting on a million futures does not pay for a set nobody reads.
 */
function allDone<T>(futures: Future<T>[]): DoneAndNotDone<T> {
  let done: Set<Future<T>> | undefined;
  let notDone: Set<Future<T>> | undefined;
  return {
    get done() {
      return (done ??= new Set(futures));
    },
    get notDone() {
      return (notDone ??= new Set());
    },
  };
}

function split<T>(futures: Future<T>[], waiter: Waiter | undefined): DoneAndNotDone<T> {
  if (futures.every((f) => f.done())) return allDone(futures);
  const done = new Set<Future<T>>();
  const notDone = new Set<Future<T>>();
  for (const f of futures) {
    if (f.done()) done.add(f);
    else {
      notDone.add(f);
      if (waiter !== undefined) f._removeWaiter(waiter);
    }
  }
  return { done, notDone };
}

/**
 * Waits for the futures to complete as `returnWhen` says, at most `timeout`
 * milliseconds, and resolves with the futures that are done and those that
 * are not. Never rejects on a timeout. A cancelled future counts as done at once.
 * Defaults: `returnWhen: ALL_COMPLETED`, no timeout. Throws a `TypeError` for
 * something other than futures or an unknown `returnWhen`.
 */
export function wait<T>(
  futures: Iterable<Future<T>>,
  options?: { timeout?: number; returnWhen?: ReturnWhen },
): Promise<DoneAndNotDone<T>> {
  try {
    const returnWhen = options?.returnWhen ?? ALL_COMPLETED;
    if (returnWhen !== FIRST_COMPLETED && returnWhen !== FIRST_EXCEPTION && returnWhen !== ALL_COMPLETED) {
      throw new TypeError(`Invalid return condition: ${String(returnWhen)}`);
    }
    const timeout = checkTimeout(options?.timeout);
    const fs = distinct(futures, 'wait');
    let done = 0;
    let anyFailed = false;
    for (const f of fs) {
      if (f.done()) {
        done++;
        anyFailed ||= failed(f);
      }
    }
    if (
      done === fs.length ||
      (returnWhen === FIRST_COMPLETED && done > 0) ||
      (returnWhen === FIRST_EXCEPTION && anyFailed) ||
      timeout === 0
    ) {
      return Promise.resolve(split(fs, undefined));
    }
    return new WaitWaiter(fs, fs.length - done, returnWhen, timeout).promise;
  } catch (error) {
    return Promise.reject(error);
  }
}

type Settle<T> = (result: IteratorResult<Future<T>>) => void;
type Fail = (error: unknown) => void;

const NO_FUTURES: Future<any>[] = [];

/**
 * Queues futures as they complete, for one `asCompleted()` iterator. One
 * waiting `next()` is the common case: it is held in two fields, and only the
 * calls behind it in an array, so that a timed iteration costs little more
 * than its timer.
 */
class AsCompletedIterator<T> implements AsyncIterableIterator<Future<T>>, Waiter {
  /** Done futures not yet yielded, from `head` on; made when the first is queued. */
  private finished: Future<T>[] | undefined;
  private head = 0;
  private pending = 0;
  private readonly total: number;
  /** How many `next()` calls wait: the oldest in `resolveFirst`/`rejectFirst`, the others in `later`. */
  private sleeping = 0;
  private resolveFirst: Settle<T> | undefined;
  private rejectFirst: Fail | undefined;
  private later: Array<{ resolve: Settle<T>; reject: Fail }> | undefined;
  private timer: LongTimeout | undefined;
  private closed = false;

  constructor(
    private futures: Future<T>[],
    private readonly deadline: number | undefined,
  ) {
    this.total = futures.length;
    for (const f of futures) {
      if (f.done()) (this.finished ??= []).push(f);
      else {
        this.pending++;
        f._addWaiter(this);
      }
    }
  }

  futureDone(future: Future<any>): void {
    this.pending--;
    if (this.sleeping === 0) {
      (this.finished ??= []).push(future);
      return;
    }
    const resolve = this.resolveFirst!;
    this.wakeNext();
    resolve({ value: future, done: false });
    if (this.sleeping > 0) return;
    this.timer?.clear();
    this.timer = undefined;
    if (this.pending === 0) this.close();
  }

  next(): Promise<IteratorResult<Future<T>>> {
    const finished = this.finished;
    if (finished !== undefined && this.head < finished.length) {
      const f = finished[this.head]!;
      finished[this.head++] = undefined as any;
      if (this.head > 1024 && this.head * 2 > finished.length) {
        finished.splice(0, this.head);
        this.head = 0;
      }
      return Promise.resolve({ value: f, done: false });
    }
    if (this.closed || this.pending - this.sleeping <= 0) {
      // Every future left is promised to an earlier next(): this one ends the iteration, after them.
      if (this.sleeping === 0) this.close();
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      const remaining = this.deadline === undefined ? undefined : this.deadline - performance.now();
      if (remaining !== undefined && remaining <= 0) {
        // Made here, not by the timer, so that its stack shows the caller.
        const error = new TimeoutError(this.unfinished());
        this.close();
        return reject(error);
      }
      if (this.sleeping++ === 0) {
        this.resolveFirst = resolve;
        this.rejectFirst = reject;
      } else (this.later ??= []).push({ resolve, reject });
      if (remaining !== undefined && this.timer === undefined) this.timer = longTimeout(expireAsCompleted, remaining, this);
    });
  }

  async return(): Promise<IteratorResult<Future<T>>> {
    this.close();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** How many futures this yields in all, for `progress()`'s total. @internal */
  get [ITEM_COUNT](): number {
    return this.total;
  }

  /** The futures it still waits for, for `progress()` to show what they report. @internal */
  get [ITEM_FUTURES](): readonly Future<T>[] {
    return this.futures;
  }

  /** The deadline passed: every waiting `next()` rejects, and the iterator ends. */
  expire(): void {
    this.timer = undefined;
    const error = timerTimeoutError(this.unfinished());
    while (this.sleeping > 0) {
      const reject = this.rejectFirst!;
      this.wakeNext();
      reject(error);
    }
    this.close();
  }

  /** The oldest waiting `next()` is answered: the one behind it moves up. */
  private wakeNext(): void {
    this.sleeping--;
    const next = this.sleeping > 0 ? this.later!.shift()! : undefined;
    this.resolveFirst = next?.resolve;
    this.rejectFirst = next?.reject;
  }

  private unfinished(): string {
    return `${this.pending} (of ${this.total}) futures unfinished`;
  }

  /** Ends the iteration; a `next()` still waiting resolves as done, as an async generator's would. */
  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.timer?.clear();
    this.timer = undefined;
    if (this.pending > 0) for (const f of this.futures) if (!f.done()) f._removeWaiter(this);
    this.pending = 0;
    this.futures = NO_FUTURES;
    this.finished = undefined;
    this.head = 0;
    while (this.sleeping > 0) {
      const resolve = this.resolveFirst!;
      this.wakeNext();
      resolve({ value: undefined, done: true });
    }
  }
}

/** `asCompleted()`'s deadline passed; a plain function, so that no closure is made per call. */
function expireAsCompleted(iterator: AsCompletedIterator<any>): void {
  iterator.expire();
}

/**
 * Yields each distinct future once, as it completes (those already done
 * first). Throws `TimeoutError('N (of M) futures unfinished')` when
 * `timeout` milliseconds, counted from this call, run out first (default: no
 * timeout). Throws a `TypeError` for something other than futures.
 */
export function asCompleted<T>(
  futures: Iterable<Future<T>>,
  options?: { timeout?: number },
): AsyncIterableIterator<Future<T>> {
  const timeout = checkTimeout(options?.timeout);
  const fs = distinct(futures, 'asCompleted');
  return new AsCompletedIterator(fs, timeout === undefined ? undefined : performance.now() + timeout);
}
