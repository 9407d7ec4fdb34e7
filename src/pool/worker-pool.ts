/**
 * What thread and process pools share: the queue, lazy worker start, batched
 * dispatch with tasks pushed ahead to each worker, results paired with their
 * tasks by seq, and what happens when a worker dies.
 */
import { decodeError, isTransfer, unpack } from '../codec.js';
import { Deque } from '../deque.js';
import type { BrokenExecutorError } from '../errors.js';
import { Executor, type ExecutorStats } from '../executor.js';
import type { Future } from '../future.js';
import { KeepAlive } from '../keep-alive.js';
import { chunkLength, type Chunk, type ChunkOutcome } from './chunk.js';
import { taskDef, taskId, type TaskDef } from '../tasks.js';
import { longTimeout } from '../long-timeout.js';
import { BATCH_TASKS, ENCODED, ERROR, PACKED, RESULTS, RING, SKIPPED, isChunk, keyId, taskKey, type BatchMessage, type FromWorker, type ResultMessage, type ToWorker } from './protocol.js';
import { PoolTask, PoolWorker, uncloneable, type Transport, type WorkerHooks } from './worker-state.js';

/**
 * Node 20 sometimes never finishes starting a worker created while others
 * exit; one that has not reported within this long is ended and replaced.
 */
const STARTUP_TIMEOUT = 5000;

const RESOLVED = Promise.resolve();

/** Tasks a worker holds: enough for ~TARGET_MS of work, so that it never waits for the next message. */
const TARGET_MS = 4;
const MAX_DEPTH = RING / 2;
/**
 * How often the pool looks for results a worker holds behind a call that
 * proved long (ms): such a result waits at most about this long. Shorter
 * costs every round trip: a 2 ms timer made a one-task ping-pong 10% slower.
 */
const HELD_TICK_MS = 10;
/** Tasks queued behind one that has run this long (ms) go to a worker that is idle. */
const STUCK_MS = 10;
/**
 * Where a task cannot be withdrawn once sent, at most one submitted task waits
 * in a worker beyond the running one (CPython: one per pool). Chunks of `map`
 * are fed by time like any task on threads: no caller holds their futures, and
 * what runs after the loop is left is bounded by TARGET_MS of work per worker.
 */
const INEXACT_DEPTH = 2;

/** Options every worker pool takes. @internal */
export interface PoolOptions {
  maxWorkers: number;
  initializer: TaskDef | null;
  initargs: unknown[];
  maxTasksPerWorker: number;
  idleTimeout: number;
}

export abstract class WorkerPoolExecutor extends Executor {
  /** The most workers that run at once. */
  readonly maxWorkers: number;
  private readonly queue = new Deque<PoolTask<any>>();
  private readonly workers: PoolWorker[] = [];
  private nextIndex = 0;
  /** Workers told to stop that have not exited yet. */
  private dying = 0;
  private pending = 0;
  private avgTaskMs = -1;
  private dispatchScheduled = false;
  private rebalanceTimer: NodeJS.Timeout | null = null;
  private heldTimer: NodeJS.Timeout | null = null;
  private readonly pollHeldNow = (): void => this.pollHeld();
  private brokenError: BrokenExecutorError | null = null;
  private readonly keepAlive = new KeepAlive();
  private terminated: (() => void) | null = null;
  private readonly terminatedPromise = new Promise<void>((resolve) => (this.terminated = resolve));
  private readonly dispatchNow = (): void => this.dispatch();
  /** @internal */ protected readonly _options: PoolOptions;

  /** @internal */
  constructor(options: PoolOptions) {
    super();
    this._options = options;
    this.maxWorkers = options.maxWorkers;
  }

  /** Starts one worker; the pool feeds it through the transport and hears back through the hooks. @internal */
  protected abstract _spawn(hooks: WorkerHooks): Transport;

  /** The error for a worker that died mid-task. @internal */
  protected abstract _brokenWorkerError(code: number | null, signal: string | null | undefined, reason: string | undefined): BrokenExecutorError;

  /** The error once the pool cannot work: its initializer failed, or (with `message`) a worker could not start. @internal */
  protected abstract _brokenPoolError(cause: unknown, message?: string): BrokenExecutorError;

  submit<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Future<Awaited<R>> {
    this.checkUsable();
    return this.enqueue(taskKey(taskId(fn), false), args);
  }

  /** @internal */
  override submitChunk(fn: (...args: any[]) => unknown, chunk: Chunk): Future<ChunkOutcome<any>> {
    this.checkUsable();
    const task = this.enqueue(taskKey(taskId(fn), true), chunk);
    task.items = chunkLength(chunk);
    return task;
  }

  private checkUsable(): void {
    this._checkOpen();
    if (this.brokenError !== null) throw this._brokenPoolError(this.brokenError.cause, this.brokenError.message);
  }

  private enqueue(key: number, payload: unknown[]): PoolTask<any> {
    const task = new PoolTask<any>(this, key, payload);
    for (let i = isChunk(key) ? 1 : 0; i < payload.length; i++) {
      const arg = payload[i];
      if (arg !== null && typeof arg === 'object' && isTransfer(arg)) payload[i] = task.takeTransfer(arg);
    }
    this.queue.push(task);
    if (this.pending++ === 0) this.keepAlive.hold();
    this.scheduleDispatch();
    return task;
  }

  stats(): ExecutorStats {
    let idle = 0;
    let running = 0;
    for (const w of this.workers) {
      if (w.inflight.length === 0) idle++;
      for (let i = 0; i < w.inflight.length; i++) if (w.inflight.at(i)?.running()) running++;
    }
    const c = this._counters;
    return {
      workers: this.workers.length,
      idleWorkers: idle,
      queued: this.pending - running,
      running,
      completed: c.completed,
      failed: c.failed,
      cancelled: c.cancelled,
    };
  }

  /** @internal */
  refresh(future: Future<any>): void {
    const task = future as PoolTask<any>;
    const w = task.worker;
    if (w !== null && w.transport.states.mayHaveStarted(task.seq, task.seq === w.headSeq)) task._setRunning();
  }

  /** @internal */
  cancelQueued(future: Future<any>): boolean {
    const task = future as PoolTask<any>;
    const w = task.worker;
    // The worker's answer decides the race: a task it has started is running, not cancelled.
    if (w !== null && !w.transport.states.withdraw(task.seq)) {
      task._setRunning();
      return false;
    }
    task.payload = null;
    this._counters.cancelled += task.items;
    this.taskEnded();
    return true;
  }

  /** @internal */
  interrupt(future: Future<any>): boolean {
    const task = future as PoolTask<any>;
    const w = task.worker;
    if (w === null || !w.alive) return false;
    const first = task.seq === w.headSeq;
    if (!first && !w.transport.states.exact) {
      // Sent ahead to a child, maybe not started: ended once the task before it has answered.
      w.interruptSeq = task.seq;
    } else {
      if (!w.transport.states.claimRunning(task.seq, first)) return false;
      w.reason ??= 'ended to interrupt its task';
      this.retire(w, true);
    }
    this._counters.cancelled += task.items;
    this.taskEnded();
    return true;
  }

  /**
   * Aborts the `taskSignal()` of a running task, which goes on running (for
   * executors built on this pool, such as the BullMQ worker). `false` when it is not running.
   * @internal
   */
  abortTaskSignal(future: Future<any>): boolean {
    const task = future as PoolTask<any>;
    const w = task.worker;
    if (w === null || !w.alive || task.done() || task.seq !== w.headSeq || !w.transport.states.mayHaveStarted(task.seq, true)) return false;
    this.post(w, { abort: true, seq: task.seq }, []);
    return true;
  }

  /** @internal */
  protected _beginShutdown(cancelFutures: boolean, wait: boolean): void {
    if (cancelFutures) {
      for (const task of this.queue.takeAll()) task.cancel();
      for (const w of this.workers) {
        let running = false;
        for (let i = 0; i < w.inflight.length; i++) {
          const task = w.inflight.at(i);
          if (task != null && !task.done() && !task.cancel()) running = true;
        }
        if (!wait && running) this.post(w, { abort: true }, []);
      }
    }
    this.settleIdle();
  }

  /** @internal */
  protected _whenTerminated(): Promise<void> {
    return this.terminatedPromise;
  }

  private scheduleDispatch(): void {
    if (this.dispatchScheduled) return;
    this.dispatchScheduled = true;
    // A promise job, not queueMicrotask(), which makes an AsyncResource per call.
    void RESOLVED.then(this.dispatchNow);
  }

  /** Hands queued tasks to workers, starting workers as Python does: when none is idle. */
  private dispatch(): void {
    this.dispatchScheduled = false;
    if (this.queue.length === 0 || this.brokenError !== null) return;
    // One task to each idle worker, then a new worker per task left, then the rest pushed ahead.
    for (const w of this.workers) {
      if (w.inflight.length === 0) this.feed(w, 1);
      if (this.queue.length === 0) return;
    }
    while (this.queue.length > 0 && this.workers.length < this.maxWorkers) this.feed(this.start(), 1);
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
    if (!w.alive || w.interruptSeq >= 0) return;
    const states = w.transport.states;
    const exact = states.exact;
    let room = Math.min(limit, this.depth() - w.inflight.length, this._options.maxTasksPerWorker - w.assigned);
    if (room <= 0) return;
    const wasIdle = w.inflight.length === 0;
    const seq = w.seq;
    let defs: Array<[number, TaskDef]> | undefined;
    let transfers: unknown[] | undefined;
    const flat: BatchMessage = [0];
    while (room > 0 && this.queue.length > 0) {
      const task = this.queue.peek()!;
      if (!task.done() && !exact && !isChunk(task.key) && w.inflight.length >= INEXACT_DEPTH) break;
      this.queue.shift();
      if (task.done()) continue;
      const id = keyId(task.key);
      if (!w.known.has(id)) {
        w.known.add(id);
        (defs ??= []).push([id, taskDef(id)]);
      }
      if (task.transfers !== null) (transfers ??= []).push(...task.transfers);
      flat.push(task.key, task.payload);
      task.worker = w;
      task.seq = w.seq++;
      states.sent(task.seq);
      // The payload stays until the task ends: a worker that dies before starting it hands it back.
      w.inflight.push(task);
      // A task that cannot be withdrawn counts as running, as in CPython's process pool.
      if (!exact) task._setRunning();
      room--;
    }
    const sent = w.seq - seq;
    if (sent === 0) return;
    if (this.heldTimer === null && w.transport.held !== null) {
      this.heldTimer = setInterval(this.pollHeldNow, HELD_TICK_MS);
      this.heldTimer.unref();
    }
    if (wasIdle) w.lastProgress = performance.now();
    w.assigned += sent;
    if (w.idleTimer !== null) {
      w.idleTimer.clear();
      w.idleTimer = null;
    }
    if (defs !== undefined) flat[0] = defs;
    try {
      w.transport.post(flat, transfers ?? []);
    } catch (error) {
      this.unsend(w, sent, flat, error);
    }
  }

  /** A batch could not be cloned: fail the tasks whose arguments cannot travel, queue the rest again. */
  private unsend(w: PoolWorker, sent: number, flat: unknown[], error: unknown): void {
    w.seq -= sent;
    w.assigned -= sent;
    for (let i = sent - 1; i >= 0; i--) {
      const task = w.inflight.pop() as PoolTask<any>;
      const args = flat[BATCH_TASKS + 2 * i + 1] as unknown[];
      task.worker = null;
      task.seq = -1;
      task._setPending();
      const problem = uncloneable(args, isChunk(task.key));
      if (problem === null) {
        task.payload = args;
        this.queue.unshift(task);
      } else {
        this.fail(task, new TypeError(problem, { cause: error }));
      }
    }
    this.scheduleDispatch();
  }

  private depth(): number {
    if (this.avgTaskMs < 0) return 2;
    return Math.max(2, Math.min(MAX_DEPTH, Math.floor(TARGET_MS / Math.max(this.avgTaskMs, 1e-4))));
  }

  private start(): PoolWorker {
    const w = new PoolWorker(this.nextIndex++);
    this.workers.push(w);
    w.transport = this._spawn({
      index: w.index,
      onMessage: (m) => this.onMessage(w, m),
      onExit: (code, signal) => this.onExit(w, code, signal),
      onDropped: (error) => this.onDropped(w, error),
      setReason: (r) => (w.reason ??= r),
    });
    w.startupTimer = setTimeout(() => {
      // Let a message that is already waiting be handled first.
      setImmediate(() => {
        if (!w.cameUp && w.alive) this.retire(w, true);
      });
    }, STARTUP_TIMEOUT);
    w.startupTimer.unref();
    return w;
  }

  private onMessage(w: PoolWorker, message: FromWorker): void {
    if (Array.isArray(message)) this.onResults(w, message);
    else if ('ready' in message) {
      if (message.ready === 'initialized') w.ready = true;
      w.cameUp = true;
      clearTimeout(w.startupTimer!);
    } else if ('initFailed' in message) {
      this.breakPool(decodeError(message.initFailed));
    } else if ('fatal' in message) {
      w.reason ??= message.fatal;
    }
  }

  private onResults(w: PoolWorker, message: ResultMessage): void {
    this.takeResults(w, message);
    this.afterAnswers(w);
  }

  private takeResults(w: PoolWorker, message: ResultMessage): void {
    const r = message;
    const n = (r.length - RESULTS) >> 1;
    if (n > 0 && (r[1] as number) >= 0) {
      const perTask = (r[1] as number) / n;
      this.avgTaskMs = this.avgTaskMs < 0 ? perTask : this.avgTaskMs * 0.7 + perTask * 0.3;
    }
    w.lastProgress = performance.now();
    // Seqs skipped over were answered in a message the channel dropped.
    while (w.headSeq < (r[0] as number) && w.inflight.length > 0) this.answer(w, null);
    for (let i = RESULTS; i < r.length; i += 2) this.answer(w, r[i] as number, r[i + 1]);
  }

  /** Every tick while tasks are out: results a worker has held for a whole tick are taken from shared memory. */
  private pollHeld(): void {
    let busy = false;
    for (const w of this.workers) {
      if (w.inflight.length === 0 || w.transport.held === null) continue;
      busy = true;
      const held = w.transport.held.poll(w.headSeq);
      if (held !== null) this.onResults(w, held);
    }
    if (!busy && this.heldTimer !== null) {
      clearInterval(this.heldTimer);
      this.heldTimer = null;
    }
  }

  /** Settles the worker's first unanswered task with a result (`status` null: its result was lost). */
  private answer(w: PoolWorker, status: number | null, value?: unknown): void {
    const task = w.inflight.shift();
    w.headSeq++;
    if (task == null) return; // taken back
    // A finished task must not hold its worker: exited workers have to be collectable.
    task.worker = null;
    if (task.done() || status === SKIPPED) return; // cancelled or interrupted
    if (status === null) {
      this.fail(task, new TypeError(`the task's result cannot be received from the worker: ${w.reason ?? 'the message carrying it was dropped'}`));
      return;
    }
    if ((status & PACKED) !== 0) {
      try {
        value = unpack(value as Uint8Array);
      } catch (error) {
        this.fail(task, error);
        return;
      }
    }
    if ((status & ERROR) !== 0) {
      this.fail(task, decodeError(value));
      return;
    }
    const c = this._counters;
    if ((status & ENCODED) !== 0) value = decodeError(value);
    else if (isChunk(task.key)) {
      // Each item counts: those that ran, the one that failed, and those after it as never run.
      const outcome = value as ChunkOutcome<unknown>;
      outcome.error = decodeError(outcome.error);
      const ran = outcome.values.length + (outcome.failed ? 1 : 0);
      c.completed += ran - 1;
      c.failed += outcome.failed ? 1 : 0;
      c.cancelled += task.items - ran;
    }
    task.payload = null;
    task.transfers = null;
    c.completed++;
    this.pending--;
    task.setResult(value);
  }

  private afterAnswers(w: PoolWorker): void {
    if (w.alive) {
      if (w.interruptSeq >= 0 && w.headSeq >= w.interruptSeq) {
        if (w.inflight.length > 0) {
          w.reason ??= 'ended to interrupt its task';
          this.retire(w, true);
        } else {
          w.interruptSeq = -1;
        }
      }
    }
    if (w.alive) {
      if (w.assigned >= this._options.maxTasksPerWorker && w.inflight.length === 0) this.retire(w, false);
      else if (w.inflight.length === 0 && Number.isFinite(this._options.idleTimeout) && this.queue.length === 0) {
        w.idleTimer = longTimeout(() => w.inflight.length === 0 && this.retire(w, false), this._options.idleTimeout);
        w.idleTimer.unref();
      }
    }
    if (this.queue.length > 0) this.dispatch();
    else if (w.inflight.length === 0) this.rebalance();
    this.settleIdle();
  }

  /**
   * A worker is idle while tasks wait behind a long one in another: those
   * tasks are taken back and run here. Only where a task sent ahead can be
   * withdrawn (threads); a child holds at most one beyond the running one.
   */
  private rebalance(): void {
    if (this.rebalanceTimer !== null) return;
    let idle = false;
    let behind = false;
    for (const w of this.workers) {
      if (w.alive && w.inflight.length === 0) idle = true;
      else if (w.inflight.length >= 2 && w.transport.states.exact) behind = true;
    }
    if (!idle) return;
    if (!behind) {
      if (this.queue.length > 0) this.dispatch();
      return;
    }
    const now = performance.now();
    let next = Infinity;
    for (const v of this.workers) {
      if (v.inflight.length < 2 || !v.transport.states.exact) continue;
      const stuckAt = v.lastProgress + STUCK_MS;
      if (stuckAt <= now) this.takeBack(v);
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

  /** A message the worker sent was dropped: it held one result only (see runner.ts), its first unanswered task's. */
  private onDropped(w: PoolWorker, error: unknown): void {
    if (w.inflight.length === 0) return;
    const reason = (error as Error)?.message ?? String(error);
    const task = w.inflight.peek();
    w.inflight.shift();
    w.headSeq++;
    if (task != null) {
      task.worker = null;
      this.fail(task, new TypeError(`the task's result cannot be received from the worker: ${reason}`, { cause: error }));
    }
    this.afterAnswers(w);
  }

  /** A worker ended: fail the task it was running, queue again those it never started. */
  private onExit(w: PoolWorker, code: number | null, signal?: string | null): void {
    clearTimeout(w.startupTimer!);
    if (w.alive && !w.ready) {
      // A worker that cannot start would fail the same way each time: the pool cannot work.
      w.alive = false;
      this.workers.splice(this.workers.indexOf(w), 1);
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const stage = w.cameUp ? 'while running its initializer' : 'before it was up';
      const message = `a worker ${how} ${stage}${w.reason ? ` (${w.reason})` : ''}: the pool cannot start workers and is not usable anymore`;
      this.breakPool(new Error(message), message);
      while (w.inflight.length > 0) {
        const task = w.inflight.shift();
        if (task != null) this.fail(task, this._brokenPoolError(new Error(message), message));
      }
      this.settleIdle();
      return;
    }
    if (w.alive) {
      w.alive = false;
      const i = this.workers.indexOf(w);
      if (i >= 0) this.workers.splice(i, 1);
    } else {
      this.dying--;
    }
    w.idleTimer?.clear();
    // What it held when it died is in shared memory: those tasks completed.
    const left = w.transport.held?.takeAll(w.headSeq);
    if (left != null) this.takeResults(w, left);
    const states = w.transport.states;
    const requeue: PoolTask<any>[] = [];
    for (let first = true; w.inflight.length > 0; first = false) {
      const seq = w.headSeq++;
      const task = w.inflight.shift();
      if (task == null) continue;
      task.worker = null;
      if (task.done()) continue;
      // A worker that never came up ran nothing.
      if (w.cameUp && states.mayHaveStarted(seq, first)) {
        this.fail(task, this._brokenWorkerError(code, signal, w.reason));
      } else {
        task.seq = -1;
        task._setPending();
        requeue.push(task);
      }
    }
    for (let k = requeue.length - 1; k >= 0; k--) this.queue.unshift(requeue[k]!);
    if (this.queue.length > 0 && this.brokenError === null) this.dispatch();
    this.settleIdle();
  }

  /** Takes a worker out of service; with `force` its running task is abandoned. */
  private retire(w: PoolWorker, force: boolean): void {
    if (!w.alive) return;
    w.alive = false;
    const i = this.workers.indexOf(w);
    if (i >= 0) this.workers.splice(i, 1);
    w.idleTimer?.clear();
    clearTimeout(w.startupTimer!);
    if (force) this.takeBack(w);
    // Held until it has exited, so that `shutdown()` can see it go.
    this.dying++;
    this.keepAlive.hold();
    w.transport.terminate();
    if (this.queue.length > 0) this.scheduleDispatch();
  }

  /** Takes back every task a worker has not started, so that another worker runs it. */
  private takeBack(w: PoolWorker): void {
    const states = w.transport.states;
    const back: PoolTask<any>[] = [];
    for (let i = 0; i < w.inflight.length; i++) {
      const task = w.inflight.at(i);
      if (task == null || task.done()) continue;
      if (states.withdraw(task.seq)) {
        w.inflight.set(i, null);
        task.worker = null;
        task.seq = -1;
        task._setPending();
        back.push(task);
      }
    }
    for (let k = back.length - 1; k >= 0; k--) this.queue.unshift(back[k]!);
  }

  private fail(task: PoolTask<any>, error: unknown): void {
    task.worker = null;
    if (task.done()) return;
    task.payload = null;
    task.transfers = null;
    this._counters.completed += task.items;
    this._counters.failed += task.items;
    this.pending--;
    task.setException(error);
  }

  /** The pool cannot work (its initializer failed, or workers cannot start): every task fails, later submits throw, workers stop. */
  private breakPool(cause: unknown, message?: string): void {
    if (this.brokenError !== null) return;
    this.brokenError = this._brokenPoolError(cause, message);
    console.error(`concurrent-futures: ${this.brokenError.message}:`, cause);
    for (const task of this.queue.takeAll()) this.fail(task, this._brokenPoolError(cause, message));
    for (const w of [...this.workers]) {
      for (let i = 0; i < w.inflight.length; i++) {
        const task = w.inflight.at(i);
        if (task != null) this.fail(task, this._brokenPoolError(cause, message));
      }
      this.retire(w, false);
    }
    this.settleIdle();
  }

  private taskEnded(): void {
    if (--this.pending === 0) this.settleIdle();
  }

  /** Lets the process exit when idle; at shutdown, stops the workers once the work is done. */
  private settleIdle(): void {
    if (this.pending > 0) return;
    if (this.dying === 0) this.keepAlive.release();
    if (!this._shutdown) return;
    for (const w of [...this.workers]) this.retire(w, false);
    if (this.workers.length === 0 && this.dying === 0) {
      this.terminated?.();
      this.terminated = null;
    }
  }

  private post(w: PoolWorker, message: ToWorker, transfers: unknown[]): void {
    try {
      w.transport.post(message, transfers);
    } catch {
      // a worker that is going away cannot be told anything
    }
  }
}
