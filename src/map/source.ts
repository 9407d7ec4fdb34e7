/**
 * The one interface `MapIterator` drives, whatever way its items reach the
 * executor (a future per item, a chunk per task, a batch per queue entry).
 *
 * The iterator reads the input and appends each item's arguments to `args`;
 * the source decides when they are submitted. On the way back the iterator
 * claims the next unit in input order (which frees its room in `buffersize`),
 * asks for its state, parks on it if it is pending, and takes it.
 * @internal
 */
export interface MapSource {
  /** Where the iterator appends the next item's arguments; a source may replace it after `added()` or `flush()`. */
  readonly args: unknown[];
  /** The item just appended to `args` is complete. */
  added(): void;
  /**
   * The iterator stops reading for now: what was appended and not yet
   * submitted is submitted, unless `inputFailed` and the source drops it.
   */
  flush(inputFailed: boolean): void;
  /** Units submitted (or appended) and not yet claimed, as `buffersize` counts them. */
  outstanding(): number;
  /** Whether a claimed unit still has items to take. */
  claimed(): boolean;
  /** Makes the next unit in input order the one `state()` and `take()` read. */
  claim(): void;
  /** The next item's `ITEM_` state. */
  state(): number;
  /** Moves past the next item: returns its value, or its error (nothing for a cancelled one). */
  take(): unknown;
  /** Calls `consumer.itemSettled()` once the next item, now pending, has its outcome. */
  watch(): void;
  /** Cancels every item that has not started and forgets what was not submitted. */
  close(): void;
}

/** What a source tells: the next item, which the iterator is parked on, has its outcome. @internal */
export interface MapConsumer {
  itemSettled(): void;
}

/** An item's state, as `MapSource.state()` and `MapBatch.outcome()` report it. @internal */
export const ITEM_PENDING = 0;
/** @internal */ export const ITEM_OK = 1;
/** @internal */ export const ITEM_FAILED = 2;
/** A cancelled item was cancelled by a shutdown or by the iteration's end. @internal */
export const ITEM_CANCELLED = 3;
