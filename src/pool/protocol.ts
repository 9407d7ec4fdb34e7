/**
 * The messages between a pool and its workers, shared by threads and child
 * processes. Tasks travel in batches as flat arrays, two entries a task, and
 * results come back in the order the tasks were sent, so neither side needs ids.
 * @internal
 */
import type { TaskDef } from '../tasks.js';

/** A batch of tasks. `t` holds, per task, its key (task id * 2, + 1 for a chunk) and its arguments. */
export interface BatchMessage {
  d?: Array<[number, TaskDef]>;
  t: unknown[];
}

/** Abort the running task's `taskSignal()`; with `slot`, only if the running task is that one. */
export interface AbortMessage {
  abort: true;
  slot?: number;
}

export type ToWorker = BatchMessage | AbortMessage;

/** Results in the order the tasks were sent: per task a status and a value; `ms` is the time spent running them. */
export interface ResultMessage {
  r: unknown[];
  ms: number;
}

/** The initializer failed: the pool is broken. */
export interface InitFailedMessage {
  initFailed: unknown;
}

/** The worker is up and its initializer has run: it can fail only tasks from now on. */
export interface ReadyMessage {
  ready: true;
}

export type FromWorker = ResultMessage | InitFailedMessage | ReadyMessage;

/** What a worker needs before its first task. */
export interface WorkerConfig {
  /** The worker's name (`threadNamePrefix` and its number), readable in the worker as `workerData.name`. */
  name: string;
  /** Per-task states shared with the pool, or null where memory cannot be shared (processes). */
  states: Int32Array | null;
  initializer: TaskDef | null;
  initargs: unknown[];
}

export const OK = 0;
export const ERROR = 1;
export const SKIPPED = 2;

/** Task states in the shared ring: the pool writes QUEUED; the worker moves it on; a CAS decides every race. */
export const QUEUED = 1;
export const STARTED = 2;
export const CANCELLED = 3;
export const DONE = 4;

/** Tasks a worker can hold at once: the size of its ring of states. */
export const RING = 1024;
