import type { Future } from './future.js';

/** The `map` iterator a batch reports to. @internal */
export interface MapSink {
  /** The batch's next item has started, as `future`: items start in input order. */
  started(future: Future<any>, batch: MapBatch): void;
  /** The executor cancelled the `count` items of the batch that had not started. */
  batchCancelled(batch: MapBatch, count: number): void;
}

/**
 * Items of one `map` call waiting in an executor's queue as one entry. Their
 * futures are made only as they start, so a large eager `map` holds its input
 * and nothing per item.
 * @internal
 */
export class MapBatch {
  /** The next item to start. */
  next = 0;
  cancelled = false;

  constructor(
    readonly fn: (...args: any[]) => unknown,
    /** Each item's arguments one after another, `arity` per item. */
    private args: unknown[] | null,
    private readonly arity: number,
    readonly count: number,
    readonly sink: MapSink,
  ) {}

  /** Items neither started nor cancelled. */
  get unstarted(): number {
    return this.cancelled ? 0 : this.count - this.next;
  }

  /** The arguments of the next item, which is now started; it lets the batch forget them. */
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

  /** Cancels the items not started; returns how many. */
  cancel(): number {
    const count = this.unstarted;
    this.cancelled = true;
    this.args = null;
    return count;
  }
}
