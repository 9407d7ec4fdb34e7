/**
 * What `map` needs of an executor, declared once, and the strategy each
 * executor gets. Every executor submits; one that runs several items as one
 * task offers `submitChunk` (used with `chunksize` > 1, and with no
 * `chunksize` where it says how to size chunks itself), one that queues many
 * items as one entry offers `mapBatches` (used for every `map`). `sourceFor`
 * is the only place that looks at what an executor offers.
 */
import type { Future } from '../future.js';
import type { Chunk, ChunkOutcome } from '../pool/chunk.js';
import { AutoChunkSource, type UnsentItems } from './auto-chunks.js';
import { BatchSource, type MapBatch } from './batch.js';
import { ChunkSource } from './chunks.js';
import { FutureSource } from './per-item.js';
import type { MapConsumer, MapSource } from './source.js';

type AnyFunction = (...args: any[]) => unknown;

/** @internal */
export interface MapTarget {
  submit(fn: AnyFunction, ...args: any[]): Future<any>;
  /** Runs a chunk of items as one task: the worker pools and BullMQ. */
  submitChunk?(fn: AnyFunction, chunk: Chunk): Future<ChunkOutcome<any>>;
  /** Takes items in batches, one queue entry each, with no future per item: `AsyncPoolExecutor`. */
  readonly mapBatches?: BatchQueue;
  /**
   * How chunks are sized without `chunksize` (see auto-chunks.ts); `null` where every
   * item must be its own task (a rate-limited pool: each item's start counts).
   */
  readonly _autoChunks?: AutoChunking | null;
}

/** An executor that runs chunks. @internal */
export interface ChunkTarget extends MapTarget {
  submitChunk(fn: AnyFunction, chunk: Chunk): Future<ChunkOutcome<any>>;
  /** Items `map` has read and not sent yet: `stats()` counts them as queued. */
  _unsentItems: number;
  /** A map holds such items (or no longer): they are sent before the executor shuts down. */
  _holdUnsent(map: UnsentItems, holding: boolean): void;
  /** That many of them will never be sent (the iteration ended): counted as cancelled. */
  _dropUnsent(count: number): void;
}

/** How `map` sizes chunks by itself on an executor. @internal */
export interface AutoChunking {
  /** Milliseconds of work per chunk that hide what sending a chunk costs. */
  targetMs: number;
  /** The most items in one chunk. */
  maxItems: number;
  /** Chunks out at once, at least. */
  inFlight: number;
  /** Where the executor cannot count its workers: chunks kept waiting beyond those started (0: `inFlight` is the bound). */
  spare: number;
}

/**
 * A worker pool's: about a millisecond of work per chunk, `perWorker` chunks out
 * per worker (two where a chunk sent ahead can still be withdrawn, threads; one
 * where it cannot, processes), so that leaving the loop early lets at most the
 * chunk each worker runs finish. @internal
 */
export function poolChunking(maxWorkers: number, perWorker: number): AutoChunking {
  return { targetMs: 1, maxItems: 4096, inFlight: perWorker * maxWorkers, spare: 0 };
}

/** An executor's queue as the batch strategy uses it. @internal */
export interface BatchQueue {
  /** Queues a batch of items as one entry; the executor starts them in order and settles each in the batch. */
  enqueueMap(batch: MapBatch): void;
  /** Withdraws the batch's items that have not started. */
  cancelMap(batch: MapBatch): void;
}

/** The strategy for one `map` call on `target`. @internal */
export function sourceFor(
  target: MapTarget, fn: AnyFunction, arity: number, chunksize: number | undefined, asyncInput: boolean, consumer: MapConsumer,
): MapSource {
  if (runsChunks(target) && target._autoChunks !== null) {
    if (chunksize === undefined && target._autoChunks !== undefined) return new AutoChunkSource(target, fn, arity, target._autoChunks, consumer);
    if (chunksize !== undefined && chunksize > 1) return new ChunkSource(target, fn, arity, chunksize, consumer);
  }
  if (target.mapBatches !== undefined) return new BatchSource(target.mapBatches, fn, arity, asyncInput, consumer);
  return new FutureSource(target, fn, consumer);
}

function runsChunks(target: MapTarget): target is ChunkTarget {
  return typeof target.submitChunk === 'function';
}
