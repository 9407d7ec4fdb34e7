/** The `map` iterator a batch reports to. @internal */
export interface MapSink {
  /** Item `index` of the batch has its outcome. */
  itemDone(batch: MapBatch, index: number): void;
  /** The executor cancelled the batch's items that had not started. */
  batchCancelled(batch: MapBatch): void;
}

/** What `MapBatch.outcome` says of an item. @internal */
export const ITEM_PENDING = 0;
/** @internal */ export const ITEM_OK = 1;
/** @internal */ export const ITEM_FAILED = 2;
/** @internal */ export const ITEM_CANCELLED = 3;

/**
 * Items of one `map` call in an executor's queue as one entry, with their
 * outcomes. No future per item: a large eager `map` holds its input and its
 * unread results, and nothing else per item.
 * @internal
 */
export class MapBatch {
  /** The next item to start. */
  next = 0;
  /** Items from here on were cancelled before they started. */
  private cancelledFrom = Infinity;
  private readonly states: Uint8Array;
  /** Each finished item's value, or its error. */
  private readonly values: unknown[];

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
    this.args = null;
    return count;
  }
}
