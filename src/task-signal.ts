import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * A running task's abort state. The controller is made only when the task
 * asks for its signal, so tasks that never ask pay nothing for it.
 * @internal
 */
export interface TaskContext {
  controller: AbortController | null;
  abortReason: unknown;
  aborted: boolean;
}

const current = new AsyncLocalStorage<TaskContext>();

/**
 * The `AbortSignal` of the task that is running now: aborted by
 * `cancel({ interrupt: true })` and by `shutdown({ wait: false, cancelFutures: true })`.
 * Throws outside a running task.
 */
export function taskSignal(): AbortSignal {
  const task = current.getStore();
  if (task === undefined) throw new Error('taskSignal() was called outside a running task');
  if (task.controller === null) {
    task.controller = new AbortController();
    if (task.aborted) task.controller.abort(task.abortReason);
  }
  return task.controller.signal;
}

/** Calls `fn(...args)` with `task` as the context `taskSignal()` sees. @internal */
export function runAsTask<R>(task: TaskContext, fn: (...args: any[]) => R, args: unknown[]): R {
  return current.run(task, fn, ...args);
}

/** Aborts the task's signal, now or when the task first asks for it. @internal */
export function abortTask(task: TaskContext, reason: unknown): void {
  if (task.aborted) return;
  task.aborted = true;
  task.abortReason = reason;
  task.controller?.abort(reason);
}
