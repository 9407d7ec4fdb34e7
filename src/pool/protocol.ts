/**
 * The messages between a pool and its workers, shared by threads and child
 * processes.
 *
 *   pool                                   worker (TaskRunner)
 *   ----                                   -------------------
 *   spawn ── WorkerConfig (workerData, or a child's first ConfigMessage) ──▶
 *   feed() ── BatchMessage [defs, key, args, ...] ──▶ receive(): queue, run in order
 *        (the n-th task a worker is sent has seq n)
 *   onMessage() ◀── ResultMessage [s, ms, status, value, ...] ── flush(): results of seq s, s+1, ...
 *        (every seq is answered once, in order)
 *   ◀── ReadyMessage / InitFailedMessage / FatalMessage
 *   post() ── AbortMessage ───────────────▶ aborts the running task's taskSignal()
 *
 * The two messages sent per task are flat arrays: a structured clone of an
 * object costs its property names, and on a one-task round trip that was a
 * tenth of the time (bench/README.md). The rare messages are objects. An
 * array itself costs ~5% of a round trip each way, so the commonest case
 * travels bare: a task of the function the worker was sent last, with one
 * argument that is a number, string or boolean, is sent as that argument
 * (a BareTask); a message's only result, of status OK and such a value, from
 * a task that took under BARE_MS, comes back as the value itself (a BareResult).
 * Messages on one channel keep their order, so the seq of either is the
 * next one.
 *
 * Results carry the seq of their first task, so a message the channel drops
 * (a value it cannot rebuild) costs only the results in it, never another
 * task's place. A worker sends a result as soon as its task ends unless the
 * next task is a call that has lately been quick (under 1 ms), and never holds
 * one longer than HOLD_MS while quick tasks run; a thread mirrors what it holds
 * in shared memory, where the pool takes it if a call proves long
 * (held-results.ts). A child process never holds a result.
 * @internal
 */
import type { TaskDef } from '../tasks.js';

/**
 * A batch of tasks: `[defs, key, args, key, args, ...]`. `defs` lists the
 * functions the worker has not been sent yet as `[id, def]` pairs, or is 0;
 * a key is the task's function id * 2 (+ 1 for a chunk of `map` items).
 */
export type BatchMessage = unknown[];

/** Abort the running task's `taskSignal()`; with `seq`, only if the running task is that one. */
export interface AbortMessage {
  abort: true;
  seq?: number;
}

/** One task of the function the worker was sent last: its one argument. */
export type BareTask = number | string | boolean;

export type ToWorker = BatchMessage | AbortMessage | BareTask;

/**
 * Results of the tasks of seq `s`, `s + 1`, ...: `[s, ms, status, value, status, value, ...]`,
 * `ms` being the time spent running them (-1: unknown, for results taken from shared memory).
 */
export type ResultMessage = unknown[];

/** Where a batch's tasks begin, and a result message's results. */
export const BATCH_TASKS = 1;
export const RESULTS = 2;

/** The initializer failed: the pool is broken. */
export interface InitFailedMessage {
  initFailed: unknown;
}

/** The worker has loaded (and is about to run its initializer), then has initialized: only from then on can it run tasks. */
export interface ReadyMessage {
  ready: 'loaded' | 'initialized';
}

/** An error escaped the running task (a callback of its own threw): the worker ends, failing that task with this reason. */
export interface FatalMessage {
  fatal: string;
}

/** The value of the next seq's task, status OK, which took under BARE_MS. */
export type BareResult = number | string | boolean;

export type FromWorker = ResultMessage | BareResult | InitFailedMessage | ReadyMessage | FatalMessage | ExitingMessage;

/** Whether a value may travel bare, as a BareTask or BareResult: every channel sends these as themselves (an IPC channel refuses bigint and undefined). */
export function isBare(value: unknown): value is BareTask {
  const type = typeof value;
  return type === 'number' || type === 'string' || type === 'boolean';
}

/**
 * What the pool takes a BareResult's task to have lasted (ms): no more than it
 * did, and short enough that the pool feeds the worker as it would anyway
 * (feeder.ts: its deepest depth is reached at TARGET_MS / MAX_DEPTH).
 */
export const BARE_MS = 0.005;

/** A child process's last message before it ends itself: everything it sent before has been written. */
export interface ExitingMessage {
  exiting: number;
}

/** A child process's first message: its config (a thread gets it as `workerData`). */
export interface ConfigMessage {
  config: WorkerConfig;
}

/** What a worker needs before its first task. */
export interface WorkerConfig {
  /** The worker's name (`threadNamePrefix` and its number), readable in the worker as `workerData.name`. */
  name: string;
  /** Per-task states shared with the pool, or null where memory cannot be shared (processes). */
  states: Int32Array | null;
  /** Where a thread mirrors the results it holds (held-results.ts), or null (processes). */
  mirror: SharedArrayBuffer | null;
  initializer: TaskDef | null;
  initargs: unknown[];
}

/**
 * Result statuses: OK or ERROR (an `encodeError`ed error), with PACKED when
 * the value is `pack()`ed bytes; ENCODED for a returned error, encoded as a
 * thrown one is; SKIPPED for a task withdrawn before it started.
 */
export const OK = 0;
export const ERROR = 1;
export const PACKED = 2;
export const SKIPPED = 4;
export const ENCODED = 8;

/** Task states in the shared ring: the pool writes QUEUED; the worker moves it on; a CAS decides every race. */
export const QUEUED = 1;
export const STARTED = 2;
export const WITHDRAWN = 3;
export const DONE = 4;

/** Tasks a worker can hold at once: the size of its ring of states. */
export const RING = 1024;

/** A task's key on the wire: its function's id, and whether it runs a chunk of `map` items. */
export function taskKey(id: number, chunk: boolean): number {
  return id * 2 + (chunk ? 1 : 0);
}

/** The function id of a task key. */
export function keyId(key: number): number {
  return key >> 1;
}

/** Whether a task key runs a chunk of `map` items. */
export function isChunk(key: number): boolean {
  return (key & 1) === 1;
}

/** The ring slot of the task with this seq. */
export function slotOf(seq: number): number {
  return seq & (RING - 1);
}

/** The longest a finished result waits in a worker while quick tasks run after it (ms). */
export const HOLD_MS = 1;
