/**
 * What thread and process pools share. A task's path, each file once:
 *
 *   submit() → queue → Feeder.dispatch() (feeder.ts) → PoolWorker.send() (worker-state.ts)
 *     → Transport.post() (transport.ts: thread/pool.ts, process/pool.ts) → TaskRunner (runner.ts)
 *   onMessage() ← its outbox (outbox.ts), or the mirror (held-results.ts) → PoolWorker.answered():
 *     the head task (inflight.ts) → settleAnswer() (answer.ts) → its future
 *
 * Here: lazy worker start, what an answer, a dropped message and a worker's
 * death settle, interrupts (interrupt.ts), retiring workers, a broken pool.
 */
import { decodeError, isTransfer } from '../codec.js';
import type { BrokenExecutorError } from '../errors.js';
import { Executor, type ExecutorStats } from '../executor.js';
import type { Future } from '../future.js';
import { chunkLength, type Chunk, type ChunkOutcome } from '../chunk.js';
import { taskId } from '../tasks.js';
import { BARE_MS, DEFERRED, ERROR, OK, RESULTS, SKIPPED, isChunk, taskKey, type FromWorker, type BareResult, type ResultMessage } from './protocol.js';
import { PoolTask, PoolWorker } from './worker-state.js';
import { describeExit, type Transport, type WorkerExit, type WorkerHooks } from './transport.js';
import type { PoolOptions } from './options.js';
import { Feeder } from './feeder.js';
import { HeldWatch } from './held-watch.js';
import { failTask, settleAnswer } from './answer.js';
import { END_NOW, END_SOON, NOT_RUNNING, SIGNAL_ONLY } from './interrupt.js';
import { Retries, TaskControl, type TaskSettings } from '../task-options.js';
import { PoolTiming } from './timing.js';
import type { ExecutorKind } from '../tracing.js';
import type { HeldItems } from '../map/chunks.js';

/**
 * Node 20 sometimes never finishes starting a worker created while others
 * exit; one that has not reported within this long is ended and replaced.
 */
const STARTUP_TIMEOUT = 5000;

export abstract class WorkerPoolExecutor extends Executor {
  /** The most workers that run at once. */
  readonly maxWorkers: number;
  /** @internal */ protected readonly workers: PoolWorker[] = [];
  private readonly feeder: Feeder;
  private nextIndex = 0;
  /** Workers told to stop that have not exited yet. */
  private dying = 0;
  private readonly held = new HeldWatch(this.workers, (w, results) => this.onResults(w, results));
  private brokenError: BrokenExecutorError | null = null;
  /** Tasks waiting for another try (`withOptions({ retries })`): pending, in no queue. */
  private readonly retries = new Retries<PoolTask<any>>((task) => this.feeder.add(task));
  /** How the worker that could not start ended, for every error of the broken pool. */
  private brokenExit: WorkerExit | undefined;
  /** @internal */ protected readonly _options: PoolOptions;
  /** @internal */ protected readonly _times: PoolTiming;

  /** @internal */
  constructor(options: PoolOptions, kind: ExecutorKind) {
    super();
    this._options = options;
    this._times = new PoolTiming(this._counters.latency, this, kind);
    this.maxWorkers = options.maxWorkers;
    this.feeder = new Feeder(this.workers, {
      rateLimit: options.rateLimit,
      maxWorkers: options.maxWorkers,
      tasksPerWorker: options.tasksPerWorker,
      maxTasksPerWorker: options.maxTasksPerWorker,
      start: () => this.start(),
      fail: (task, error) => this.fail(task, error),
      settle: (task, status, value) => this.settle(task, status, value),
      fed: (w) => (this.held.watch(w), this._times.headStarted(w)),
    });
  }

  /** Starts one worker; the pool feeds it through the transport and hears back through the hooks. @internal */
  protected abstract _spawn(hooks: WorkerHooks): Transport;

  /** The error for a worker that died mid-task. @internal */
  protected abstract _brokenWorkerError(code: number | null, signal: string | null | undefined, reason: string | undefined): BrokenExecutorError;

  /**
   * The error once the pool cannot work: its initializer failed, or (with `message`) a worker could not start,
   * `exit` telling how that worker ended when it did. @internal
   */
  protected abstract _brokenPoolError(cause: unknown, message?: string, exit?: WorkerExit): BrokenExecutorError;

  submit<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Future<Awaited<R>> {
    this.checkUsable();
    return this.enqueue(fn, taskKey(taskId(fn), false), args);
  }

  /** @internal */
  override _submitWith(settings: TaskSettings, fn: (...args: any[]) => unknown, args: unknown[]): Future<any> {
    this.checkUsable();
    return this.enqueue(fn, taskKey(taskId(fn), false), args, settings);
  }

  /** @internal */
  submitChunk(fn: (...args: any[]) => unknown, chunk: Chunk, held?: HeldItems): Future<ChunkOutcome<any>> {
    this.checkUsable();
    return this.enqueue(fn, taskKey(taskId(fn), true), chunk, undefined, held);
  }

  private checkUsable(): void {
    this._checkOpen();
    if (this.brokenError !== null) throw this._brokenPoolError(this.brokenError.cause, this.brokenError.message, this.brokenExit);
  }

  private enqueue(fn: unknown, key: number, payload: unknown[], settings?: TaskSettings, held?: HeldItems): PoolTask<any> {
    const task = new PoolTask<any>(this, key, payload);
    if (isChunk(key)) task.items = chunkLength(payload);
    const trace = this._times.submitted(task, fn, held);
    trace?.submitted();
    if (settings !== undefined) {
      task._control = new TaskControl(settings, task);
      if (settings.priority !== 0) this.feeder.prioritize(settings.priority);
    }
    for (let i = isChunk(key) ? 1 : 0; i < payload.length; i++) {
      const arg = payload[i];
      if (arg !== null && typeof arg === 'object' && isTransfer(arg)) payload[i] = task.takeTransfer(arg);
    }
    if (this._counters.added(task.items)) this._keepAlive.hold();
    this.feeder.add(task);
    trace?.submitEnded();
    return task;
  }

  stats(): ExecutorStats {
    return this._times.stats(this.workers, this._counters);
  }

  /** @internal */
  checkStarted(future: Future<any>): void {
    const task = future as PoolTask<any>;
    if (task.worker?.mayHaveStarted(task)) task._setRunning();
  }

  /** @internal */
  cancelQueued(future: Future<any>): boolean {
    const task = future as PoolTask<any>;
    const w = task.worker;
    // The worker's answer decides the race: a task it has started is running, not cancelled.
    if (w !== null && !w.withdraw(task)) {
      task._setRunning();
      return false;
    }
    task.payload = null;
    this.retries.delete(task);
    this._counters.cancelled += task.items;
    this.taskEnded(task);
    return true;
  }

  /** @internal */
  interrupt(future: Future<any>): boolean {
    const task = future as PoolTask<any>;
    const w = task.worker;
    if (w === null || !w.alive) return false;
    const how = w.interrupt(task);
    if (how === NOT_RUNNING) return false;
    this._times.interrupted(task, w, this._counters, how === END_NOW);
    if (how === END_NOW) this.retire(w, true);
    else if (how === END_SOON) this.endWhenDue(w);
    else if (how === SIGNAL_ONLY) w.watchInterrupted(task, this.feeder.queue, () => this.afterAnswers(w));
    this.taskEnded(task);
    return true;
  }

  /** Aborts a running task's `taskSignal()`, the task going on (a BullMQ worker's threads); `false` when it is not running. @internal */
  abortTaskSignal(future: Future<any>): boolean {
    const task = future as PoolTask<any>;
    const w = task.worker;
    if (w === null || !w.alive || task.done() || !w.runs(task)) return false;
    w.tell({ abort: true, seq: task.seq });
    return true;
  }

  /** @internal */
  protected _beginShutdown(cancelFutures: boolean, wait: boolean): void {
    if (cancelFutures) {
      for (const task of [...this.feeder.takeAll(), ...this.retries.takeAll()]) task.cancel();
      for (const w of this.workers) {
        let running = w.deferred.live() > 0;
        for (let i = 0; i < w.inflight.length; i++) {
          const task = w.inflight.at(i);
          if (task != null && !task.done() && !task.cancel()) running = true;
        }
        if (!wait && running) w.tell({ abort: true });
      }
    }
    this.checkIdle();
  }

  private start(): PoolWorker {
    const w = new PoolWorker(this.nextIndex++, this._options.tasksPerWorker);
    this._times.workers(this.workers.push(w));
    let transport: Transport;
    try {
      transport = this._spawn({
        index: w.index,
        onMessage: (m) => this.onMessage(w, m),
        onExit: (code, signal) => this.onExit(w, code, signal),
        onDropped: (error) => this.onDropped(w, error),
        setReason: (r) => w.setReason(r),
      });
    } catch (error) {
      // Thrown where no task can catch it (a missing entry file; Deno without --allow-run, say): the pool is
      // broken, its futures fail; it would fail the same way each time.
      w.failedToStart();
      this.remove(w);
      const reason = error instanceof Error ? error.message : String(error);
      this.breakPool(error, `a worker could not be started (${reason}): the pool is not usable anymore`, { code: null, signal: null, reason });
      return w;
    }
    w.started(transport, STARTUP_TIMEOUT, () => this.retire(w, true));
    return w;
  }

  private onMessage(w: PoolWorker, message: FromWorker): void {
    if (typeof message !== 'object') this.onBareResult(w, message);
    else if (Array.isArray(message)) this.onResults(w, message);
    else if ('ready' in message) w.reported(message.ready, this._times);
    else if ('initFailed' in message) {
      this.breakPool(decodeError(message.initFailed));
    } else if ('fatal' in message) {
      w.setReason(message.fatal);
    } else if ('progress' in message) {
      // Sent before its task's result: the task is still the worker's, unless it was cancelled meanwhile.
      w.taskOf(message.progress)?._reportProgress(message.value);
    }
  }

  private onResults(w: PoolWorker, message: ResultMessage): void {
    this.takeResults(w, message);
    this.afterAnswers(w);
  }

  /** The value of the next task, which took under BARE_MS, sent bare (protocol.ts). */
  private onBareResult(w: PoolWorker, value: BareResult): void {
    this.feeder.tasksTook(BARE_MS, 1);
    this._times.message(w, 1, BARE_MS);
    this.answer(w, OK, value);
    w.progressed();
    this.afterAnswers(w);
  }

  private takeResults(w: PoolWorker, message: ResultMessage): void {
    const r = message;
    if ((r[0] as number) < 0) {
      // A deferred task's result, late and alone (DEFERRED): [-1 - seq, -1, status, value].
      const task = w.deferred.take(-1 - (r[0] as number));
      if (task === undefined) return;
      task.worker = null;
      this._times.late(task, w);
      this._times.slotFreed(w);
      if (!task.done()) this.settle(task, r[RESULTS] as number, r[RESULTS + 1]);
      return;
    }
    const n = (r.length - RESULTS) >> 1;
    if (n > 0 && (r[1] as number) >= 0) this.feeder.tasksTook(r[1] as number, n);
    this._times.message(w, n, r[1] as number);
    // Seqs skipped over were answered in a message the channel dropped.
    while (w.inflight.head < (r[0] as number) && w.inflight.length > 0) this.answer(w, null);
    // How long a task answered alone ran: a rate limit's gate corrects its start with it.
    const ranMs = n === 1 && this._options.rateLimit !== undefined ? (r[1] as number) : -1;
    for (let i = RESULTS; i < r.length; i += 2) this.answer(w, r[i] as number, r[i + 1], ranMs);
    // Not after results taken from shared memory (ms -1): the call behind them has run a while already.
    if ((r[1] as number) >= 0) w.progressed();
    this._times.headStarted(w);
  }

  /** Settles the worker's first unanswered task with a result (`status` null: its result was lost). */
  private answer(w: PoolWorker, status: number | null, value?: unknown, ranMs = -1): void {
    // DEFERRED: it awaits in the worker, which goes on to the next; its result comes late.
    const task = w.answered(status === DEFERRED);
    if (task === null || task.done() || status === SKIPPED) return; // taken back, deferred, cancelled or interrupted
    if (ranMs >= 0) task.ranMs = ranMs;
    this._times.answered(task, w);
    if (status === null) {
      this.fail(task, new TypeError(`the task's result cannot be received from the worker: ${w.reason ?? 'the message carrying it was dropped'}`));
      return;
    }
    this.settle(task, status, value);
  }

  /** Settles a task with its worker's answer; one that failed with tries left (`retries`) is queued again instead, after its backoff. */
  private settle(task: PoolTask<any>, status: number, value: unknown): void {
    if ((status & ERROR) !== 0 && this.brokenError === null && this.retries.schedule(task)) return;
    this._counters.removed(task.items);
    settleAnswer(task, status, value, this._counters);
  }

  /** Ends a child to interrupt the task it runs, once what the child has already sent is read (I/O comes before setImmediate). */
  private endWhenDue(w: PoolWorker): void {
    setImmediate(() => {
      if (!w.interruptDue()) return;
      this._times.endedRunning(w);
      this.retire(w, true);
    });
  }

  private afterAnswers(w: PoolWorker): void {
    if (w.interruptDue()) this.endWhenDue(w);
    if (w.drained()) this.retire(w, false);
    else if (w.alive) {
      if (w.spent(this._options.maxTasksPerWorker)) this.retire(w, false);
      else if (w.inflight.length === 0 && w.deferred.size === 0 && Number.isFinite(this._options.idleTimeout) && this.feeder.queue.length === 0) {
        w.idleFor(this._options.idleTimeout, () => this.retire(w, false));
      }
    }
    if (this.feeder.queue.length > 0) this.feeder.dispatch();
    else if (w.inflight.length === 0) this.feeder.rebalance();
    this.checkIdle();
  }

  /** A message the worker sent was dropped: it held one result only (see runner.ts), its first unanswered task's. */
  private onDropped(w: PoolWorker, error: unknown): void {
    if (w.inflight.length === 0) return;
    const reason = (error as Error)?.message ?? String(error);
    const task = w.answered();
    if (task !== null) this.fail(task, new TypeError(`the task's result cannot be received from the worker: ${reason}`, { cause: error }));
    this.afterAnswers(w);
  }

  /** A worker ended: fail the task it was running, queue again those it never started. */
  private onExit(w: PoolWorker, code: number | null, signal?: string | null): void {
    const wasAlive = w.exited();
    if (wasAlive && !w.initialized) {
      // A worker that cannot start would fail the same way each time: the pool cannot work.
      this.remove(w);
      const stage = w.loaded ? 'while running its initializer' : 'before it was up';
      const message = `a worker ${describeExit(code, signal)} ${stage}${w.reason ? ` (${w.reason})` : ''}: the pool cannot start workers and is not usable anymore`;
      const exit: WorkerExit = { code, signal: signal ?? null, reason: w.reason };
      this.breakPool(undefined, message, exit);
      while (w.inflight.length > 0) {
        const task = w.answered();
        if (task !== null) this.fail(task, this._brokenPoolError(undefined, message, exit));
      }
      this.checkIdle();
      return;
    }
    if (wasAlive) this.remove(w);
    else this.dying--;
    // What it held when it died is in shared memory: those tasks completed.
    const left = w.takeLeft();
    if (left !== null) this.takeResults(w, left);
    else if (wasAlive && (w.inflight.length > 0 || w.deferred.size > 0)) this._times.endedRunning(w);
    w.sortOutAfterExit(this.feeder.queue, (task) => {
      if (this.brokenError !== null || !this.retries.schedule(task)) this.fail(task, this._brokenWorkerError(code, signal, w.reason));
    });
    if (this.feeder.queue.length > 0 && this.brokenError === null) this.feeder.dispatch();
    this.checkIdle();
  }

  /** `w` is no longer one of the pool's workers (utilization counts the workers the pool had, timing.ts). */
  private remove(w: PoolWorker): void {
    const i = this.workers.indexOf(w);
    if (i >= 0) this.workers.splice(i, 1);
    this._times.workers(this.workers.length);
  }

  /** Takes a worker out of service; with `force` its running task is abandoned. */
  private retire(w: PoolWorker, force: boolean): void {
    if (!w.alive) return;
    this.remove(w);
    // Held until it has exited, so that `shutdown()` can see it go.
    this.dying++;
    this._keepAlive.hold();
    w.retire(force, this.feeder.queue);
    if (this.feeder.queue.length > 0) this.feeder.scheduleDispatch();
  }

  private fail(task: PoolTask<any>, error: unknown): void {
    task.worker = null;
    if (task.done()) return;
    this._counters.removed(task.items);
    failTask(task, error, this._counters);
  }

  /** The pool cannot work (its initializer failed, or workers cannot start): every task fails, later submits throw, workers stop. */
  private breakPool(cause: unknown, message?: string, exit?: WorkerExit): void {
    if (this.brokenError !== null) return;
    this.brokenError = this._brokenPoolError(cause, message, exit);
    this.brokenExit = exit;
    this.feeder.stopped = true;
    // A worker that could not start is told of in the message: said once.
    if (exit !== undefined || cause === undefined) console.error(`concurrent-futures: ${this.brokenError.message}`);
    else console.error(`concurrent-futures: ${this.brokenError.message}:`, cause);
    for (const task of [...this.feeder.takeAll(), ...this.retries.takeAll()]) this.fail(task, this._brokenPoolError(cause, message, exit));
    for (const w of [...this.workers]) {
      for (const task of w.deferred.takeAll()) this.fail(task, this._brokenPoolError(cause, message, exit));
      for (let i = 0; i < w.inflight.length; i++) {
        const task = w.inflight.at(i);
        if (task != null) this.fail(task, this._brokenPoolError(cause, message, exit));
      }
      this.retire(w, false);
    }
    this.checkIdle();
  }

  private taskEnded(task: PoolTask<any>): void {
    if (this._counters.removed(task.items)) this.checkIdle();
  }

  /** Lets the process exit when idle; at shutdown, stops the workers once the work is done. */
  private checkIdle(): void {
    if (this._counters.pending > 0) return;
    if (this.dying === 0) this._keepAlive.release();
    if (!this._shutdown) return;
    for (const w of [...this.workers]) this.retire(w, false);
    if (this.workers.length === 0 && this.dying === 0) this._terminated();
  }
}
