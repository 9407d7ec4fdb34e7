/**
 * `map` with `chunksize` > 1 on an executor that runs several items as one
 * task (the worker pools, BullMQ): a future per chunk, whose outcome holds the
 * values up to the first failure, read back one item at a time.
 */
import { newChunk, type Chunk, type ChunkOutcome } from '../chunk.js';
import type { Future } from '../future.js';
import type { TaskTrace } from '../tracing.js';
import { FutureSource, type Submitter } from './per-item.js';
import { ITEM_FAILED, ITEM_OK, type MapConsumer } from './source.js';

/** An executor that runs a chunk of items as one task: the worker pools and BullMQ. @internal */
export interface ChunkRunner extends Submitter {
  /** `held`: items `map` read before it sent them (automatic chunks): queued since then. */
  submitChunk(fn: (...args: any[]) => unknown, chunk: Chunk, held?: HeldItems): Future<ChunkOutcome<any>>;
}

/** A chunk's items as `map` read them, before it sent them. @internal */
export interface HeldItems {
  /** When the first was read (`performance.now()`). */
  readonly queuedAt: number;
  /** Their contexts, made as they were read (null: read while no one listened); undefined when none has one. */
  readonly traces: Array<TaskTrace | null> | undefined;
}

/** @internal */
export class ChunkSource extends FutureSource {
  override args: Chunk;
  /** Items in `args`. */
  private count = 0;
  /** The claimed chunk's values, once its future is done, and the failure that ended it. */
  private values: unknown[] | null = null;
  private index = 0;
  private error: { error: unknown } | null = null;

  constructor(
    private readonly runner: ChunkRunner,
    fn: (...args: any[]) => unknown,
    private readonly arity: number,
    private readonly chunksize: number,
    consumer: MapConsumer,
  ) {
    super(runner, fn, consumer);
    this.args = newChunk(arity);
  }

  override added(): void {
    if (++this.count === this.chunksize) this.submit();
  }

  override flush(inputFailed: boolean): void {
    // A chunk cut short by an input error is dropped, as Python's map (itertools.batched) drops it.
    if (inputFailed) this.reset();
    else if (this.count > 0) this.submit();
  }

  private submit(): void {
    const chunk = this.args;
    this.reset();
    this.futures.push(this.runner.submitChunk(this.fn, chunk));
  }

  private reset(): void {
    this.args = newChunk(this.arity);
    this.count = 0;
  }

  override claimed(): boolean {
    return this.values !== null || this.current !== null;
  }

  override state(): number {
    if (this.values === null) {
      const state = super.state();
      if (state !== ITEM_OK) return state;
      const outcome = super.take() as ChunkOutcome<unknown>;
      this.values = outcome.values;
      this.index = 0;
      this.error = outcome.failed ? { error: outcome.error } : null;
    }
    return this.index < this.values.length ? ITEM_OK : ITEM_FAILED;
  }

  override take(): unknown {
    const values = this.values;
    // The chunk's own future failed (its worker died) or was cancelled.
    if (values === null) return super.take();
    if (this.index < values.length) {
      const value = values[this.index++];
      if (this.index === values.length && this.error === null) this.values = null;
      return value;
    }
    const { error } = this.error!;
    this.values = this.error = null;
    return error;
  }

  override close(): void {
    super.close();
    this.values = this.error = null;
    this.reset();
  }
}
