/**
 * What thread and process pools share: the queue, lazy worker start, batched
 * dispatch with tasks pushed ahead to each worker, exact cancellation through
 * shared task states, and what happens when a worker dies.
 */
import { decodeError, isTransfer, unwrapTransfer } from '../codec.js';
import { Deque } from '../deque.js';
import type { BrokenExecutorError } from '../errors.js';
import { Executor, type ExecutorStats } from '../executor.js';
import { Future, PENDING, RUNNING, type FutureOwner } from '../future.js';
import { KeepAlive } from '../keep-alive.js';
import type { Chunk, ChunkOutcome } from '../map.js';
import { taskDef, taskId, type TaskDef } from '../tasks.js';
import {
  CANCELLED, ERROR, OK, QUEUED, RING, SKIPPED, STARTED,
  type FromWorker, type ToWorker,
} from './protocol.js';

/** How the pool talks to one worker, whatever it runs on. @internal */
export interface Transport {
  /** Shared task states, or null where tasks cannot be pushed ahead (one task at a time). */
  readonly states: Int32Array | null;
  post(message: ToWorker, transferList: unknown[]): void;
  terminate(): void;
}

/** A submitted call, as the pool tracks it: its future, what to run, and where. */
class PoolTask<T> extends Future<T> {
  worker: PoolWorker | null = null;
  slot = -1;
  /** What the arguments move rather than copy (`transfer()`), already taken from the caller. */
  transfers: unknown[] | null = null;
  constructor(
    owner: FutureOwner,
    /** The task id * 2, + 1 for a chunk of `map` items. */
    readonly key: number,
    public payload: unknown[] | null,
  ) {
    super();
    this._owner = owner;
  }
}

/** What a transport reports back to the pool about its worker. @internal */
export interface WorkerHooks {
  readonly index: number;
  onMessage(message: FromWorker): void;
  onExit(code: number | null, signal?: string | null): void;
  /** Why the worker is about to end (an uncaught error, out of memory), for the error its task gets. */
  setReason(reason: string): void;
}

/** The pool's view of one worker. */
class PoolWorker {
  readonly inflight = new Deque<PoolTask<any> | null>();
  readonly known = new Set<number>();
  seq = 0;
  assigned = 0;
  /** Set once the worker has reported back: it did come up. */
  cameUp = false;
  startupTimer: NodeJS.Timeout | null = null;
  alive = true;
  idleTimer: NodeJS.Timeout | null = null;
  reason: string | undefined;
  transport!: Transport;
  constructor(readonly index: number) {}
}

/**
 * Node 20 sometimes never finishes starting a worker created while others
 * exit; one that has not reported within this long is ended and replaced.
 */
const STARTUP_TIMEOUT = 5000;

/** Tasks a worker holds: enough for ~TARGET_MS of work, so that it never waits for the next message. */
const TARGET_MS = 4;
const MAX_DEPTH = RING / 2;

/** Options every worker pool takes. @internal */
export interface PoolOptions {
  maxWorkers: number;
  initializer: TaskDef | null;
  initargs: unknown[];
  maxTasksPerWorker: number;
  idleTimeout: number;
}

export abstract class WorkerPoolExecutor extends Executor implements FutureOwner {
  /** The most workers that run at once. */
  readonly maxWorkers: number;
  private readonly queue = new Deque<PoolTask<any>>();
  private readonly workers: PoolWorker[] = [];
  private nextIndex = 0;
  /** Workers told to stop that have not exited yet. */
  private dying = 0;
  private pending = 0;
  private avgTaskMs = -1;
  private flushScheduled = false;
  private brokenError: BrokenExecutorError | null = null;
  private readonly keepAlive = new KeepAlive();
  private terminated: (() => void) | null = null;
  private readonly terminatedPromise = new Promise<void>((resolve) => (this.terminated = resolve));
  private readonly flushNow = (): void => this.flush();
  /** @internal */ protected readonly _options: PoolOptions;

  constructor(options: PoolOptions) {
    super();
    this._options = options;
    this.maxWorkers = options.maxWorkers;
  }

  /** Starts one worker; the pool feeds it through the transport and hears back through `_onMessage`/`_onExit`. @internal */
  protected abstract _spawn(hooks: WorkerHooks): Transport;

  /** The error for a worker that died mid-task. @internal */
  protected abstract _brokenWorkerError(code: number | null, signal: string | null | undefined, reason: string | undefined): BrokenExecutorError;

  /** The error once the initializer failed. @internal */
  protected abstract _brokenPoolError(cause: unknown): BrokenExecutorError;

  submit<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Future<Awaited<R>> {
    this.checkUsable();
    return this.enqueue(taskId(fn) * 2, args);
  }

  /** @internal */
  override submitChunk(fn: (...args: any[]) => unknown, chunk: Chunk): Future<ChunkOutcome<any>> {
    this.checkUsable();
    return this.enqueue(taskId(fn) * 2 + 1, chunk);
  }

  private checkUsable(): void {
    this._checkOpen();
    if (this.brokenError !== null) throw this._brokenPoolError(this.brokenError.cause);
  }

  private enqueue(key: number, payload: unknown[]): Future<any> {
    const task = new PoolTask<any>(this, key, payload);
    for (let i = key & 1; i < payload.length; i++) {
      const arg = payload[i];
      if (arg !== null && typeof arg === 'object' && isTransfer(arg)) payload[i] = this.takeTransfer(task, arg);
    }
    this.queue.push(task);
    if (this.pending++ === 0) this.keepAlive.hold();
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushNow);
    }
    return task;
  }

  stats(): ExecutorStats {
    let idle = 0;
    let running = 0;
    for (const w of this.workers) {
      if (w.inflight.length === 0) idle++;
      else if (this.startedHead(w) !== null) running++;
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

  /** The task a worker is running now, if any. */
  private startedHead(w: PoolWorker): PoolTask<any> | null {
    const head = w.inflight.peek();
    if (head == null || head.done()) return null;
    const states = w.transport.states;
    return states === null || Atomics.load(states, head.slot) === STARTED ? head : null;
  }

  /** @internal */
  refresh(future: Future<any>): void {
    const task = future as PoolTask<any>;
    const w = task.worker;
    if (w === null) return;
    const states = w.transport.states;
    if (states === null || Atomics.load(states, task.slot) !== QUEUED) task._state = RUNNING;
  }

  /** @internal */
  cancelQueued(future: Future<any>): boolean {
    const task = future as PoolTask<any>;
    const w = task.worker;
    if (w !== null) {
      const states = w.transport.states;
      // The CAS decides the race with the worker: a task it has started is running, not cancelled.
      if (states === null || Atomics.compareExchange(states, task.slot, QUEUED, CANCELLED) !== QUEUED) {
        task._state = RUNNING;
        return false;
      }
    }
    task.payload = null;
    this._counters.cancelled++;
    this.taskEnded();
    return true;
  }

  /** @internal */
  interrupt(future: Future<any>): boolean {
    const task = future as PoolTask<any>;
    const w = task.worker;
    if (w === null || !w.alive) return false;
    const states = w.transport.states;
    if (states !== null && Atomics.compareExchange(states, task.slot, STARTED, CANCELLED) !== STARTED) return false;
    w.reason ??= 'stopped to interrupt another task';
    this.retire(w, true);
    this._counters.cancelled++;
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
    if (w === null || !w.alive || this.startedHead(w) !== task) return false;
    this.post(w, { abort: true, slot: task.slot }, []);
    return true;
  }

  protected _beginShutdown(cancelFutures: boolean, wait: boolean): void {
    if (cancelFutures) {
      for (const task of this.queue.drain()) task.cancel();
      for (const w of this.workers) {
        for (let i = 0; i < w.inflight.length; i++) {
          const task = w.inflight.at(i);
          if (task != null && !task.done()) task.cancel();
        }
        if (!wait && this.startedHead(w) !== null) this.post(w, { abort: true }, []);
      }
    }
    this.settleIdle();
  }

  protected _whenTerminated(): Promise<void> {
    return this.terminatedPromise;
  }

  /** Hands queued tasks to workers, starting workers as Python does: when none is idle. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.queue.length === 0 || this.brokenError !== null) return;
    // One task to each idle worker, then a new worker per task left, then the rest pushed ahead.
    for (const w of this.workers) {
      if (w.inflight.length === 0) this.feed(w, 1);
      if (this.queue.length === 0) return;
    }
    while (this.queue.length > 0 && this.workers.length < this.maxWorkers) this.feed(this.start(), 1);
    for (const w of this.workers) {
      if (this.queue.length === 0) return;
      this.feed(w, Infinity);
    }
  }

  /** Sends a worker up to `limit` queued tasks, as many as its depth allows, in one message. */
  private feed(w: PoolWorker, limit: number): void {
    if (!w.alive) return;
    const states = w.transport.states;
    const depth = this.depth();
    let room = Math.min(limit, depth - w.inflight.length, this._options.maxTasksPerWorker - w.assigned);
    if (room <= 0) return;
    let defs: Array<[number, TaskDef]> | undefined;
    const flat: unknown[] = [];
    const transfers: unknown[] = [];
    const batch: PoolTask<any>[] = [];
    while (room > 0 && this.queue.length > 0) {
      const task = this.queue.shift()!;
      if (task.done()) continue;
      const id = task.key >> 1;
      if (!w.known.has(id)) {
        w.known.add(id);
        (defs ??= []).push([id, taskDef(id)]);
      }
      if (task.transfers !== null) for (const t of task.transfers) transfers.push(t);
      flat.push(task.key, task.payload);
      batch.push(task);
      room--;
    }
    if (batch.length === 0) return;
    const seq = w.seq;
    for (const task of batch) {
      task.worker = w;
      task.slot = w.seq++ & (RING - 1);
      if (states !== null) Atomics.store(states, task.slot, QUEUED);
      // The payload stays until the task ends: a worker that dies before starting it hands it back.
      w.inflight.push(task);
      // Without shared states a task cannot be withdrawn once sent: it counts as running, as in CPython's process pool.
      if (states === null) task._state = RUNNING;
    }
    w.assigned += batch.length;
    if (w.idleTimer !== null) {
      clearTimeout(w.idleTimer);
      w.idleTimer = null;
    }
    const message: ToWorker = defs === undefined ? { t: flat } : { d: defs, t: flat };
    try {
      w.transport.post(message, transfers);
    } catch (error) {
      this.unsend(w, batch, flat, seq, error);
    }
  }

  /** A batch could not be cloned: fail the tasks whose arguments cannot travel, queue the rest again. */
  private unsend(w: PoolWorker, batch: PoolTask<any>[], flat: unknown[], seq: number, error: unknown): void {
    for (let i = 0; i < batch.length; i++) w.inflight.pop();
    w.seq = seq;
    w.assigned -= batch.length;
    for (let i = batch.length - 1; i >= 0; i--) {
      const task = batch[i]!;
      const args = flat[2 * i + 1] as unknown[];
      task.worker = null;
      task.slot = -1;
      task._state = PENDING;
      const problem = uncloneable(args, (task.key & 1) === 1);
      if (problem === null) {
        task.payload = args;
        this.queue.unshift(task);
      } else {
        this.fail(task, new TypeError(problem, { cause: error }));
      }
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushNow);
    }
  }

  /** Moves what a `transfer()` argument names out of the caller's hands at once, as `postMessage` would. */
  private takeTransfer(task: PoolTask<any>, arg: unknown): unknown {
    const list: unknown[] = [];
    const value = unwrapTransfer(arg, list);
    const moved = structuredClone({ value, list }, { transfer: list as any[] });
    (task.transfers ??= []).push(...moved.list);
    return moved.value;
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
    if (!w.cameUp) {
      w.cameUp = true;
      clearTimeout(w.startupTimer!);
    }
    if ('initFailed' in message) {
      this.breakPool(decodeError(message.initFailed));
      return;
    }
    if ('ready' in message) return;
    const r = message.r;
    const n = r.length >> 1;
    if (n > 0) {
      const perTask = message.ms / n;
      this.avgTaskMs = this.avgTaskMs < 0 ? perTask : this.avgTaskMs * 0.7 + perTask * 0.3;
    }
    const c = this._counters;
    for (let i = 0; i < r.length; i += 2) {
      const task = w.inflight.shift();
      if (task == null) continue; // stolen
      // A finished task must not hold its worker: exited workers have to be collectable.
      task.worker = null;
      if (task.done()) continue; // cancelled or interrupted
      const status = r[i];
      if (status === SKIPPED) continue;
      task.payload = null;
      task.transfers = null;
      c.completed++;
      if (status === OK) {
        let value = r[i + 1];
        if ((task.key & 1) === 1) (value as ChunkOutcome<unknown>).error = decodeError((value as ChunkOutcome<unknown>).error);
        this.pending--;
        task.setResult(value);
      } else if (status === ERROR) {
        c.failed++;
        this.pending--;
        task.setException(decodeError(r[i + 1]));
      }
    }
    if (w.alive) {
      if (w.assigned >= this._options.maxTasksPerWorker && w.inflight.length === 0) this.retire(w, false);
      else if (w.inflight.length === 0 && Number.isFinite(this._options.idleTimeout) && this.queue.length === 0) {
        w.idleTimer = setTimeout(() => w.inflight.length === 0 && this.retire(w, false), this._options.idleTimeout);
        w.idleTimer.unref();
      }
    }
    if (this.queue.length > 0) this.flush();
    this.settleIdle();
  }

  /** A worker ended: fail the task it was running, queue again those it never started. */
  private onExit(w: PoolWorker, code: number | null, signal?: string | null): void {
    const states = w.transport.states;
    if (w.alive && !w.cameUp && code !== 0) {
      // A worker that cannot even start would fail again each time: the pool cannot work.
      w.alive = false;
      this.workers.splice(this.workers.indexOf(w), 1);
      this.breakPool(new Error(`a worker failed to start (exit code ${code}${w.reason ? `, ${w.reason}` : ''})`));
      return;
    }
    if (w.alive) {
      w.alive = false;
      const i = this.workers.indexOf(w);
      if (i >= 0) this.workers.splice(i, 1);
    } else {
      this.dying--;
    }
    if (w.idleTimer !== null) clearTimeout(w.idleTimer);
    const requeue: PoolTask<any>[] = [];
    while (w.inflight.length > 0) {
      const task = w.inflight.shift();
      if (task == null) continue;
      if (task.done()) {
        task.worker = null;
        continue;
      }
      // Without shared states, what a dead worker had been sent may have run (unless it never came up):
      // it fails rather than risk running twice.
      const started = states === null ? w.cameUp : Atomics.load(states, task.slot) !== QUEUED;
      if (started) {
        this.fail(task, this._brokenWorkerError(code, signal, w.reason));
      } else {
        task.worker = null;
        task.slot = -1;
        requeue.push(task);
      }
    }
    for (let k = requeue.length - 1; k >= 0; k--) this.queue.unshift(requeue[k]!);
    if (this.queue.length > 0 && this.brokenError === null) this.flush();
    this.settleIdle();
  }

  /** Takes a worker out of service; with `force` its running task is abandoned. */
  private retire(w: PoolWorker, force: boolean): void {
    if (!w.alive) return;
    w.alive = false;
    const i = this.workers.indexOf(w);
    if (i >= 0) this.workers.splice(i, 1);
    if (w.idleTimer !== null) clearTimeout(w.idleTimer);
    clearTimeout(w.startupTimer!);
    if (force) this.steal(w);
    // Held until it has exited, so that `shutdown()` can see it go.
    this.dying++;
    this.keepAlive.hold();
    w.transport.terminate();
    if (this.queue.length > 0 && !this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushNow);
    }
  }

  /** Takes back every task a worker has not started, so that another worker runs it. */
  private steal(w: PoolWorker): void {
    const states = w.transport.states;
    const back: PoolTask<any>[] = [];
    for (let i = 0; i < w.inflight.length; i++) {
      const task = w.inflight.at(i);
      if (task == null || task.done()) continue;
      if (states !== null && Atomics.compareExchange(states, task.slot, QUEUED, CANCELLED) === QUEUED) {
        w.inflight.set(i, null);
        task.worker = null;
        task.slot = -1;
        task._state = PENDING;
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
    this._counters.completed++;
    this._counters.failed++;
    this.pending--;
    task.setException(error);
  }

  /** The initializer failed: every task fails, later submits throw, workers stop. */
  private breakPool(cause: unknown): void {
    if (this.brokenError !== null) return;
    this.brokenError = this._brokenPoolError(cause);
    console.error(`concurrent-futures: ${this.brokenError.message}:`, cause);
    for (const task of this.queue.drain()) this.fail(task, this._brokenPoolError(cause));
    for (const w of [...this.workers]) {
      for (let i = 0; i < w.inflight.length; i++) {
        const task = w.inflight.at(i);
        if (task != null) this.fail(task, this._brokenPoolError(cause));
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

/** Why a task's arguments cannot be sent to a worker, or null when they can. */
function uncloneable(args: unknown[], chunk: boolean): string | null {
  const arity = chunk ? Math.max(1, args[0] as number) : 1;
  for (let i = chunk ? 1 : 0; i < args.length; i++) {
    try {
      structuredClone(args[i]);
    } catch (why) {
      const which = chunk ? `argument ${((i - 1) % arity) + 1} of a map item in a chunk` : `argument ${i + 1} of the task`;
      return `${which} cannot be sent to a worker: ${(why as Error)?.message ?? why}`;
    }
  }
  return `the task's arguments cannot be sent to a worker`;
}
