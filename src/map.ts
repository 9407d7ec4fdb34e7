import { CancelledError, TimeoutError } from './errors.js';
import { checkCount, checkTimeout } from './checks.js';
import { longTimeout, type LongTimeout } from './long-timeout.js';
import { ZipReader, type MapOptions } from './map/input.js';
import { ITEM_CANCELLED, ITEM_OK, ITEM_PENDING, type MapConsumer, type MapSource } from './map/source.js';
import { sourceFor, type MapTarget } from './map/target.js';
import { ITEM_COUNT } from './item-count.js';

/**
 * The iterator `Executor.map` returns: submits at the call, yields results in
 * input order, and cancels what has not started when it ends early. How items
 * reach the executor is the source's business (map/target.ts picks it); this
 * class reads the input, keeps the order, parks, times out and closes.
 * @internal
 */
export class MapIterator<R> implements AsyncIterableIterator<R>, MapConsumer {
  private readonly source: MapSource;
  private readonly reader: ZipReader;
  private readonly buffersize: number | undefined;
  private readonly deadline: number | undefined;
  private readonly timeout: number | undefined;
  private inputDone = false;
  private inputError: { error: unknown } | null = null;
  private pumping = false;
  private wakeConsumer: (() => void) | null = null;
  private closed = false;
  /** A `next()` is under way: later calls queue behind it. */
  private busy = false;
  private current: Promise<IteratorResult<R>> | null = null;
  /** A `next()` waits for the next item's outcome. */
  private parked = false;
  private resolveNext: ((result: IteratorResult<R>) => void) | null = null;
  private rejectNext: ((error: unknown) => void) | null = null;
  private timer: LongTimeout | undefined;
  private readonly count: number | undefined;

  constructor(target: MapTarget, fn: (...args: any[]) => unknown, iterables: unknown[], options: MapOptions) {
    const timeout = checkTimeout(options.timeout);
    const chunksize = checkCount(options.chunksize, 'chunksize', 'chunksize must be >= 1.');
    this.buffersize = checkCount(options.buffersize, 'buffersize', 'buffersize must be undefined or > 0');
    this.timeout = timeout;
    this.deadline = timeout === undefined ? undefined : performance.now() + timeout;
    this.reader = new ZipReader(iterables);
    // zip() of arrays ends with the shortest.
    this.count = iterables.length > 0 && iterables.every(Array.isArray) ? Math.min(...(iterables as unknown[][]).map((a) => a.length)) : undefined;
    this.source = sourceFor(target, fn, this.reader.arity, chunksize, this.reader.async, this);
    // No iterables: zip() of nothing is empty.
    if (this.reader.arity === 0) this.inputDone = true;
    if (this.reader.async) {
      this.pump();
    } else {
      this.fillSync();
      if (this.inputError !== null && this.buffersize === undefined) {
        // Eager input fails at the call, as Python's list of submissions does.
        this.close();
        throw this.inputError.error;
      }
    }
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Over arrays, how many results this yields in all (the shortest array's length), for `progress()`'s total. @internal */
  get [ITEM_COUNT](): number | undefined {
    return this.count;
  }

  next(): Promise<IteratorResult<R>> {
    if (this.busy) {
      // Concurrent next() calls are served one after another, like an async generator's.
      const after = (): Promise<IteratorResult<R>> => this.next();
      return (this.current = this.current!.then(after, after));
    }
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    const source = this.source;
    if (!source.claimed()) {
      if (source.outstanding() === 0) {
        this.busy = true;
        return (this.current = this.waitForInput());
      }
      // Claiming frees the item's room in the buffer: the input is read on before the wait, as in Python.
      source.claim();
      this.refill();
    }
    const state = source.state();
    if (state === ITEM_PENDING) return this.park();
    const value = this.take(state);
    return state === ITEM_OK ? Promise.resolve({ value: value as R, done: false }) : Promise.reject(value);
  }

  /** Moves past the next item: its value, or the error that ends the iteration. */
  private take(state: number): unknown {
    const value = this.source.take();
    if (state === ITEM_OK) return value;
    this.close();
    // A cancelled item was cancelled by a shutdown: its result() would raise, as in Python.
    return state === ITEM_CANCELLED ? new CancelledError() : value;
  }

  /** Makes `next()` wait for the next item's outcome, within what is left of the timeout. */
  private park(): Promise<IteratorResult<R>> {
    this.busy = true;
    return (this.current = new Promise((resolve, reject) => {
      this.resolveNext = resolve;
      this.rejectNext = reject;
      this.parked = true;
      this.source.watch();
      const remaining = this.remaining();
      if (remaining !== undefined) this.timer = longTimeout(this.timedOut, remaining);
    }));
  }

  /** Ends a parked `next()`'s wait: the caller settles it with `resolveNext`/`rejectNext`, read first. */
  private unpark(): void {
    this.timer?.clear();
    this.timer = undefined;
    this.parked = false;
    this.busy = false;
    this.resolveNext = this.rejectNext = null;
  }

  /** @internal The item a parked `next()` waits for has its outcome. */
  itemSettled(): void {
    if (!this.parked) return;
    const resolve = this.resolveNext!;
    const reject = this.rejectNext!;
    this.unpark();
    const state = this.source.state();
    const value = this.take(state);
    // Settled with a plain result: resolving with a promise would cost another job.
    if (state === ITEM_OK) resolve({ value: value as R, done: false });
    else reject(value);
  }

  private readonly timedOut = (): void => {
    const reject = this.rejectNext!;
    this.unpark();
    // close() cancels the item waited for, as Python's map does on a timeout.
    this.close();
    reject(this.timeoutError());
  };

  /** Waits for the async input to submit more, or to end. */
  private async waitForInput(): Promise<IteratorResult<R>> {
    try {
      while (this.source.outstanding() === 0 && !this.closed) {
        if (this.inputDone && !this.pumping) {
          if (this.inputError !== null) throw this.inputError.error;
          this.close();
          break;
        }
        await this.inputProgress();
      }
    } catch (error) {
      this.close();
      throw error;
    } finally {
      this.busy = false;
    }
    return this.next();
  }

  async return(value?: any): Promise<IteratorResult<R>> {
    this.close();
    return { value, done: true };
  }

  async throw(error?: unknown): Promise<IteratorResult<R>> {
    this.close();
    throw error;
  }

  private canSubmit(): boolean {
    return !this.closed && !this.inputDone && (this.buffersize === undefined || this.source.outstanding() < this.buffersize);
  }

  private fillSync(): void {
    const source = this.source;
    let failed = true;
    try {
      try {
        while (this.canSubmit()) {
          if (this.reader.readSync(source.args)) source.added();
          else this.inputDone = true;
        }
        failed = false;
      } finally {
        source.flush(failed);
      }
    } catch (error) {
      this.failInput(error);
    }
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    const source = this.source;
    try {
      while (this.canSubmit()) {
        const more = await this.reader.readAsync(source.args);
        if (this.closed) break;
        if (more) source.added();
        else {
          this.inputDone = true;
          source.flush(false);
        }
        // A chunk being filled is nothing to read yet.
        if (source.outstanding() > 0) this.wake();
      }
    } catch (error) {
      // Async input leaves nothing unsubmitted but a chunk cut short, which is dropped, as in fillSync().
      this.failInput(error);
    } finally {
      this.pumping = false;
      this.wake();
    }
  }

  private failInput(error: unknown): void {
    this.inputDone = true;
    this.inputError = { error };
    this.reader.end();
  }

  private wake(): void {
    const wake = this.wakeConsumer;
    if (wake !== null) {
      this.wakeConsumer = null;
      wake();
    }
  }

  private refill(): void {
    if (this.buffersize === undefined || this.inputDone) return;
    if (!this.reader.async) this.fillSync();
    else if (!this.pumping) void this.pump();
  }

  private timeoutError(): TimeoutError {
    return new TimeoutError(`map() timed out: its results were not ready within ${this.timeout} ms of the call`);
  }

  private remaining(): number | undefined {
    return this.deadline === undefined ? undefined : Math.max(0, this.deadline - performance.now());
  }

  private inputProgress(): Promise<void> {
    return new Promise((resolve, reject) => {
      const remaining = this.remaining();
      let timer: LongTimeout | undefined;
      if (remaining !== undefined) {
        timer = longTimeout(() => {
          this.wakeConsumer = null;
          reject(this.timeoutError());
        }, remaining);
      }
      this.wakeConsumer = () => {
        timer?.clear();
        resolve();
      };
    });
  }

  /** Ends the iteration: cancels every item not yet started and closes the input. */
  private close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.parked) {
      // return() while a next() waits: that next() ends the iteration too.
      const resolve = this.resolveNext!;
      this.unpark();
      resolve({ value: undefined, done: true });
    }
    this.source.close();
    this.reader.end();
  }
}
