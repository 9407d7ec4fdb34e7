import { TimeoutError, timerTimeoutError } from './errors.js';
import { checkTimeout, describe } from './checks.js';
import { Future, WaiterLink, type Waiter } from './future.js';
import { Deadline } from './deadline.js';
import { Deque } from './deque.js';
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
const ARRAY_VALUES = Array.prototype[Symbol.iterator];

/** The futures without duplicates, in first-seen order; marks instead of a hash set keep it cheap. */
function distinct<T>(futures: Iterable<Future<T>>, caller: string): Future<T>[] {
  if (futures == null || typeof (futures as any)[Symbol.iterator] !== 'function') {
    throw new TypeError(`${caller}() expects an iterable of futures`);
  }
  if (Array.isArray(futures) && futures[Symbol.iterator] === ARRAY_VALUES) {
    const mark = ++epoch;
    // The common case, an array without duplicates, is copied at its size: one pushed to grows to 17 places.
    let i = 0;
    for (; i < futures.length; i++) {
      const f: unknown = futures[i];
      if (!(f instanceof Future)) throw new TypeError(`${caller}() expects futures, got ${describe(f)} at index ${i}`);
      if (f._mark === mark) break;
      f._mark = mark;
    }
    // A getter or proxy that called wait() in between leaves marks that prove nothing: the long way then.
    if (i === futures.length && epoch === mark) return futures.slice();
  }
  const mark = ++epoch;
  const out: Future<T>[] = [];
  // An iterator that itself calls wait() or asCompleted() re-marks futures: from then on, a set.
  let seen: Set<Future<T>> | null = null;
  let i = 0;
  for (const f of futures) {
    if (!(f instanceof Future)) throw new TypeError(`${caller}() expects futures, got ${describe(f)} at index ${i}`);
    if (seen === null && epoch !== mark) seen = new Set(out);
    if (seen !== null) {
      if (!seen.has(f)) {
        seen.add(f);
        out.push(f);
      }
    } else if (f._mark !== mark) {
      f._mark = mark;
      out.push(f);
    }
    i++;
  }
  return out;
}

/** Counts completions down to the moment `wait()` may return. */
class WaitWaiter<T> extends Deadline implements Waiter {
  /** Its places among the waiters of futures that have others, by index in `futures`. */
  private readonly links: Links;
  private resolve!: (value: DoneAndNotDone<T>) => void;
  readonly promise = new Promise<DoneAndNotDone<T>>((resolve) => (this.resolve = resolve));

  constructor(
    private readonly futures: Future<T>[],
    private pending: number,
    private readonly returnWhen: ReturnWhen,
    timeout: number | undefined,
  ) {
    super();
    this.links = watch(futures, this);
    if (timeout !== undefined) this.startDeadline(timeout);
  }

  futureDone(future: Future<any>): void {
    this.pending--;
    if (this.pending === 0 || this.returnWhen === FIRST_COMPLETED || (this.returnWhen === FIRST_EXCEPTION && failed(future))) {
      this.finish();
    }
  }

  protected expired(): void {
    this.finish();
  }

  private finish(): void {
    this.clearDeadline();
    this.pending = -1;
    this.resolve(split(this.futures, this, this.links));
  }
}

/**
 * A waiter's places among the waiters of futures that have others: by index in its futures, or the one
 * place itself when it waits for one future (the common timed wait, where an array would cost as much again).
 */
type Links = WaiterLink | Array<WaiterLink | null> | undefined;

/** Watches the futures not done; returns the waiter's places where a future had other waiters, if any did. */
function watch(futures: Future<any>[], waiter: Waiter): Links {
  if (futures.length === 1) {
    const f = futures[0]!;
    return f.done() ? undefined : (f._addWaiter(waiter) ?? undefined);
  }
  let links: Array<WaiterLink | null> | undefined;
  for (let i = 0; i < futures.length; i++) {
    const f = futures[i]!;
    if (f.done()) continue;
    const link = f._addWaiter(waiter);
    // Sized to the futures when they are few (an array grown from empty takes 17 places); grown otherwise,
    // so that a million futures of which one is shared do not pay for a million places.
    if (link !== null) (links ??= futures.length <= 64 ? new Array(futures.length) : [])[i] = link;
  }
  return links;
}

/** Stops watching the futures not done. */
function unwatch(futures: Future<any>[], waiter: Waiter, links: Links): void {
  if (links instanceof WaiterLink) {
    if (!futures[0]!.done()) futures[0]!._removeWaiter(waiter, links);
    return;
  }
  for (let i = 0; i < futures.length; i++) {
    const f = futures[i]!;
    if (!f.done()) f._removeWaiter(waiter, links?.[i] ?? null);
  }
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

function split<T>(futures: Future<T>[], waiter?: Waiter, links?: Links): DoneAndNotDone<T> {
  if (futures.every((f) => f.done())) return allDone(futures);
  if (waiter !== undefined) unwatch(futures, waiter, links);
  const done = new Set<Future<T>>();
  const notDone = new Set<Future<T>>();
  for (const f of futures) (f.done() ? done : notDone).add(f);
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
      return Promise.resolve(split(fs));
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
 * calls behind it in a queue, so that a timed iteration costs little more
 * than its timer.
 */
class AsCompletedIterator<T> extends Deadline implements AsyncIterableIterator<Future<T>>, Waiter {
  /** Done futures not yet yielded; made when the first is queued. */
  private finished: Deque<Future<T>> | undefined;
  private pending = 0;
  private readonly total: number;
  /** The oldest waiting `next()` call; the others wait in `later`. */
  private resolveFirst: Settle<T> | undefined;
  private rejectFirst: Fail | undefined;
  private later: Deque<{ resolve: Settle<T>; reject: Fail }> | undefined;
  private links: Links;

  constructor(
    /** The futures it still watches; none once closed. */
    private futures: Future<T>[],
    private readonly deadline: number | undefined,
  ) {
    super();
    this.total = futures.length;
    for (const f of futures) {
      if (f.done()) (this.finished ??= new Deque()).push(f);
      else this.pending++;
    }
    this.links = watch(futures, this);
  }

  futureDone(future: Future<any>): void {
    this.pending--;
    const resolve = this.resolveFirst;
    if (resolve === undefined) {
      (this.finished ??= new Deque()).push(future);
      return;
    }
    this.wakeNext();
    resolve({ value: future, done: false });
    if (this.resolveFirst !== undefined) return;
    this.clearDeadline();
    if (this.pending === 0) this.close();
  }

  next(): Promise<IteratorResult<Future<T>>> {
    if (this.finished !== undefined && this.finished.length > 0) {
      return Promise.resolve({ value: this.finished.shift()!, done: false });
    }
    if (this.futures === NO_FUTURES || this.pending - this.sleeping() <= 0) {
      // Every future left is promised to an earlier next(): this one ends the iteration, after them.
      if (this.resolveFirst === undefined) this.close();
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      const now = this.deadline === undefined ? 0 : performance.now();
      const remaining = this.deadline === undefined ? undefined : this.deadline - now;
      if (remaining !== undefined && remaining <= 0) {
        // Made here, not by the timer, so that its stack shows the caller.
        const error = new TimeoutError(this.unfinished());
        this.close();
        return reject(error);
      }
      if (this.resolveFirst === undefined) {
        this.resolveFirst = resolve;
        this.rejectFirst = reject;
      } else (this.later ??= new Deque()).push({ resolve, reject });
      if (remaining !== undefined && !this.hasDeadline()) this.startDeadline(remaining, now);
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
  protected expired(): void {
    const error = timerTimeoutError(this.unfinished());
    for (let reject = this.rejectFirst; reject !== undefined; reject = this.rejectFirst) {
      this.wakeNext();
      reject(error);
    }
    this.close();
  }

  /** How many `next()` calls wait. */
  private sleeping(): number {
    return this.resolveFirst === undefined ? 0 : 1 + (this.later?.length ?? 0);
  }

  /** The oldest waiting `next()` is answered: the one behind it moves up. */
  private wakeNext(): void {
    const next = this.later?.shift();
    this.resolveFirst = next?.resolve;
    this.rejectFirst = next?.reject;
  }

  private unfinished(): string {
    return `${this.pending} (of ${this.total}) futures unfinished`;
  }

  /** Ends the iteration; a `next()` still waiting resolves as done, as an async generator's would. */
  private close(): void {
    if (this.futures === NO_FUTURES) return;
    this.clearDeadline();
    if (this.pending > 0) unwatch(this.futures, this, this.links);
    this.links = undefined;
    this.pending = 0;
    this.futures = NO_FUTURES;
    this.finished = undefined;
    for (let resolve = this.resolveFirst; resolve !== undefined; resolve = this.resolveFirst) {
      this.wakeNext();
      resolve({ value: undefined, done: true });
    }
  }
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
