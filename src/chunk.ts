/**
 * The chunk format of `map` with `chunksize` > 1, both sides of it: `map`
 * builds chunks and reads their outcomes; a worker (a pool's thread or child,
 * a BullMQ worker) runs them.
 *
 * A chunk is one flat array: the arity, then each item's arguments one after
 * another — far cheaper to clone than an array per item.
 * @internal
 */
import { isThenable } from './checks.js';
import { runAsTask, type TaskContext } from './task-signal.js';

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

/** How many of a chunk's items ran: its values, and the one that failed; those after it never did. */
export function itemsRan(outcome: { values: unknown[]; failed: boolean }): number {
  return outcome.values.length + (outcome.failed ? 1 : 0);
}

/** An empty chunk for items of `arity` arguments. */
export function newChunk(arity: number): Chunk {
  return [arity];
}

/** The number of items in a chunk. */
export function chunkLength(chunk: Chunk): number {
  return (chunk.length - 1) / (chunk[0] as number);
}

/** A chunk's first `items` items: what travels of a chunk cut short before an item that cannot. */
export function chunkHead(chunk: Chunk, items: number): Chunk {
  return chunk.slice(0, 1 + items * (chunk[0] as number));
}

/** Where the element at `index` of a chunk (1 on: past the arity) belongs: its item, and its place among that item's arguments. */
export function placeInChunk(chunk: Chunk, index: number): { item: number; arg: number } {
  const arity = Math.max(1, chunk[0] as number);
  return { item: Math.floor((index - 1) / arity), arg: (index - 1) % arity };
}

/**
 * The outcome of a chunk that was cut short before an item that could not be
 * sent: unless an earlier item failed, that item's error ends it, at its own position.
 */
export function cutShort(outcome: ChunkOutcome<unknown>, cut: TypeError): ChunkOutcome<unknown> {
  if (!outcome.failed) {
    outcome.failed = true;
    outcome.error = cut;
  }
  return outcome;
}

/** Runs a task's call in its context, in a worker: with `chunk`, each item of the chunk `args`; else `fn(...args)`. */
export function runCall(context: TaskContext, fn: AnyFunction, args: unknown[], chunk: boolean): unknown {
  return chunk ? runAsTask(context, runChunk, [fn, args]) : runAsTask(context, fn, args);
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
