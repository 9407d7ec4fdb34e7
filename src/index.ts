/**
 * Python's `concurrent.futures` for Node.js: `Future`, `wait()`, `asCompleted()`
 * and executors over the event loop, worker threads and child processes.
 * @module concurrent-futures
 */
export {
  CancelledError,
  TimeoutError,
  InvalidStateError,
  BrokenExecutorError,
  BrokenThreadPoolError,
  BrokenProcessPoolError,
  ExecutorShutdownError,
} from './errors.js';
export { Future, type FutureState } from './future.js';
export { wait, asCompleted, FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED, type ReturnWhen, type DoneAndNotDone } from './waiting.js';
export { Executor, type ExecutorStats, type ShutdownOptions } from './executor.js';
export type { MapOptions, IterablesOf } from './map/input.js';
export { AsyncPoolExecutor } from './async-pool.js';
export { taskSignal } from './task-signal.js';
export { ThreadPoolExecutor, type ThreadPoolOptions } from './thread/pool.js';
export { defineTasks, taskRef, type TaskRef, type DefineTasksOptions } from './tasks.js';
export { transfer } from './codec.js';
export { ProcessPoolExecutor, type ProcessPoolOptions } from './process/pool.js';
