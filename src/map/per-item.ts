/**
 * `map` with a future per item, through `submit()`: what Python's `map` does,
 * and what any executor offers.
 */
import { Deque } from '../deque.js';
import type { Future, Waiter } from '../future.js';
import { ITEM_CANCELLED, ITEM_FAILED, ITEM_OK, ITEM_PENDING, type MapConsumer, type MapSource } from './source.js';

/** What the per-item strategy needs of an executor: any executor. @internal */
export interface Submitter {
  submit(fn: (...args: any[]) => unknown, ...args: any[]): Future<any>;
}

/** @internal */
export class FutureSource implements MapSource, Waiter {
  args: unknown[] = [];
  /** Futures submitted and not yet claimed, in input order. */
  protected readonly futures = new Deque<Future<any>>();
  /** The claimed future, until it is taken. */
  protected current: Future<any> | null = null;

  constructor(
    private readonly target: Submitter,
    protected readonly fn: (...args: any[]) => unknown,
    protected readonly consumer: MapConsumer,
  ) {}

  added(): void {
    const args = this.args;
    this.args = [];
    this.futures.push(this.target.submit(this.fn, ...args));
  }

  flush(_inputFailed: boolean): void {
    // Each item was submitted as it was read.
  }

  outstanding(): number {
    return this.futures.length;
  }

  claimed(): boolean {
    return this.current !== null;
  }

  claim(): void {
    this.current = this.futures.shift()!;
  }

  state(): number {
    const future = this.current!;
    if (!future.done()) return ITEM_PENDING;
    if (future.cancelled()) return ITEM_CANCELLED;
    return future._failed ? ITEM_FAILED : ITEM_OK;
  }

  take(): unknown {
    const value = this.current!._value;
    this.current = null;
    return value;
  }

  watch(): void {
    this.current!._addWaiter(this);
  }

  /** @internal The claimed future is done. */
  futureDone(): void {
    this.consumer.itemSettled();
  }

  close(): void {
    const current = this.current;
    if (current !== null) {
      // Its cancellation must not wake an iteration that has ended.
      current._removeWaiter(this);
      current.cancel();
      this.current = null;
    }
    for (let future = this.futures.shift(); future !== undefined; future = this.futures.shift()) future.cancel();
  }
}
