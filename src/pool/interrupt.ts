/**
 * The interrupt rule (`cancel({ interrupt: true })` of a task sent to a
 * worker): a worker pool stops a running task by ending its worker.
 *
 *   thread: a compare-and-swap in the shared ring claims the task from the
 *           worker (task-states.ts); if it was running, the thread is ended now.
 *   child:  the pool cannot see it start. The child is ended once the task is
 *           the one it runs, after what the child has already sent is read: a
 *           task that answered meanwhile was not running, and the one after it
 *           must not die for it. Until then the child is sent nothing more.
 * @internal
 */
import type { TaskStates } from './task-states.js';

/** What interrupting a task asks of the pool: nothing, the task is not running (a thread's). */
export const NOT_RUNNING = 0;
/** End the worker now (a thread's task, claimed). */
export const END_NOW = 1;
/** Ask `due()` once what the child has sent is read: the task is its first unanswered one. */
export const END_SOON = 2;
/** Nothing yet: `due()` is asked after the child's answers reach the task. */
export const END_LATER = 3;

/** One worker's interrupts. */
export class InterruptRule {
  /** The earliest interrupted task sent to a child (its seq), or -1. */
  private seq = -1;

  /** Interrupts the task of `seq`, `head` being the seq of its worker's first unanswered task. */
  request(states: TaskStates, seq: number, head: number): number {
    if (states.withdrawable) return states.claimRunning(seq, seq === head) ? END_NOW : NOT_RUNNING;
    this.seq = this.seq >= 0 ? Math.min(this.seq, seq) : seq;
    return seq === head ? END_SOON : END_LATER;
  }

  /** Whether an interrupted task waits in the child: it is then sent nothing more. */
  get waiting(): boolean {
    return this.seq >= 0;
  }

  /**
   * Whether the child must be ended now, its answers read up to `head` with
   * `unanswered` tasks left: the interrupted task is the one it runs. An
   * interrupt the child answered anyway (it had ended before) is forgotten.
   */
  due(head: number, unanswered: number): boolean {
    if (this.seq < 0 || head < this.seq) return false;
    if (head === this.seq && unanswered > 0) return true;
    this.seq = -1;
    return false;
  }

  /** Whether the task of `seq` came after an interrupted one: a child ended for that could have started it only in the instant after it answered. */
  after(seq: number): boolean {
    return this.seq >= 0 && seq > this.seq;
  }
}
