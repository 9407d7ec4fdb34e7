/**
 * How a task is named on a queue. Worker machines keep their modules at other
 * paths than the submitting one, so a task travels by the name its
 * `defineTasks` call gives it (`key`, or `namespace.key`), never by a file URL.
 */
import { taskRef } from '../tasks.js';

type AnyFunction = (...args: any[]) => unknown;

/** Checks a queue's name as BullMQ keys take it: `where` names the caller in the error. @internal */
export function checkQueueName(queueName: unknown, where: string): asserts queueName is string {
  if (typeof queueName !== 'string' || queueName === '' || queueName.includes(':')) {
    throw new TypeError(`${where}: queueName must be a non-empty string without ':'`);
  }
}

/**
 * The queue name of a `defineTasks` function. Anything else is refused here,
 * at `submit`, because a queue carries data only: no code travels through Redis.
 * @internal
 */
export function taskName(fn: unknown): string {
  if (typeof fn !== 'function') throw new TypeError(`submit() expects a function, got ${fn === null ? 'null' : typeof fn}`);
  const ref = taskRef(fn);
  if (ref === undefined) {
    throw new TypeError(
      `BullMQExecutor cannot run ${fn.name ? `the function '${fn.name}'` : 'an inline function'}: no code travels through Redis. ` +
        'Define it in a task module with defineTasks(import.meta.url, { ... }), give that module to the workers, and submit it from there',
    );
  }
  return ref.namespace === undefined ? ref.name : `${ref.namespace}.${ref.name}`;
}

/**
 * Finds the `defineTasks` functions among a module's exports: every function
 * that carries a task reference, on any exported object (or exported directly).
 * @internal
 */
export function tasksOf(namespace: Record<string, unknown>): Map<string, AnyFunction> {
  const found = new Map<string, AnyFunction>();
  const consider = (value: unknown): void => {
    const ref = taskRef(value);
    if (ref === undefined) return;
    const name = ref.namespace === undefined ? ref.name : `${ref.namespace}.${ref.name}`;
    found.set(name, value as AnyFunction);
  };
  for (const value of Object.values(namespace)) {
    if (typeof value === 'function') consider(value);
    else if (value !== null && typeof value === 'object') {
      for (const key of Object.keys(value)) consider((value as Record<string, unknown>)[key]);
    }
  }
  return found;
}

/**
 * Joins the tasks of several modules into one table. A name two modules give
 * to different functions would make a job's meaning depend on which module
 * loaded last: an error, naming both modules and the way out.
 * @internal
 */
export function mergeTasks(table: Map<string, AnyFunction>, origins: Map<string, string>, module: string, tasks: Map<string, AnyFunction>): void {
  for (const [name, fn] of tasks) {
    const existing = table.get(name);
    if (existing !== undefined && existing !== fn) {
      throw new Error(
        `the task name '${name}' is defined twice: in ${origins.get(name)} and in ${module}; ` +
          'give one of the defineTasks() calls a namespace (defineTasks(import.meta.url, tasks, { namespace }))',
      );
    }
    table.set(name, fn);
    origins.set(name, module);
  }
}
