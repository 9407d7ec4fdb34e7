/**
 * Running a task on the worker's own event loop (`threads: 0`, or a task that
 * has proved quick): no thread hop. A task that computes for long blocks the
 * loop, and with it the renewal of the job's lock: such tasks need threads.
 * @internal
 */
import type { ChunkOutcome } from '../pool/chunk.js';
import { isThenable } from '../checks.js';
import { abortTask, runAsTask, type TaskContext } from '../task-signal.js';

type AnyFunction = (...args: any[]) => unknown;

/** A task running inline: its outcome (now, when the task returned at once), and what an interrupt calls. */
export interface InlineRun {
  outcome: { ok: boolean; value: unknown } | Promise<{ ok: boolean; value: unknown }>;
  abort(): void;
}

/** Starts a call; a task that returns at once (no thenable) costs no promise. */
export function runInline(fn: AnyFunction, args: unknown[], chunk: boolean): InlineRun {
  const context: TaskContext = { abort: null };
  const abort = (): void => abortTask(context, new Error('the task was interrupted'));
  let value: unknown;
  try {
    value = chunk ? runAsTask(context, runChunk, [fn, args]) : runAsTask(context, fn, args);
  } catch (error) {
    return { outcome: { ok: false, value: error }, abort };
  }
  if (!isThenable(value)) return { outcome: { ok: true, value }, abort };
  return {
    outcome: Promise.resolve(value).then(
      (result) => ({ ok: true, value: result }),
      (error: unknown) => ({ ok: false, value: error }),
    ),
    abort,
  };
}

/**
 * A chunk of `map` items, one after another; the first failure ends it,
 * keeping the values before it. Items that return at once are not awaited.
 */
function runChunk(fn: AnyFunction, chunk: unknown[]): ChunkOutcome<unknown> | Promise<ChunkOutcome<unknown>> {
  const arity = chunk[0] as number;
  const count = (chunk.length - 1) / arity;
  const values: unknown[] = [];
  for (let i = 0; i < count; i++) {
    let value: unknown;
    try {
      value = fn(...chunk.slice(1 + i * arity, 1 + (i + 1) * arity));
    } catch (error) {
      return { values, failed: true, error };
    }
    if (isThenable(value)) return finishChunk(fn, chunk, i, value, values);
    values.push(value);
  }
  return { values, failed: false, error: undefined };
}

/** The rest of a chunk, from item `i` whose call returned a thenable. */
async function finishChunk(fn: AnyFunction, chunk: unknown[], i: number, first: PromiseLike<unknown>, values: unknown[]): Promise<ChunkOutcome<unknown>> {
  const arity = chunk[0] as number;
  const count = (chunk.length - 1) / arity;
  let pending: unknown = first;
  for (;;) {
    try {
      values.push(await pending);
      if (++i === count) return { values, failed: false, error: undefined };
      pending = fn(...chunk.slice(1 + i * arity, 1 + (i + 1) * arity));
    } catch (error) {
      return { values, failed: true, error };
    }
  }
}
