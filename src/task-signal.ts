import { AsyncLocalStorage } from 'node:async_hooks';
import { CancelledError } from './errors.js';

/**
 * A running task, as `taskSignal()` sees it. Its abort state is made only when
 * the task asks for its signal or is aborted, so most tasks pay nothing for it.
 * @internal
 */
export interface TaskContext {
  abort: AbortState | null;
  /** For a task its worker no longer tracks as running (the BullMQ worker's waiting ones): takes the errors its callbacks throw. */
  stray?: (error: unknown) => void;
}

interface AbortState {
  controller: AbortController | null;
  reason: unknown;
  aborted: boolean;
}

function abortState(task: TaskContext): AbortState {
  return (task.abort ??= { controller: null, reason: undefined, aborted: false });
}

const current = new AsyncLocalStorage<TaskContext>();

/**
 * The `AbortSignal` of the task that is running now: aborted by
 * `cancel({ interrupt: true })` and by `shutdown({ wait: false, cancelFutures: true })`,
 * its reason a `CancelledError`. Throws an `Error` outside a running task. In
 * a thread or process pool's task an interrupt ends the worker instead, so
 * there the pool's shutdown aborts it; on a BullMQ worker an interrupt aborts
 * it first, and the task's thread is stopped only once `interruptGrace` is over.
 */
export function taskSignal(): AbortSignal {
  const task = current.getStore();
  if (task === undefined) throw new Error('taskSignal() was called outside a running task');
  const state = abortState(task);
  if (state.controller === null) {
    state.controller = new AbortController();
    if (state.aborted) state.controller.abort(state.reason);
  }
  return state.controller.signal;
}

/** The task whose code is running now (also in its callbacks and in 'uncaughtException' handlers), if any. @internal */
export function currentTask(): TaskContext | undefined {
  return current.getStore();
}

/** Calls `fn(...args)`, with no receiver, with `task` as the context `taskSignal()` sees. @internal */
export function runAsTask<R>(task: TaskContext, fn: (...args: any[]) => R, args: unknown[]): R {
  // `run` calls its callback with `null` as `this`: a task's `this` is `undefined`, as for any plain call.
  return current.run(task, Reflect.apply, fn, undefined, args) as R;
}

/** Aborts the task's signal, now or when the task first asks for it. @internal */
export function abortTask(task: TaskContext, reason: unknown): void {
  const state = abortState(task);
  if (state.aborted) return;
  state.aborted = true;
  state.reason = reason;
  state.controller?.abort(reason);
}

/** The reason an interrupted task's signal carries (`cancel({ interrupt: true })`), on every executor. @internal */
export function interruptedReason(): CancelledError {
  return new CancelledError('the task was interrupted');
}

/** The reason a task's signal carries when a shutdown aborts it (`shutdown({ wait: false, cancelFutures: true })`). @internal */
export function shutDownReason(): CancelledError {
  return new CancelledError('the executor was shut down');
}
