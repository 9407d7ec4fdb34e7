/**
 * How a worker pool hands out its queue: one task to each idle worker, a new
 * worker while below the limit, then tasks pushed ahead so that no worker
 * waits for the next message, and tasks taken back from behind one that has
 * run long to go to a worker that is idle.
 * @internal
 */
import { chunkHead } from '../chunk.js';
import { TaskQueue } from '../task-queue.js';
import { priorityOf } from '../task-options.js';
import { microtask } from '../microtask.js';
import { BARE_MS, OK, RING, isChunk } from './protocol.js';
import type { PoolTask, PoolWorker } from './worker-state.js';
import { findUnsendable, unsendableError, type Probe } from './unsendable.js';
import type { RateLimit } from '../checks.js';
import { RateGate } from './rate-gate.js';

/** Tasks a worker holds: enough for ~TARGET_MS of work, so that it never waits for the next message. */
const TARGET_MS = 4;
const MAX_DEPTH = RING / 2;
// A bare result's task counts as BARE_MS (protocol.ts): that must not make a worker's depth shallower.
if (BARE_MS * MAX_DEPTH > TARGET_MS) throw new Error('BARE_MS is too long for the deepest depth');
/** Tasks queued behind one that has run this long (ms) go to a worker that is idle. */
const STUCK_MS = 10;
/**
 * Where a task cannot be withdrawn once sent, at most one submitted task waits
 * in a worker beyond the running one (CPython: one per pool). Chunks of `map`
 * are fed by time like any task on threads: no caller holds their futures, and
 * what runs after the loop is left is bounded by TARGET_MS of work per worker.
 */
const INEXACT_DEPTH = 2;

/** What the feeder needs of its pool. */
export interface FeederHost {
  readonly maxWorkers: number;
  /** Tasks a worker runs at once (`tasksPerWorker`). */
  readonly tasksPerWorker: number;
  readonly maxTasksPerWorker: number;
  /** Starts a worker, already in the pool's list. */
  start(): PoolWorker;
  /** Fails a task whose arguments cannot be sent. */
  fail(task: PoolTask<any>, error: unknown): void;
  /** Settles a task with an answer of this status, as if its worker had sent it. */
  settle(task: PoolTask<any>, status: number, value: unknown): void;
  /** A batch was sent to the worker. */
  fed(w: PoolWorker): void;
  /** At most `max` task starts in any `interval` ms: submitted tasks wait in a gate (rate-gate.ts) for their turn. */
  readonly rateLimit: RateLimit | undefined;
}

export class Feeder {
  readonly queue = new TaskQueue<PoolTask<any>>(priorityOf);
  /**
   * Set once a task with a priority was queued: from then on no submitted task
   * waits in a child behind the running one, where it could not be taken back.
   */
  private ordered = false;
  /** Set once the pool is broken: it feeds no one anymore. */
  stopped = false;
  private avgTaskMs = -1;
  private dispatchScheduled = false;
  private rebalanceTimer: NodeJS.Timeout | null = null;
  private readonly dispatchNow = (): void => this.dispatch();
  /** With a rate limit, where submitted tasks wait for their turn. */
  private readonly gate: RateGate | null;

  constructor(
    private readonly workers: readonly PoolWorker[],
    private readonly host: FeederHost,
  ) {
    this.gate = host.rateLimit === undefined ? null : new RateGate(host.rateLimit, {
      capacity: host.maxWorkers * host.tasksPerWorker,
      // A worker that accepts a task and has none waiting starts it as it arrives (tasksPerWorker: beside those it awaits).
      idleWorkers: () => {
        let idle = 0;
        for (const w of workers) if (w.accepts() && w.loaded && w.inflight.length === 0) idle++;
        return idle;
      },
      release: (task) => this.queue.push(task),
      dispatch: () => this.dispatch(),
    });
  }

  /** Queues a submitted task, dispatched on a promise job; under a rate limit it waits for its turn first. */
  add(task: PoolTask<any>): void {
    if (this.gate !== null) this.gate.hold(task);
    else {
      this.queue.push(task);
      this.scheduleDispatch();
    }
  }

  /** Takes every task not sent to a worker, those waiting for their turn included (a shutdown, a broken pool). */
  takeAll(): PoolTask<any>[] {
    const queued = this.queue.takeAll();
    return this.gate === null ? queued : [...queued, ...this.gate.takeAll()];
  }

  /** Learns how long tasks take from a worker's answer: `n` tasks in `ms`. */
  tasksTook(ms: number, n: number): void {
    const perTask = ms / n;
    this.avgTaskMs = this.avgTaskMs < 0 ? perTask : this.avgTaskMs * 0.7 + perTask * 0.3;
  }

  scheduleDispatch(): void {
    if (this.dispatchScheduled) return;
    this.dispatchScheduled = true;
    microtask(this.dispatchNow);
  }

  /**
   * A task of `priority` was queued: the tasks of a lower one that a thread
   * holds ahead, not started, come back to the queue to run after it.
   */
  prioritize(priority: number): void {
    this.ordered = true;
    for (const w of this.workers) {
      if (!w.alive || w.inflight.length < 2 || !w.withdrawable) continue;
      for (let i = 1; i < w.inflight.length; i++) {
        const task = w.inflight.at(i);
        if (task != null && !task.done() && priorityOf(task) < priority) {
          w.takeBack(this.queue);
          break;
        }
      }
    }
  }

  /** Hands queued tasks to workers, starting workers as Python does: when none is idle. */
  dispatch(): void {
    this.dispatchScheduled = false;
    if (this.queue.length === 0 || this.stopped) return;
    // One task to each idle worker, then a new worker per task left, then the rest pushed ahead.
    for (const w of this.workers) {
      if (w.inflight.length === 0) this.feed(w, 1);
      if (this.queue.length === 0) return;
    }
    while (this.queue.length > 0 && this.workers.length < this.host.maxWorkers) this.feed(this.host.start(), 1);
    const now = performance.now();
    for (const w of this.workers) {
      if (this.queue.length === 0) return;
      // Nothing more behind a task that has run long: it would wait there while others work.
      if (w.inflight.length > 0 && now - w.lastProgress >= STUCK_MS) continue;
      this.feed(w, Infinity);
    }
  }

  /** Sends a worker up to `limit` queued tasks, as many as its depth allows, in one message. */
  private feed(w: PoolWorker, limit: number): void {
    if (!w.accepts()) return;
    let room = Math.min(limit, w.room(this.depth(), this.host.maxTasksPerWorker));
    if (room <= 0) return;
    const withdrawable = w.withdrawable;
    const tasks: PoolTask<any>[] = [];
    while (room > 0 && this.queue.length > 0) {
      const task = this.queue.peek()!;
      const ahead = w.inflight.length + tasks.length;
      if (!task.done() && !withdrawable && !isChunk(task.key) && ahead >= (this.ordered ? 1 : INEXACT_DEPTH)) break;
      // A task timed from its start goes only to a worker that starts it at once.
      if (!task.done() && task._control !== null && task._control.startsAtOnce && ahead > 0) break;
      this.queue.shift();
      if (task.done()) continue;
      if (ahead === 0 && w.initialized) task._control?.started();
      tasks.push(task);
      room--;
    }
    if (tasks.length === 0) return;
    const refused = w.send(tasks);
    if (refused === null) this.host.fed(w);
    else this.unsent(w, tasks, refused.error);
  }

  /**
   * A message was refused (an argument cannot be cloned): nothing of it
   * reached the worker, and its tasks are back at the front of the queue. A
   * message of one task: that task cannot travel; a batch's tasks are sent
   * again one per message, so that the channel itself tells which fail, and only those do.
   */
  private unsent(w: PoolWorker, tasks: PoolTask<any>[], error: unknown): void {
    for (let k = tasks.length - 1; k >= 0; k--) this.queue.unshift(tasks[k]!);
    if (tasks.length === 1) this.refuse(this.queue.shift()!, error, w.probe);
    else for (let i = 0; i < tasks.length; i++) this.feed(w, 1);
    this.scheduleDispatch();
  }

  /**
   * Fails a task that cannot be sent, saying which argument and what to do.
   * A chunk of `map` is cut before the item that cannot travel: the items
   * before it still run, and that item's error is the chunk's failure, met at
   * its own position. Each refusal shortens the chunk or ends it: never a loop.
   */
  private refuse(task: PoolTask<any>, error: unknown, probe: Probe): void {
    const chunk = isChunk(task.key);
    const args = task.payload!;
    const found = findUnsendable(args, chunk, probe);
    if (found === null) {
      const why = (error as Error)?.message ?? String(error);
      this.host.fail(task, new TypeError(`the task's arguments cannot be sent to a worker: ${why}`, { cause: error }));
      return;
    }
    const problem = unsendableError(found, chunk, 'to a worker', error);
    if (!chunk) {
      this.host.fail(task, problem);
      return;
    }
    task.cut = problem;
    task.payload = chunkHead(args, found.item);
    if (found.item === 0) this.host.settle(task, OK, { values: [], failed: false, error: undefined });
    else this.queue.unshift(task);
  }

  private depth(): number {
    if (this.avgTaskMs < 0) return 2;
    return Math.max(2, Math.min(MAX_DEPTH, Math.floor(TARGET_MS / Math.max(this.avgTaskMs, 1e-4))));
  }

  /**
   * A worker is idle while tasks wait behind a long one in another: those
   * tasks are taken back and run here. Only where a task sent ahead can be
   * withdrawn (threads); a child holds at most one beyond the running one.
   */
  rebalance(): void {
    if (this.rebalanceTimer !== null) return;
    let idle = false;
    let behind = false;
    for (const w of this.workers) {
      if (w.alive && w.inflight.length === 0) idle = true;
      else if (w.inflight.length >= 2 && w.withdrawable) behind = true;
    }
    if (!idle) return;
    if (!behind) {
      if (this.queue.length > 0) this.dispatch();
      return;
    }
    const now = performance.now();
    let next = Infinity;
    for (const v of this.workers) {
      if (v.inflight.length < 2 || !v.withdrawable) continue;
      const stuckAt = v.lastProgress + STUCK_MS;
      if (stuckAt <= now) v.takeBack(this.queue);
      else next = Math.min(next, stuckAt);
    }
    if (this.queue.length > 0) this.dispatch();
    else if (next < Infinity) {
      this.rebalanceTimer = setTimeout(() => {
        this.rebalanceTimer = null;
        this.rebalance();
      }, next - now);
      this.rebalanceTimer.unref();
    }
  }
}
