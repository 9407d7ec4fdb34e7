/**
 * The chunk format of `map` on worker pools, both sides of it: `map` builds
 * chunks and reads outcomes; a worker runs them.
 *
 * A chunk is one flat array: the arity, then each item's arguments one after
 * another — far cheaper to clone than an array per item.
 * @internal
 */
import { isThenable } from '../checks.js';

export type Chunk = unknown[];

/**
 * What a chunk produced: the values up to the first failure, and that
 * failure, so that each item's error surfaces at its own position.
 * @internal
 */
export interface ChunkOutcome<R> {
  values: R[];
  failed: boolean;
  error: unknown;
  /** How long the items ran on the worker, in ms, for `map`'s automatic chunk size; absent when not known. */
  ms?: number;
}

type AnyFunction = (...args: any[]) => unknown;

/** An empty chunk for items of `arity` arguments. */
export function newChunk(arity: number): Chunk {
  return [arity];
}

/** The number of items in a chunk. */
export function chunkLength(chunk: Chunk): number {
  return (chunk.length - 1) / (chunk[0] as number);
}

function itemArgs(chunk: Chunk, arity: number, i: number): unknown[] {
  const start = 1 + i * arity;
  return chunk.slice(start, start + arity);
}

/** Runs a chunk's items in order, in a worker; the first failure ends it, keeping the values before it. */
export function runChunk(fn: AnyFunction, chunk: Chunk): ChunkOutcome<unknown> | Promise<ChunkOutcome<unknown>> {
  const started = performance.now();
  const arity = chunk[0] as number;
  const count = (chunk.length - 1) / arity;
  const values: unknown[] = [];
  for (let i = 0; i < count; i++) {
    let value: unknown;
    try {
      value = arity === 1 ? fn(chunk[1 + i]) : fn(...itemArgs(chunk, arity, i));
    } catch (error) {
      return { values, failed: true, error, ms: performance.now() - started };
    }
    if (isThenable(value)) {
      return runChunkAsync(fn, chunk, arity, count, i, values, value as PromiseLike<unknown>, started);
    }
    values.push(value);
  }
  return { values, failed: false, error: undefined, ms: performance.now() - started };
}

async function runChunkAsync(
  fn: AnyFunction, chunk: Chunk, arity: number, count: number, from: number, values: unknown[], pending: PromiseLike<unknown>, started: number,
): Promise<ChunkOutcome<unknown>> {
  try {
    values.push(await pending);
    for (let i = from + 1; i < count; i++) values.push(await fn(...itemArgs(chunk, arity, i)));
  } catch (error) {
    return { values, failed: true, error, ms: performance.now() - started };
  }
  return { values, failed: false, error: undefined, ms: performance.now() - started };
}
