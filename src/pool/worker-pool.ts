/**
 * What thread and process pools share: the queue (fed to workers by
 * feeder.ts), lazy worker start, results paired with their tasks by seq
 * (read by answer.ts), and what happens when a worker dies.
 */
import { decodeError, isTransfer } from '../codec.js';
import type { BrokenExecutorError } from '../errors.js';
import { Executor, type ExecutorStats } from '../executor.js';
import type { Future } from '../future.js';
import { KeepAlive } from '../keep-alive.js';
import { chunkLength, type Chunk, type ChunkOutcome } from './chunk.js';
import { taskId, type TaskDef } from '../tasks.js';
import { longTimeout } from '../long-timeout.js';
import { BARE_MS, OK, RESULTS, SKIPPED, isChunk, taskKey, type FromWorker, type LoneResult, type ResultMessage, type ToWorker } from './protocol.js';
import { PoolTask, PoolWorker, type Transport, type WorkerHooks } from './worker-state.js';
import { Feeder } from './feeder.js';
import { failTask, settleAnswer } from './answer.js';
import { poolChunking, type AutoChunking } from '../map/target.js';
import type { RateLimit } from '../checks.js';
import { RateGate } from './rate-gate.js';

/**
 * Node 20 sometimes never finishes starting a worker created while others
 * exit; one that has not reported within this long is ended and replaced.
 */
const STARTUP_TIMEOUT = 5000;

/**
 * How often the pool looks for results a worker holds behind a call that
 * proved long (ms): such a result waits at most about this long. Shorter
 * costs every round trip: a 2 ms timer made a one-task ping-pong 10% slower.
 */
const HELD_TICK_MS = 10;

/** Options every worker pool takes. @internal */
export interface PoolOptions {
  maxWorkers: number;
  initializer: TaskDef | null;
  initargs: unknown[];
  maxTasksPerWorker: number;
  idleTimeout: number;
  rateLimit: RateLimit | undefined;
}

export abstract class WorkerPoolExecutor extends Executor {
  /** The most workers that run at once. */
  readonly maxWorkers: number;
  private readonly workers: PoolWorker[] = [];
  private readonly feeder: Feeder;
  /** With a `rateLimit`, where submitted tasks wait for their turn. */
  private readonly gate: RateGate | null;
  private nextIndex = 0;
  /** Workers told to stop that have not exited yet. */
  private dying = 0;
  private pending = 0;
  private heldTimer: NodeJS.Timeout | null = null;
  private readonly pollHeldNow = (): void => this.pollHeld();
  private brokenError: BrokenExecutorError | null = null;
  private readonly keepAlive = new KeepAlive();
  private terminated: (() => void) | null = null;
  private readonly terminatedPromise = new Promise<void>((resolve) => (this.terminated = resolve));
  /** @internal */ protected readonly _options: PoolOptions;

  /** @internal */
  constructor(options: PoolOptions) {
    super();
    this._options = options;
    this.maxWorkers = options.maxWorkers;
    // Rate-limited, a map item is a task of its own: each item's start counts.
    this._autoChunks = options.rateLimit === undefined ? poolChunking(options.maxWorkers, 2) : null;
    this.gate = options.rateLimit === undefined ? null : new RateGate(options.rateLimit, {
      maxWorkers: options.maxWorkers,
      idleWorkers: () => {
        let idle = 0;
        for (const w of this.workers) if (w.alive && w.cameUp && w.inflight.length === 0 && w.interruptSeq < 0) idle++;
        return idle;
      },
      release: (task) => this.feeder.queue.push(task),
      dispatch: () => this.feeder.dispatch(),
    });
    this.feeder = new Feeder(this.workers, {
      maxWorkers: options.maxWorkers,
      maxTasksPerWorker: options.maxTasksPerWorker,
      start: () => this.start(),
      fail: (task, error) => this.fail(task, error),
      settle: (task, status, value) => {
        this.pending--;
        settleAnswer(task, status, value, this._counters);
      },
      fed: (w) => this.watchHeld(w),
    });
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

  /** @internal How `map` sizes chunks without `chunksize`; a pool whose workers cannot give back a task sent ahead sets its own. */
  _autoChunks: AutoChunking | null;

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
    if (this.pending++ === 0) this.keepAlive.hold();
    if (this.gate !== null) this.gate.hold(task);
    else {
      this.feeder.queue.push(task);
      this.feeder.scheduleDispatch();
    }
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
      queued: this.pending - running + this._unsentItems,
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
    if (!w.transport.states.exact) {
      // A child is ended once this task is the one it runs (maybe now): see endForInterrupt.
      w.interruptSeq = w.interruptSeq >= 0 ? Math.min(w.interruptSeq, task.seq) : task.seq;
      if (first) this.endForInterrupt(w);
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
      if (this.gate !== null) for (const task of this.gate.takeAll()) task.cancel();
      for (const task of this.feeder.queue.takeAll()) task.cancel();
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

  private start(): PoolWorker {
    const w = new PoolWorker(this.nextIndex++);
    this.workers.push(w);
    try {
      w.transport = this._spawn({
        index: w.index,
        onMessage: (m) => this.onMessage(w, m),
        onExit: (code, signal) => this.onExit(w, code, signal),
        onDropped: (error) => this.onDropped(w, error),
        setReason: (r) => (w.reason ??= r),
      });
    } catch (error) {
      // Thrown where no task can catch it (Deno without --allow-run, say): the pool is broken, its futures fail.
      w.alive = false;
      this.workers.splice(this.workers.indexOf(w), 1);
      const message = `a worker could not be started (${(error as Error)?.message ?? error}): the pool is not usable anymore`;
      this.breakPool(error, message);
      return w;
    }
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
    if (typeof message !== 'object') this.onLoneResult(w, message);
    else if (Array.isArray(message)) this.onResults(w, message);
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

  /** The value of the next task, which took under BARE_MS, sent bare (protocol.ts). */
  private onLoneResult(w: PoolWorker, value: LoneResult): void {
    this.feeder.learn(BARE_MS, 1);
    this.answer(w, OK, value);
    this.nextStarted(w);
    this.afterAnswers(w);
  }

  /**
   * The worker has answered, so its next task (if any) has just started: its
   * clock starts now. An idle worker's starts when it is fed (clock reads cost
   * ~0.1 µs here, so none is made for nothing).
   */
  private nextStarted(w: PoolWorker): void {
    if (w.inflight.length > 0) w.lastProgress = performance.now();
  }

  private takeResults(w: PoolWorker, message: ResultMessage): void {
    const r = message;
    const n = (r.length - RESULTS) >> 1;
    if (n > 0 && (r[1] as number) >= 0) this.feeder.learn(r[1] as number, n);
    // Seqs skipped over were answered in a message the channel dropped.
    while (w.headSeq < (r[0] as number) && w.inflight.length > 0) this.answer(w, null);
    // How long a task answered alone ran: the rate limit's gate corrects its start with it.
    const ranMs = n === 1 && this.gate !== null ? (r[1] as number) : -1;
    for (let i = RESULTS; i < r.length; i += 2) this.answer(w, r[i] as number, r[i + 1], ranMs);
    // Not after results taken from shared memory (ms -1): the call behind them has run a while already.
    if ((r[1] as number) >= 0) this.nextStarted(w);
  }

  /**
   * Work went to a worker that may hold results in shared memory: look for
   * them each tick while it may. A result is held only behind a later task,
   * so a worker with one task out holds none: a one-task round trip has no tick.
   */
  private watchHeld(w: PoolWorker): void {
    if (this.heldTimer === null && w.transport.held !== null && w.inflight.length >= 2) {
      this.heldTimer = setInterval(this.pollHeldNow, HELD_TICK_MS);
      this.heldTimer.unref();
    }
  }

  /** Every tick while a worker may hold results: those held for a whole tick are taken from shared memory. */
  private pollHeld(): void {
    let busy = false;
    for (const w of this.workers) {
      if (w.inflight.length < 2 || w.transport.held === null) continue;
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
  private answer(w: PoolWorker, status: number | null, value?: unknown, ranMs = -1): void {
    const task = w.inflight.shift();
    w.headSeq++;
    if (task == null) return; // taken back
    // A finished task must not hold its worker: exited workers have to be collectable.
    task.worker = null;
    if (ranMs >= 0) task.ranMs = ranMs;
    if (task.done() || status === SKIPPED) return; // cancelled or interrupted
    if (status === null) {
      this.fail(task, new TypeError(`the task's result cannot be received from the worker: ${w.reason ?? 'the message carrying it was dropped'}`));
      return;
    }
    this.pending--;
    settleAnswer(task, status, value, this._counters);
  }

  /**
   * Ends a child to interrupt the task it runs, once what the child has
   * already sent is read (I/O comes before setImmediate): a task that has
   * answered meanwhile was not running, and the one after it must not die for it.
   */
  private endForInterrupt(w: PoolWorker): void {
    setImmediate(() => {
      if (!w.alive || w.interruptSeq < 0) return;
      if (w.headSeq === w.interruptSeq && w.inflight.length > 0) {
        w.reason ??= 'ended to interrupt its task';
        this.retire(w, true);
      } else if (w.headSeq > w.interruptSeq) {
        w.interruptSeq = -1;
      }
    });
  }

  private afterAnswers(w: PoolWorker): void {
    if (w.alive) {
      if (w.interruptSeq >= 0 && w.headSeq >= w.interruptSeq) {
        if (w.headSeq === w.interruptSeq && w.inflight.length > 0) this.endForInterrupt(w);
        else w.interruptSeq = -1; // it answered: it had ended before it could be interrupted
      }
    }
    if (w.alive) {
      if (w.assigned >= this._options.maxTasksPerWorker && w.inflight.length === 0) this.retire(w, false);
      else if (w.inflight.length === 0 && Number.isFinite(this._options.idleTimeout) && this.feeder.queue.length === 0) {
        w.idleTimer = longTimeout(() => w.inflight.length === 0 && this.retire(w, false), this._options.idleTimeout);
        w.idleTimer.unref();
      }
    }
    if (this.feeder.queue.length > 0) this.feeder.dispatch();
    else if (w.inflight.length === 0) this.feeder.rebalance();
    this.settleIdle();
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
    w.sortOutAfterExit(this.feeder.queue, (task) => this.fail(task, this._brokenWorkerError(code, signal, w.reason)));
    if (this.feeder.queue.length > 0 && this.brokenError === null) this.feeder.dispatch();
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
    if (force) w.takeBack(this.feeder.queue);
    // Held until it has exited, so that `shutdown()` can see it go.
    this.dying++;
    this.keepAlive.hold();
    w.transport.terminate();
    if (this.feeder.queue.length > 0) this.feeder.scheduleDispatch();
  }

  private fail(task: PoolTask<any>, error: unknown): void {
    task.worker = null;
    if (task.done()) return;
    this.pending--;
    failTask(task, error, this._counters);
  }

  /** The pool cannot work (its initializer failed, or workers cannot start): every task fails, later submits throw, workers stop. */
  private breakPool(cause: unknown, message?: string): void {
    if (this.brokenError !== null) return;
    this.brokenError = this._brokenPoolError(cause, message);
    this.feeder.stopped = true;
    console.error(`concurrent-futures: ${this.brokenError.message}:`, cause);
    if (this.gate !== null) for (const task of this.gate.takeAll()) this.fail(task, this._brokenPoolError(cause, message));
    for (const task of this.feeder.queue.takeAll()) this.fail(task, this._brokenPoolError(cause, message));
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
