import { CancelledError, TimeoutError } from './errors.js';
import { checkTimeout, type Future, type Waiter } from './future.js';

/** The options of `Executor.map`, given as its last argument. */
export interface MapOptions {
  /** Milliseconds, counted from the call to `map`, within which each result must be ready. */
  timeout?: number;
  /** Items sent to a worker in one message (executors without workers ignore it). */
  chunksize?: number;
  /** At most this many results outstanding; input is then read lazily. */
  buffersize?: number;
}

/** The iterables of `map`, one per parameter of the task function. */
export type IterablesOf<A extends readonly unknown[]> = { [K in keyof A]: Iterable<A[K]> | AsyncIterable<A[K]> };

/**
 * What a chunk of `map` items produced: the values up to the first failure,
 * and that failure, so that each item's error surfaces at its own position.
 * @internal
 */
export interface ChunkOutcome<R> {
  values: R[];
  failed: boolean;
  error: unknown;
}

/** What `map` needs of an executor. @internal */
export interface MapTarget {
  submit(fn: (...args: any[]) => unknown, ...args: any[]): Future<any>;
  submitChunk?(fn: (...args: any[]) => unknown, chunk: unknown[]): Future<ChunkOutcome<any>>;
}

/**
 * A chunk of `map` items as one flat array: the arity, then each item's
 * arguments one after another. Far cheaper to clone than an array per item.
 * @internal
 */
export type Chunk = unknown[];

function isIterable(value: unknown): boolean {
  return (
    value != null &&
    (typeof (value as any)[Symbol.iterator] === 'function' || typeof (value as any)[Symbol.asyncIterator] === 'function')
  );
}

/** Splits `map`'s rest arguments into the iterables and the trailing options object. @internal */
export function splitMapArgs(rest: unknown[]): { iterables: unknown[]; options: MapOptions } {
  let options: MapOptions = {};
  let iterables = rest;
  const last = rest[rest.length - 1];
  if (rest.length > 0 && typeof last === 'object' && last !== null && !isIterable(last)) {
    options = last as MapOptions;
    iterables = rest.slice(0, -1);
  }
  iterables.forEach((it, i) => {
    if (!isIterable(it)) throw new TypeError(`map() argument ${i + 2} must be an iterable or async iterable, got ${describe(it)}`);
  });
  return { iterables, options };
}

function describe(value: unknown): string {
  return value === null ? 'null' : typeof value;
}

function checkCount(value: unknown, name: string, message: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`${name} must be an integer or undefined`);
  if (value < 1) throw new RangeError(message);
  return value;
}


/** Reads argument tuples zip-style: the shortest iterable ends the input. */
class ZipReader {
  private readonly iterators: Array<Iterator<unknown> | AsyncIterator<unknown>>;
  readonly async: boolean;
  private ended = false;

  constructor(iterables: unknown[]) {
    let isAsync = false;
    this.iterators = iterables.map((it: any) => {
      if (typeof it[Symbol.iterator] === 'function') return it[Symbol.iterator]();
      isAsync = true;
      return it[Symbol.asyncIterator]();
    });
    this.async = isAsync;
  }

  get arity(): number {
    return this.iterators.length;
  }

  /** Appends the next item's arguments to `out`; false when the input has ended. */
  readSync(out: unknown[]): boolean {
    if (this.ended) return false;
    if (this.iterators.length === 0) return this.end();
    const start = out.length;
    for (let i = 0; i < this.iterators.length; i++) {
      const step = (this.iterators[i] as Iterator<unknown>).next();
      if (step.done) {
        out.length = start;
        return this.end();
      }
      out.push(step.value);
    }
    return true;
  }

  async readAsync(out: unknown[]): Promise<boolean> {
    if (this.ended) return false;
    if (this.iterators.length === 0) return this.end();
    const start = out.length;
    for (let i = 0; i < this.iterators.length; i++) {
      const step = await this.iterators[i]!.next();
      if (step.done) {
        out.length = start;
        return this.end();
      }
      out.push(step.value);
    }
    return true;
  }

  /** Closes every iterator that is still open, as `for...of` would. */
  end(): false {
    if (this.ended) return false;
    this.ended = true;
    for (const it of this.iterators) {
      try {
        const closing = it.return?.();
        if (closing instanceof Promise) closing.catch(() => {});
      } catch {
        // an iterator that fails to close must not hide the result
      }
    }
    return false;
  }
}

/**
 * The iterator `Executor.map` returns: submits at the call, yields results in
 * input order, and cancels what has not started when it ends early.
 * @internal
 */
export class MapIterator<R> implements AsyncIterableIterator<R>, Waiter {
  private readonly queue: Future<any>[] = [];
  private head = 0;
  private readonly reader: ZipReader;
  private readonly chunksize: number;
  private readonly buffersize: number | undefined;
  private readonly deadline: number | undefined;
  private readonly chunked: boolean;
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
  private waiting: Future<any> | null = null;
  private resolveNext: ((result: IteratorResult<R> | Promise<IteratorResult<R>>) => void) | null = null;
  private rejectNext: ((error: unknown) => void) | null = null;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly target: MapTarget,
    private readonly fn: (...args: any[]) => unknown,
    iterables: unknown[],
    options: MapOptions,
  ) {
    const timeout = checkTimeout(options.timeout);
    this.chunksize = checkCount(options.chunksize, 'chunksize', 'chunksize must be >= 1.') ?? 1;
    this.buffersize = checkCount(options.buffersize, 'buffersize', 'buffersize must be undefined or > 0');
    this.deadline = timeout === undefined ? undefined : performance.now() + timeout;
    this.chunked = this.chunksize > 1 && typeof target.submitChunk === 'function';
    this.reader = new ZipReader(iterables);
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
    const future = this.takeFuture();
    if (future.done() && !future.cancelled()) return this.deliver(future);
    this.busy = true;
    return (this.current = new Promise((resolve, reject) => {
      this.resolveNext = resolve;
      this.rejectNext = reject;
      this.waiting = future;
      future._addWaiter(this);
      const remaining = this.remaining();
      if (remaining !== undefined) this.timer = setTimeout(this.timedOut, remaining);
    }));
  }

  /** @internal The awaited future is done. */
  futureDone(future: Future<any>): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.waiting = null;
    this.busy = false;
    const resolve = this.resolveNext!;
    const reject = this.rejectNext!;
    this.resolveNext = this.rejectNext = null;
    if (future.cancelled()) {
      this.close();
      reject(new CancelledError());
    } else resolve(this.deliver(future));
  }

  private readonly timedOut = (): void => {
    const future = this.waiting!;
    const reject = this.rejectNext!;
    future._removeWaiter(this);
    future.cancel();
    this.timer = undefined;
    this.waiting = null;
    this.resolveNext = this.rejectNext = null;
    this.busy = false;
    this.close();
    reject(new TimeoutError());
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
    return this.queue.length - this.head;
  }

  private canSubmit(): boolean {
    return !this.closed && !this.inputDone && (this.buffersize === undefined || this.outstanding() < this.buffersize);
  }

  /** A batch: one item's arguments, or a chunk (the arity, then the items' arguments). */
  private newBatch(): unknown[] {
    return this.chunked ? [this.reader.arity] : [];
  }

  private batchFull(batch: unknown[]): boolean {
    return this.chunked ? batch.length - 1 >= this.chunksize * this.reader.arity : batch.length > 0 || this.reader.arity === 0;
  }

  private batchEmpty(batch: unknown[]): boolean {
    return batch.length === (this.chunked ? 1 : 0);
  }

  private submitBatch(batch: unknown[]): void {
    this.queue.push(this.chunked ? this.target.submitChunk!(this.fn, batch) : this.target.submit(this.fn, ...batch));
  }

  private fillSync(): void {
    try {
      while (this.canSubmit()) {
        const batch = this.newBatch();
        let more = true;
        while (!this.batchFull(batch) && (more = this.reader.readSync(batch)));
        if (!this.batchEmpty(batch)) this.submitBatch(batch);
        if (!more) this.inputDone = true;
      }
    } catch (error) {
      this.failInput(error);
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

  private remaining(): number | undefined {
    return this.deadline === undefined ? undefined : Math.max(0, this.deadline - performance.now());
  }

  private inputProgress(): Promise<void> {
    return new Promise((resolve, reject) => {
      const remaining = this.remaining();
      let timer: NodeJS.Timeout | undefined;
      if (remaining !== undefined) {
        timer = setTimeout(() => {
          this.wakeConsumer = null;
          reject(new TimeoutError());
        }, remaining);
      }
      this.wakeConsumer = () => {
        if (timer !== undefined) clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Ends the iteration: cancels every future not yet started and closes the input. */
  private close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.waiting !== null) {
      // return() while a next() waits: that next() ends the iteration too.
      const future = this.waiting;
      future._removeWaiter(this);
      future.cancel();
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.waiting = null;
      this.busy = false;
      this.resolveNext?.({ value: undefined, done: true });
      this.resolveNext = this.rejectNext = null;
    }
    for (let i = this.head; i < this.queue.length; i++) this.queue[i]!.cancel();
    this.queue.length = 0;
    this.head = 0;
    this.chunkValues = null;
    this.reader.end();
  }
}
