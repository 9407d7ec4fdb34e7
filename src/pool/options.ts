import { availableParallelism } from 'node:os';
import { checkMaxWorkers, checkRateLimit, describe, type RateLimit } from '../checks.js';
import { taskDef, taskId, type TaskDef } from '../tasks.js';

/** Options every worker pool takes. @internal */
export interface PoolOptions {
  maxWorkers: number;
  initializer: TaskDef | null;
  initargs: unknown[];
  maxTasksPerWorker: number;
  idleTimeout: number;
  /** Tasks a worker runs at once (1: one at a time). */
  tasksPerWorker: number;
  /** At most `max` task starts in any `interval` ms (rate-gate.ts); undefined: no limit. */
  rateLimit: RateLimit | undefined;
}

/** The options thread and process pools share, checked, with Python's defaults. @internal */
export function poolOptions(
  opts: { maxWorkers?: unknown; initializer?: unknown; initargs?: unknown; idleTimeout?: unknown; tasksPerWorker?: unknown; rateLimit?: unknown },
  maxTasks: unknown,
  maxTasksName: string,
  caller: string,
): PoolOptions {
  const { initializer, initargs, idleTimeout, tasksPerWorker } = opts;
  const maxWorkers = checkMaxWorkers(opts.maxWorkers) ?? availableParallelism();
  if (initializer !== undefined && typeof initializer !== 'function') throw new TypeError('initializer must be a function');
  if (initargs !== undefined && !Array.isArray(initargs)) throw new TypeError('initargs must be an array');
  if (maxTasks !== undefined && (typeof maxTasks !== 'number' || !Number.isInteger(maxTasks) || maxTasks < 1)) {
    throw new RangeError(`${maxTasksName} must be a positive integer`);
  }
  if (tasksPerWorker !== undefined && (typeof tasksPerWorker !== 'number' || !Number.isInteger(tasksPerWorker) || tasksPerWorker < 1)) {
    throw new RangeError(`tasksPerWorker must be a positive integer, got ${describe(tasksPerWorker)}`);
  }
  if (idleTimeout !== undefined && (typeof idleTimeout !== 'number' || Number.isNaN(idleTimeout) || idleTimeout < 0)) {
    throw new RangeError('idleTimeout must be a number of milliseconds >= 0');
  }
  return {
    maxWorkers,
    initializer: initializer === undefined ? null : taskDef(taskId(initializer, false)),
    initargs: (initargs as unknown[] | undefined) ?? [],
    maxTasksPerWorker: (maxTasks as number | undefined) ?? Infinity,
    idleTimeout: (idleTimeout as number | undefined) ?? Infinity,
    tasksPerWorker: (tasksPerWorker as number | undefined) ?? 1,
    rateLimit: checkRateLimit(opts.rateLimit, caller),
  };
}
