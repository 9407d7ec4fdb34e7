/**
 * Running a task on the worker's own event loop (`threads: 0`): no thread hop,
 * for tasks that only wait on I/O. A task that computes for long blocks the
 * loop, and with it the renewal of the job's lock: such tasks need threads.
 * @internal
 */
import type { ChunkOutcome } from '../map.js';
import { abortTask, runAsTask, type TaskContext } from '../task-signal.js';

type AnyFunction = (...args: any[]) => unknown;

/** A task running inline; `abort` is what an interrupt calls. */
export interface InlineRun {
  outcome: Promise<{ ok: boolean; value: unknown }>;
  abort(): void;
}

export function runInline(fn: AnyFunction, args: unknown[], chunk: boolean): InlineRun {
  const context: TaskContext = { abort: null };
  const call = chunk ? () => runChunk(fn, args) : () => fn(...args);
  const outcome = (async () => {
    try {
      return { ok: true, value: await runAsTask(context, call, []) };
    } catch (error) {
      return { ok: false, value: error };
    }
  })();
  return { outcome, abort: () => abortTask(context, new Error('the task was interrupted')) };
}

/** A chunk of `map` items, one after another; the first failure ends it, keeping the values before it. */
async function runChunk(fn: AnyFunction, chunk: unknown[]): Promise<ChunkOutcome<unknown>> {
  const arity = chunk[0] as number;
  const count = (chunk.length - 1) / arity;
  const values: unknown[] = [];
  for (let i = 0; i < count; i++) {
    try {
      values.push(await fn(...chunk.slice(1 + i * arity, 1 + (i + 1) * arity)));
    } catch (error) {
      return { values, failed: true, error };
    }
  }
  return { values, failed: false, error: undefined };
}
