import { CancelledError, TimeoutError } from './errors.js';
import type { Future, Waiter } from './future.js';
import { ZipReader, type MapOptions } from './map-input.js';
import { checkCount, checkTimeout } from './checks.js';
import { ITEM_FAILED, ITEM_OK, ITEM_PENDING, MapBatch, type MapSink } from './map-batch.js';
import { Deque } from './deque.js';
import { longTimeout, type LongTimeout } from './long-timeout.js';
import { chunkLength, newChunk, type Chunk, type ChunkOutcome } from './pool/chunk.js';

export type { Chunk, ChunkOutcome };

/** What `map` needs of an executor. @internal */
export interface MapTarget {
  submit(fn: (...args: any[]) => unknown, ...args: any[]): Future<any>;
  submitChunk?(fn: (...args: any[]) => unknown, chunk: Chunk): Future<ChunkOutcome<any>>;
  /** Queues a batch of items as one entry; their futures are made as they start. */
  enqueueMap?(batch: MapBatch): void;
  /** Withdraws the batch's items that have not started. */
  cancelMap?(batch: MapBatch): void;
}

/**
 * The iterator `Executor.map` returns: submits at the call, yields results in
 * input order, and cancels what has not started when it ends early.
 * @internal
 */
export class MapIterator<R> implements AsyncIterableIterator<R>, Waiter, MapSink {
  /** Futures of submitted items, in input order. */
  private readonly queue: Future<any>[] = [];
  private head = 0;
  /** Or, for executors that queue batches: the batches not yet read, and the next item of the first. */
  private readonly batches = new Deque<MapBatch>();
  private cursor = 0;
  /** Items in `batches` that `next()` has not reached. */
  private inBatches = 0;
  private readFailed = false;
  private readonly reader: ZipReader;
  private readonly chunksize: number;
  private readonly buffersize: number | undefined;
  private readonly deadline: number | undefined;
  private readonly timeout: number | undefined;
  private readonly chunked: boolean;
  private readonly batched: boolean;
  private inputDone = false;
  private inputError: { error: unknown } | null = null;
  private pumping = false;
  private wakeConsumer: (() => void) | null = null;
  private chunkValues: R[] | null = null;
  private chunkIndex = 0;
  private chunkError: { error: unknown } | null = null;
  private closed = false;
  private busy = false;
  private current: Promise<IteratorResult<R>> | null = null;
  /** The future a parked `next()` waits for; `null` when it waits for the batch item at the cursor. */
  private waiting: Future<any> | null = null;
  private parked = false;
  private resolveNext: ((result: IteratorResult<R> | Promise<IteratorResult<R>>) => void) | null = null;
  private rejectNext: ((error: unknown) => void) | null = null;
  private timer: LongTimeout | undefined;

  constructor(
    private readonly target: MapTarget,
    private readonly fn: (...args: any[]) => unknown,
    iterables: unknown[],
    options: MapOptions,
  ) {
    const timeout = checkTimeout(options.timeout);
    this.chunksize = checkCount(options.chunksize, 'chunksize', 'chunksize must be >= 1.') ?? 1;
    this.buffersize = checkCount(options.buffersize, 'buffersize', 'buffersize must be undefined or > 0');
    this.timeout = timeout;
    this.deadline = timeout === undefined ? undefined : performance.now() + timeout;
    this.chunked = this.chunksize > 1 && typeof target.submitChunk === 'function';
    this.batched = !this.chunked && typeof target.enqueueMap === 'function';
    this.reader = new ZipReader(iterables);
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

  next(): Promise<IteratorResult<R>> {
    if (this.busy) {
      // Concurrent next() calls are served one after another, like an async generator's.
      const after = (): Promise<IteratorResult<R>> => this.next();
      return (this.current = this.current!.then(after, after));
    }
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    if (this.chunkValues !== null) return this.fromChunk();
    if (this.outstanding() === 0) {
      this.busy = true;
      return (this.current = this.waitForInput());
    }
    if (this.batched) return this.nextOfBatch();
    const future = this.takeFuture();
    if (!future.done()) return this.park(future);
    if (future.cancelled()) {
      // Cancelled by a shutdown: its result() would raise, as in Python.
      this.close();
      return Promise.reject(new CancelledError());
    }
    return this.deliver(future);
  }

  private nextOfBatch(): Promise<IteratorResult<R>> {
    const batch = this.batches.peek()!;
    this.inBatches--;
    this.refill();
    if (batch.outcome(this.cursor) === ITEM_PENDING) return this.park(null);
    return this.deliverItem(batch);
  }

  /** Yields the batch's item at the cursor, or ends the iteration with its error. */
  private deliverItem(batch: MapBatch): Promise<IteratorResult<R>> {
    const value = this.readItem(batch);
    return this.readFailed ? Promise.reject(value) : Promise.resolve({ value: value as R, done: false });
  }

  /**
   * Moves past the batch's item at the cursor and returns its value, or its error
   * with `readFailed` set, which also ends the iteration.
   */
  private readItem(batch: MapBatch): unknown {
    const index = this.cursor;
    const state = batch.outcome(index);
    if (++this.cursor === batch.count) {
      this.batches.shift();
      this.cursor = 0;
    }
    this.readFailed = state !== ITEM_OK;
    if (state === ITEM_OK) return batch.takeValue(index);
    this.close();
    // A cancelled item was cancelled by a shutdown: its result() would raise, as in Python.
    return state === ITEM_FAILED ? batch.takeValue(index) : new CancelledError();
  }

  /** Makes `next()` wait for `future`, or with `null` for the batch item at the cursor. */
  private park(future: Future<any> | null): Promise<IteratorResult<R>> {
    this.busy = true;
    return (this.current = new Promise((resolve, reject) => {
      this.resolveNext = resolve;
      this.rejectNext = reject;
      this.parked = true;
      this.waiting = future;
      future?._addWaiter(this);
      const remaining = this.remaining();
      if (remaining !== undefined) this.timer = longTimeout(this.timedOut, remaining);
    }));
  }

  /** Ends a parked `next()`'s wait: the caller settles it with `resolveNext`/`rejectNext`, read first. */
  private unpark(): void {
    this.timer?.clear();
    this.timer = undefined;
    this.waiting = null;
    this.parked = false;
    this.busy = false;
    this.resolveNext = this.rejectNext = null;
  }

  /** @internal The awaited future is done. */
  futureDone(future: Future<any>): void {
    const resolve = this.resolveNext!;
    const reject = this.rejectNext!;
    this.unpark();
    if (future.cancelled()) {
      this.close();
      reject(new CancelledError());
    } else resolve(this.deliver(future));
  }

  /** @internal A batch item has its outcome. */
  itemDone(batch: MapBatch, index: number): void {
    if (index === this.cursor) this.batchChanged(batch);
  }

  /** @internal The executor cancelled the batch's items that had not started. */
  batchCancelled(batch: MapBatch): void {
    this.batchChanged(batch);
  }

  /** Wakes a `next()` that waits for the batch item at the cursor once that item is settled. */
  private batchChanged(batch: MapBatch): void {
    if (this.parked && this.waiting === null && batch === this.batches.peek() && batch.outcome(this.cursor) !== ITEM_PENDING) {
      const resolve = this.resolveNext!;
      const reject = this.rejectNext!;
      this.unpark();
      // Settled with a plain result: resolving with a promise would cost another job.
      const value = this.readItem(batch);
      if (this.readFailed) reject(value);
      else resolve({ value: value as R, done: false });
    }
  }

  private readonly timedOut = (): void => {
    const future = this.waiting;
    if (future !== null) {
      future._removeWaiter(this);
      future.cancel();
    }
    const reject = this.rejectNext!;
    this.unpark();
    this.close();
    reject(this.timeoutError());
  };

  /** The result of a finished future, or its error, which ends the iteration. */
  private deliver(future: Future<any>): Promise<IteratorResult<R>> {
    if (future._failed) {
      this.close();
      return Promise.reject(future._value);
    }
    if (!this.chunked) return Promise.resolve({ value: future._value as R, done: false });
    const outcome = future._value as ChunkOutcome<R>;
    this.chunkValues = outcome.values;
    this.chunkIndex = 0;
    this.chunkError = outcome.failed ? { error: outcome.error } : null;
    return this.fromChunk();
  }

  private fromChunk(): Promise<IteratorResult<R>> {
    const values = this.chunkValues!;
    if (this.chunkIndex < values.length) return Promise.resolve({ value: values[this.chunkIndex++]!, done: false });
    this.chunkValues = null;
    if (this.chunkError !== null) {
      const { error } = this.chunkError;
      this.close();
      return Promise.reject(error);
    }
    return this.next();
  }

  private takeFuture(): Future<any> {
    const future = this.queue[this.head]!;
    this.queue[this.head++] = undefined as any;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.refill();
    return future;
  }

  /** Waits for the async input to submit more, or to end. */
  private async waitForInput(): Promise<IteratorResult<R>> {
    try {
      while (this.outstanding() === 0 && !this.closed) {
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

  private outstanding(): number {
    return this.queue.length - this.head + this.inBatches;
  }

  private canSubmit(reading = 0): boolean {
    return !this.closed && !this.inputDone && (this.buffersize === undefined || this.outstanding() + reading < this.buffersize);
  }

  /** A batch: one item's arguments, or a chunk (the arity, then the items' arguments). */
  private newBatch(): unknown[] {
    return this.chunked ? newChunk(this.reader.arity) : [];
  }

  private batchFull(batch: unknown[]): boolean {
    return this.chunked ? chunkLength(batch) >= this.chunksize : batch.length > 0;
  }

  private batchEmpty(batch: unknown[]): boolean {
    return this.chunked ? chunkLength(batch) === 0 : batch.length === 0;
  }

  private submitBatch(batch: unknown[]): void {
    if (this.batched) this.enqueue(batch, 1);
    else this.queue.push(this.chunked ? this.target.submitChunk!(this.fn, batch) : this.target.submit(this.fn, ...batch));
  }

  private enqueue(args: unknown[], count: number): void {
    const batch = new MapBatch(this.fn, args, this.reader.arity, count, this);
    this.target.enqueueMap!(batch);
    this.batches.push(batch);
    this.inBatches += count;
  }

  private fillSync(): void {
    try {
      if (this.batched) this.fillOneBatch();
      else {
        while (this.canSubmit()) {
          const batch = this.newBatch();
          let more = true;
          while (!this.batchFull(batch) && (more = this.reader.readSync(batch)));
          if (!this.batchEmpty(batch)) this.submitBatch(batch);
          if (!more) this.inputDone = true;
        }
      }
    } catch (error) {
      this.failInput(error);
    }
  }

  /** Reads all the input the buffer allows into one batch: no object per item. */
  private fillOneBatch(): void {
    const args: unknown[] = [];
    let count = 0;
    try {
      while (this.canSubmit(count)) {
        if (this.reader.readSync(args)) count++;
        else this.inputDone = true;
      }
    } finally {
      // What was read before an input error is submitted, as it would be item by item.
      if (count > 0) this.enqueue(args, count);
    }
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.canSubmit()) {
        const batch = this.newBatch();
        let more = true;
        while (!this.batchFull(batch) && (more = await this.reader.readAsync(batch)));
        if (this.closed) break;
        if (!this.batchEmpty(batch)) this.submitBatch(batch);
        if (!more) this.inputDone = true;
        this.wake();
      }
    } catch (error) {
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

  /** Ends the iteration: cancels every future not yet started and closes the input. */
  private close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.parked) {
      // return() while a next() waits: that next() ends the iteration too.
      const future = this.waiting;
      if (future !== null) {
        future._removeWaiter(this);
        future.cancel();
      }
      const resolve = this.resolveNext!;
      this.unpark();
      resolve({ value: undefined, done: true });
    }
    for (let i = this.head; i < this.queue.length; i++) this.queue[i]!.cancel();
    this.queue.length = 0;
    this.head = 0;
    while (this.batches.length > 0) this.target.cancelMap!(this.batches.shift()!);
    this.cursor = 0;
    this.inBatches = 0;
    this.chunkValues = null;
    this.reader.end();
  }
}
