/**
 * What `map` needs of an executor, declared once, and the strategy each
 * executor gets. Every executor submits; one that runs several items as one
 * task offers `submitChunk` (used with `chunksize` > 1), one that queues many
 * items as one entry offers `mapBatches` (used for every `map`). `sourceFor`
 * is the only place that looks at what an executor offers.
 */
import type { Future } from '../future.js';
import type { Chunk, ChunkOutcome } from '../chunk.js';
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
}

/** An executor that runs chunks. @internal */
export interface ChunkTarget extends MapTarget {
  submitChunk(fn: AnyFunction, chunk: Chunk): Future<ChunkOutcome<any>>;
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
  target: MapTarget, fn: AnyFunction, arity: number, chunksize: number, asyncInput: boolean, consumer: MapConsumer,
): MapSource {
  if (chunksize > 1 && runsChunks(target)) return new ChunkSource(target, fn, arity, chunksize, consumer);
  if (target.mapBatches !== undefined) return new BatchSource(target.mapBatches, fn, arity, asyncInput, consumer);
  return new FutureSource(target, fn, consumer);
}

function runsChunks(target: MapTarget): target is ChunkTarget {
  return typeof target.submitChunk === 'function';
}
