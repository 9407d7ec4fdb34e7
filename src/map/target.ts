/**
 * What `map` needs of an executor, and the strategy each executor gets. Every
 * executor submits; one that runs several items as one task offers
 * `submitChunk` (used with `chunksize` > 1); one that queues many items as one
 * entry offers `queueBatch` (used for every `map`). Each strategy declares
 * what it uses; `sourceFor` is the only place that looks at what an executor offers.
 */
import { BatchSource, type BatchQueue } from './batch.js';
import { ChunkSource, type ChunkRunner } from './chunks.js';
import { FutureSource, type Submitter } from './per-item.js';
import type { MapConsumer, MapSource } from './source.js';

type AnyFunction = (...args: any[]) => unknown;

/** An executor as `map` sees it. @internal */
export interface MapTarget extends Submitter, Partial<Omit<ChunkRunner, 'submit'>>, Partial<BatchQueue> {}

/** The strategy for one `map` call on `target`. @internal */
export function sourceFor(
  target: MapTarget, fn: AnyFunction, arity: number, chunksize: number, asyncInput: boolean, consumer: MapConsumer,
): MapSource {
  if (chunksize > 1 && runsChunks(target)) return new ChunkSource(target, fn, arity, chunksize, consumer);
  if (queuesBatches(target)) return new BatchSource(target, fn, arity, asyncInput, consumer);
  return new FutureSource(target, fn, consumer);
}

function runsChunks(target: MapTarget): target is MapTarget & ChunkRunner {
  return typeof target.submitChunk === 'function';
}

function queuesBatches(target: MapTarget): target is MapTarget & BatchQueue {
  return typeof target.queueBatch === 'function';
}
