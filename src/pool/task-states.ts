/**
 * Whether a task sent to a worker has started: the one question behind
 * `cancel()`, `interrupt`, `running()`, `stats()` and what a worker's death
 * does to the tasks it held. Threads answer it exactly through a ring of
 * states in shared memory, where a compare-and-swap decides every race with
 * the worker; both halves of the ring are here:
 *
 *   pool (SharedTaskStates)                 worker (RunnerStates)
 *   sent:       -> QUEUED
 *   withdraw:   QUEUED -> WITHDRAWN         start:  QUEUED -> STARTED
 *   claimRunning (interrupt): STARTED -> WITHDRAWN
 *                                           finish: STARTED -> DONE
 *
 * Child processes share no memory: a child answers its tasks in order and
 * sends each result before it starts the next task, so the first unanswered
 * task is the only one that can have started, and a task sent ahead cannot
 * be withdrawn.
 * @internal
 */
import { DONE, QUEUED, RING, STARTED, WITHDRAWN, slotOf } from './protocol.js';

export interface TaskStates {
  /** The memory the worker shares, or null. */
  readonly shared: Int32Array | null;
  /** Whether a task sent ahead can be withdrawn until it starts (threads): how deep a worker may be fed, and whether `cancel()` is exact. */
  readonly withdrawable: boolean;
  /** Records that the task of this seq was sent. */
  sent(seq: number): void;
  /** Withdraws a task the worker has not started; false when it has started or may have. */
  withdraw(seq: number): boolean;
  /** Whether the task may have started; `first` says it is the worker's first unanswered task. */
  mayHaveStarted(seq: number, first: boolean): boolean;
  /** Claims a running task for interruption: false when it is not running (yet, or any more). */
  claimRunning(seq: number, first: boolean): boolean;
  /** Whether the worker has finished the task, its answer perhaps still on its way (known to threads only). */
  finished(seq: number): boolean;
}

/** Per-task states in a `SharedArrayBuffer`, for worker threads. */
export class SharedTaskStates implements TaskStates {
  readonly shared = new Int32Array(new SharedArrayBuffer(RING * Int32Array.BYTES_PER_ELEMENT));
  readonly withdrawable = true;

  sent(seq: number): void {
    Atomics.store(this.shared, slotOf(seq), QUEUED);
  }

  withdraw(seq: number): boolean {
    return Atomics.compareExchange(this.shared, slotOf(seq), QUEUED, WITHDRAWN) === QUEUED;
  }

  mayHaveStarted(seq: number): boolean {
    return Atomics.load(this.shared, slotOf(seq)) !== QUEUED;
  }

  claimRunning(seq: number): boolean {
    return Atomics.compareExchange(this.shared, slotOf(seq), STARTED, WITHDRAWN) === STARTED;
  }

  finished(seq: number): boolean {
    return Atomics.load(this.shared, slotOf(seq)) === DONE;
  }
}

/** What a pool knows of a child process's tasks without shared memory. */
export class OrderedTaskStates implements TaskStates {
  readonly shared = null;
  readonly withdrawable = false;

  sent(): void {}

  withdraw(): boolean {
    return false;
  }

  mayHaveStarted(_seq: number, first: boolean): boolean {
    return first;
  }

  claimRunning(_seq: number, first: boolean): boolean {
    return first;
  }

  finished(): boolean {
    return false;
  }
}

/** The worker's half of the ring; without one (a child process), every task it is sent is its own to run. */
export class RunnerStates {
  constructor(private readonly shared: Int32Array | null) {}

  /** Claims the task of this seq to start it: false when the pool has withdrawn it. */
  start(seq: number): boolean {
    return this.shared === null || Atomics.compareExchange(this.shared, slotOf(seq), QUEUED, STARTED) === QUEUED;
  }

  /** Marks a started task done: false when the pool claimed it first to interrupt it, and is ending this worker. */
  finish(seq: number): boolean {
    return this.shared === null || Atomics.compareExchange(this.shared, slotOf(seq), STARTED, DONE) === STARTED;
  }

  /** Whether the pool has given this task up (withdrawn or interrupted). */
  withdrawn(seq: number): boolean {
    return this.shared !== null && Atomics.load(this.shared, slotOf(seq)) === WITHDRAWN;
  }
}
