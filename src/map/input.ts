// What `map` reads: its arguments, and its input iterables zip-style.
import { describe } from '../checks.js';

/** The options of `Executor.map`, given as its last argument. */
export interface MapOptions {
  /** Milliseconds, counted from the call to `map`, within which each result must be ready (default: no timeout). */
  timeout?: number;
  /**
   * Items sent to a worker as one task (executors without workers ignore it). Default: on the thread,
   * process and BullMQ executors, chunks sized by measured time (one item at first, then about 1 ms of
   * work per chunk on a pool, 25 ms on BullMQ; slow items one per chunk); `1` is Python's one future per
   * item. A `RangeError` below 1 (`chunksize must be >= 1.`), a `TypeError` for a non-integer.
   */
  chunksize?: number;
  /** At most this many results outstanding; input is then read lazily (default: all input is read and submitted at once). */
  buffersize?: number;
}

/** The iterables of `map`, one per parameter of the task function. */
export type IterablesOf<A extends readonly unknown[]> = { [K in keyof A]: Iterable<A[K]> | AsyncIterable<A[K]> };

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


/** Reads argument tuples zip-style: the shortest iterable ends the input. @internal */
export class ZipReader {
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
