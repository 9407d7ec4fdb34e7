/**
 * What `map` needs of an executor, and the strategy each executor gets. Every
 * executor submits; one that runs several items as one task offers
 * `submitChunk` (used with `chunksize` > 1, and with no `chunksize` where it
 * says how to size chunks itself: `_autoChunks`); one that queues many items
 * as one entry offers `queueBatch` (used for every `map`). Each strategy
 * declares what it uses; `sourceFor` is the only place that looks at what an
 * executor offers.
 */
import { AutoChunkSource, type AutoChunkRunner } from './auto-chunks.js';
import { BatchSource, type BatchQueue } from './batch.js';
import { ChunkSource, type ChunkRunner } from './chunks.js';
import { FutureSource, type Submitter } from './per-item.js';
import type { MapConsumer, MapSource } from './source.js';

type AnyFunction = (...args: any[]) => unknown;

/** An executor as `map` sees it. @internal */
export interface MapTarget
  extends Submitter, Partial<Omit<ChunkRunner, 'submit'>>, Partial<Omit<AutoChunkRunner, 'submit' | 'submitChunk'>>, Partial<BatchQueue> {}

/** The strategy for one `map` call on `target` (`chunksize` undefined when not given). @internal */
export function sourceFor(
  target: MapTarget, fn: AnyFunction, arity: number, chunksize: number | undefined, asyncInput: boolean, consumer: MapConsumer,
): MapSource {
  // `_autoChunks` null: every item must be a task of its own (a rate-limited pool: each item's start counts).
  if (runsChunks(target) && target._autoChunks !== null) {
    if (chunksize === undefined && sizesChunks(target)) return new AutoChunkSource(target, fn, arity, target._autoChunks, consumer);
    if (chunksize !== undefined && chunksize > 1) return new ChunkSource(target, fn, arity, chunksize, consumer);
  }
  if (queuesBatches(target)) return new BatchSource(target, fn, arity, asyncInput, consumer);
  return new FutureSource(target, fn, consumer);
}

function runsChunks(target: MapTarget): target is MapTarget & ChunkRunner {
  return typeof target.submitChunk === 'function';
}

function sizesChunks(target: MapTarget & ChunkRunner): target is MapTarget & AutoChunkRunner {
  return target._autoChunks != null && typeof target._unsent === 'function';
}

function queuesBatches(target: MapTarget): target is MapTarget & BatchQueue {
  return typeof target.queueBatch === 'function';
}
