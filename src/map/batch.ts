/**
 * `map` on an executor that queues many items as one entry
 * (`AsyncPoolExecutor`): no future per item, so that a large eager `map` holds
 * its input and its unread results, and nothing else per item.
 */
import { Deque } from '../deque.js';
import type { TaskTrace } from '../tracing.js';
import { ITEM_CANCELLED, ITEM_FAILED, ITEM_OK, ITEM_PENDING, type MapConsumer, type MapSource } from './source.js';

/** An executor that queues a batch of items as one entry, with no future per item: `AsyncPoolExecutor`. @internal */
export interface BatchQueue {
  /** Queues a batch as one entry; the executor starts its items in order and settles each in the batch. */
  queueBatch(batch: MapBatch): void;
  /** Withdraws the batch's items that have not started. */
  cancelBatch(batch: MapBatch): void;
}

/** The `map` iterator's side of a batch. @internal */
export interface MapSink {
  /** Item `index` of the batch has its outcome. */
  itemDone(batch: MapBatch, index: number): void;
  /** The executor cancelled the batch's items that had not started. */
  batchCancelled(batch: MapBatch): void;
}

/** Items of one `map` call in an executor's queue as one entry, with their outcomes. @internal */
export class MapBatch {
  /** The next item to start. */
  next = 0;
  /** Items from here on were cancelled before they started. */
  private cancelledFrom = Infinity;
  private readonly states: Uint8Array;
  /** Each finished item's value, or its error. */
  private readonly values: unknown[];
  /** When the executor queued it (its items' wait counts from here). */
  queuedAt = 0;
  /** A tracing context per item, while the channel had a subscriber at the queueing; else null. */
  traces: TaskTrace[] | null = null;

  constructor(
    readonly fn: (...args: any[]) => unknown,
    /** Each item's arguments one after another, `arity` per item. */
    private args: unknown[] | null,
    private readonly arity: number,
    readonly count: number,
    readonly sink: MapSink,
  ) {
    this.states = new Uint8Array(count);
    this.values = new Array(count);
  }

  /** Items neither started nor cancelled. */
  get unstarted(): number {
    return this.cancelledFrom === Infinity ? this.count - this.next : 0;
  }

  /** Starts the next item: returns its arguments, which the batch forgets. */
  take(): unknown[] {
    const args = this.args!;
    const from = this.next++ * this.arity;
    let out: unknown[];
    if (this.arity === 1) {
      out = [args[from]];
      args[from] = undefined;
    } else {
      out = args.slice(from, from + this.arity);
      for (let i = from; i < from + this.arity; i++) args[i] = undefined;
    }
    if (this.next === this.count) this.args = null;
    return out;
  }

  /** Records an item's outcome and tells the iterator. */
  settle(index: number, ok: boolean, value: unknown): void {
    this.states[index] = ok ? ITEM_OK : ITEM_FAILED;
    this.values[index] = value;
    if (this.traces !== null) this.traces[index]!.settled(ok, value);
    this.sink.itemDone(this, index);
  }

  /** One of the `ITEM_` states. */
  outcome(index: number): number {
    const state = this.states[index]!;
    if (state === ITEM_PENDING && index >= this.cancelledFrom) return ITEM_CANCELLED;
    return state;
  }

  /** The value (or error) of a finished item, which the batch forgets. */
  takeValue(index: number): unknown {
    const value = this.values[index];
    this.values[index] = undefined;
    return value;
  }

  /** Cancels the items not started; returns how many. */
  cancel(): number {
    const count = this.unstarted;
    if (count > 0) this.cancelledFrom = this.next;
    if (this.traces !== null) for (let i = this.next; i < this.next + count; i++) this.traces[i]!.cancelled();
    this.args = null;
    return count;
  }
}

/** @internal */
export class BatchSource implements MapSource, MapSink {
  args: unknown[] = [];
  /** Items in `args`, not queued yet. */
  private count = 0;
  /** Batches queued and not fully read, and the next item to read in the first. */
  private readonly batches = new Deque<MapBatch>();
  private cursor = 0;
  /** Queued items not claimed yet. */
  private unclaimed = 0;
  private isClaimed = false;
  private watching = false;

  constructor(
    private readonly queue: BatchQueue,
    private readonly fn: (...args: any[]) => unknown,
    private readonly arity: number,
    /** Async input queues each item as it is read: it would otherwise wait for the next read. */
    private readonly eachItem: boolean,
    private readonly consumer: MapConsumer,
  ) {}

  added(): void {
    this.count++;
    if (this.eachItem) this.flush();
  }

  flush(): void {
    // After an input error too: what was read before it runs, as it would item by item.
    if (this.count === 0) return;
    const batch = new MapBatch(this.fn, this.args, this.arity, this.count, this);
    this.args = [];
    this.count = 0;
    this.queue.queueBatch(batch);
    this.batches.push(batch);
    this.unclaimed += batch.count;
  }

  outstanding(): number {
    return this.unclaimed + this.count;
  }

  claimed(): boolean {
    return this.isClaimed;
  }

  claim(): void {
    this.unclaimed--;
    this.isClaimed = true;
  }

  state(): number {
    return this.batches.peek()!.outcome(this.cursor);
  }

  take(): unknown {
    const batch = this.batches.peek()!;
    const index = this.cursor;
    if (++this.cursor === batch.count) {
      this.batches.shift();
      this.cursor = 0;
    }
    this.isClaimed = false;
    return batch.takeValue(index);
  }

  watch(): void {
    this.watching = true;
  }

  /** @internal */
  itemDone(batch: MapBatch, index: number): void {
    if (this.watching && index === this.cursor && batch === this.batches.peek()) this.settled();
  }

  /** @internal */
  batchCancelled(batch: MapBatch): void {
    if (this.watching && batch === this.batches.peek() && batch.outcome(this.cursor) !== ITEM_PENDING) this.settled();
  }

  private settled(): void {
    this.watching = false;
    this.consumer.itemSettled();
  }

  close(): void {
    this.watching = this.isClaimed = false;
    for (let batch = this.batches.shift(); batch !== undefined; batch = this.batches.shift()) this.queue.cancelBatch(batch);
    this.cursor = this.unclaimed = this.count = 0;
    this.args = [];
  }
}
