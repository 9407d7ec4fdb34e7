/**
 * Running a task on the worker's own event loop (`threads: 0`, or a task that
 * has proved quick): no thread hop. A task that computes for long blocks the
 * loop, and with it the renewal of the job's lock: such tasks need threads.
 * @internal
 */
import { runCall } from '../chunk.js';
import { isThenable } from '../checks.js';
import { abortTask, interruptedReason, type TaskContext } from '../task-signal.js';

type AnyFunction = (...args: any[]) => unknown;

/** A task running inline: its outcome (now, when the task returned at once), and what an interrupt calls. */
export interface InlineRun {
  outcome: { ok: boolean; value: unknown } | Promise<{ ok: boolean; value: unknown }>;
  abort(): void;
}

/** Starts a call; a task that returns at once (no thenable) costs no promise. */
export function runInline(fn: AnyFunction, args: unknown[], chunk: boolean): InlineRun {
  const context: TaskContext = { abort: null };
  const abort = (): void => abortTask(context, interruptedReason());
  let value: unknown;
  try {
    value = runCall(context, fn, args, chunk);
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
