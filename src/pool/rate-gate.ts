/**
 * A worker pool's `rateLimit`: submitted tasks wait here and go to the
 * pool's queue no faster than the window allows (rate-limit.ts).
 *
 * A start is when a task is handed to a worker that runs it at once. So that
 * handing over and starting are the same moment, a task is let through only
 * while fewer tasks are out than the pool runs at once, and counts at once only
 * if a worker that is up and idle takes it; one that goes to a worker still
 * starting (or that has to wait) counts as unknown until it ends. Its answer
 * then tells when it started at the latest (its end less the time it ran),
 * which also moves a start counted too early (a worker descheduled before it
 * began) to its real time. Tasks are not sent ahead to a worker while a limit
 * holds: the limit, not the round trip, is what bounds how fast they run.
 * @internal
 */
import type { Future, Waiter } from '../future.js';
import { longTimeout, type LongTimeout } from '../long-timeout.js';
import type { RateLimit } from '../checks.js';
import { microtask } from '../microtask.js';
import { StartWindow } from '../rate-limit.js';
import { priorityOf } from '../task-options.js';
import { TaskQueue } from '../task-queue.js';
import type { PoolTask } from './worker-state.js';

/** What the gate needs of its pool. */
export interface GateHost {
  /** Tasks the pool runs at once at most: its workers times the tasks each runs at once. */
  readonly capacity: number;
  /** Workers that are up and have nothing to run. */
  idleWorkers(): number;
  /** Puts a task let through in the pool's queue. */
  release(task: PoolTask<any>): void;
  /** Hands the queue to workers now. */
  dispatch(): void;
}

export class RateGate implements Waiter {
  /** In the pool's order: higher priority first, FIFO within one. */
  private readonly held = new TaskQueue<PoolTask<any>>(priorityOf);
  private readonly window: StartWindow;
  /** Let through and not done. */
  private active = 0;
  /** Tasks let through and not done, with their number in the window. */
  private readonly out = new Map<Future<any>, number>();
  private passScheduled = false;
  private timer: LongTimeout | null = null;
  private readonly passNow = (): void => this.pass();
  private readonly wake = (): void => {
    this.timer = null;
    // After the I/O already waiting: an answer there may move a start the window is about to drop.
    setImmediate(this.passNow);
  };

  constructor(
    limit: RateLimit,
    private readonly host: GateHost,
  ) {
    this.window = new StartWindow(limit.max, limit.interval);
  }

  /** Holds a submitted task, or one to try again, until the window lets it start. */
  hold(task: PoolTask<any>): void {
    const n = this.out.get(task);
    if (n !== undefined) {
      // Its last try has ended (`withOptions({ retries })`): this one is a start of its own.
      this.out.delete(task);
      this.active--;
      this.window.settle(n, performance.now());
    }
    this.held.push(task);
    this.schedule();
  }

  /** The tasks still held, which the gate forgets (shutdown, a broken pool). */
  takeAll(): PoolTask<any>[] {
    return this.held.takeAll();
  }

  /**
   * @internal A task let through is done: it started no later than now less the time it ran (when its
   * answer said), which settles an unknown start and corrects one its worker began late.
   */
  futureDone(future: Future<any>): void {
    this.active--;
    const n = this.out.get(future);
    if (n !== undefined) {
      this.out.delete(future);
      this.window.settle(n, performance.now() - Math.max(0, (future as PoolTask<any>).ranMs));
    }
    if (this.held.length > 0) this.schedule();
  }

  private schedule(): void {
    if (this.passScheduled) return;
    this.passScheduled = true;
    // After the caller's code, as the pool's own dispatch: a task never starts inside submit().
    microtask(this.passNow);
  }

  private pass(): void {
    this.passScheduled = false;
    let idle = this.host.idleWorkers();
    let released = false;
    while (this.held.length > 0) {
      const task = this.held.peek()!;
      if (task.done()) {
        // Cancelled while it waited: it takes no start.
        this.held.shift();
        continue;
      }
      if (this.active >= this.host.capacity) break;
      const now = performance.now();
      const wait = this.window.wait(now);
      if (wait > 0) {
        // Infinity: a task of unknown start is out, and its end calls the next pass.
        if (wait < Infinity && this.timer === null) {
          this.timer = longTimeout(this.wake, wait);
          // Held tasks keep the pool's process alive already; this timer alone must not.
          this.timer.unref();
        }
        break;
      }
      this.held.shift();
      this.active++;
      let n: number;
      if (idle > 0) {
        idle--;
        n = this.window.record(now);
      } else {
        n = this.window.record(Infinity);
      }
      this.out.set(task, n);
      task._addWaiter(this);
      this.host.release(task);
      released = true;
    }
    if (released) this.host.dispatch();
  }
}
