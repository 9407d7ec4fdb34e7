import { availableParallelism } from 'node:os';
import { CancelledError } from './errors.js';
import { Executor, type ExecutorStats } from './executor.js';
import { Future, type FutureOwner } from './future.js';
import { Deque } from './deque.js';
import { MapBatch } from './map-batch.js';
import { abortTask, runAsTask, type TaskContext } from './task-signal.js';
import { KeepAlive } from './keep-alive.js';
import { checkMaxWorkers } from './options.js';

/** A submitted call: its future, and what `taskSignal()` sees while it runs. */
class AsyncTask<T> extends Future<T> implements TaskContext {
  abort: TaskContext['abort'] = null;
  /** Its place in the executor's slots while it runs. */
  slot = -1;
  constructor(
    owner: FutureOwner,
    public fn: ((...args: any[]) => unknown) | null,
    public args: unknown[] | null,
  ) {
    super();
    this._owner = owner;
  }
}

/**
 * Runs tasks on this thread's event loop, at most `maxWorkers` at a time: the
 * executor for I/O-bound work. Any function works, closures included.
 */
export class AsyncPoolExecutor extends Executor implements FutureOwner {
  /** The most tasks that run at once. */
  readonly maxWorkers: number;
  /** Submitted tasks, and `map` batches whose futures are made as their items start. */
  private readonly queue = new Deque<AsyncTask<any> | MapBatch>();
  /** Running tasks by slot, interrupted ones included until they really end. */
  private readonly slots: (AsyncTask<any> | null)[];
  private readonly freeSlots: number[];
  private draining = false;
  private drainScheduled = false;
  private readonly keepAlive = new KeepAlive();
  private terminated: (() => void) | null = null;
  private readonly terminatedPromise: Promise<void>;
  private readonly drain = (): void => this.runQueued();
  /**
   * A slot holds one task until it really ends, so each slot's pair of settle
   * handlers serves every task it runs: no closures per task.
   */
  private readonly settlers: [(value: unknown) => void, (error: unknown) => void][];

  constructor(maxWorkers?: number | { maxWorkers?: number }) {
    super();
    const requested = typeof maxWorkers === 'object' && maxWorkers !== null ? maxWorkers.maxWorkers : maxWorkers;
    this.maxWorkers = checkMaxWorkers(requested) ?? Math.min(32, availableParallelism() + 4);
    this.slots = new Array(this.maxWorkers).fill(null);
    this.freeSlots = Array.from({ length: this.maxWorkers }, (_, i) => this.maxWorkers - 1 - i);
    this.terminatedPromise = new Promise((resolve) => (this.terminated = resolve));
    this.settlers = this.slots.map((_, slot) => [
      (value: unknown) => this.finish(this.slots[slot]!, true, value),
      (error: unknown) => this.finish(this.slots[slot]!, false, error),
    ]);
  }

  submit<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Future<Awaited<R>> {
    this._checkOpen();
    if (typeof fn !== 'function') throw new TypeError(`submit() expects a function, got ${fn === null ? 'null' : typeof fn}`);
    const task = new AsyncTask<Awaited<R>>(this, fn as (...args: any[]) => unknown, args);
    this.enqueue(task, 1);
    return task;
  }

  /** @internal */
  enqueueMap(batch: MapBatch): void {
    this._checkOpen();
    if (typeof batch.fn !== 'function') throw new TypeError(`map() expects a function, got ${batch.fn === null ? 'null' : typeof batch.fn}`);
    this.enqueue(batch, batch.count);
  }

  /** @internal */
  cancelMap(batch: MapBatch): void {
    const count = batch.cancel();
    if (count === 0) return;
    this._counters.queued -= count;
    this._counters.cancelled += count;
    this.settleIdle();
  }

  private enqueue(entry: AsyncTask<any> | MapBatch, count: number): void {
    this.queue.push(entry);
    this._counters.queued += count;
    this.keepAlive.hold();
    if (!this.drainScheduled && this.freeSlots.length > 0) {
      // A task never starts inside submit(): the caller's code runs first.
      this.drainScheduled = true;
      queueMicrotask(this.drain);
    }
  }

  stats(): ExecutorStats {
    const c = this._counters;
    return {
      workers: this.maxWorkers,
      idleWorkers: this.freeSlots.length,
      queued: c.queued,
      running: c.running,
      completed: c.completed,
      failed: c.failed,
      cancelled: c.cancelled,
    };
  }

  /** @internal */
  cancelQueued(): boolean {
    this._counters.queued--;
    this._counters.cancelled++;
    this.settleIdle();
    return true;
  }

  /** @internal */
  interrupt(future: Future<any>): boolean {
    const task = future as AsyncTask<any>;
    if (task.slot < 0 || this.slots[task.slot] !== task) return false;
    abortTask(task, new CancelledError('the task was interrupted'));
    this._counters.running--;
    this._counters.cancelled++;
    this.settleIdle();
    return true;
  }

  protected _beginShutdown(cancelFutures: boolean, wait: boolean): void {
    if (cancelFutures) {
      for (const entry of this.queue.drain()) {
        if (entry instanceof MapBatch) {
          const count = entry.unstarted;
          this.cancelMap(entry);
          if (count > 0) entry.sink.batchCancelled(entry, count);
        } else entry.cancel();
      }
      if (!wait) {
        for (const task of this.slots) if (task?.running()) abortTask(task, new CancelledError('the executor was shut down'));
      }
    }
    this.runQueued();
  }

  protected _whenTerminated(): Promise<void> {
    return this.terminatedPromise;
  }

  private runQueued(): void {
    this.drainScheduled = false;
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.freeSlots.length > 0 && this.queue.length > 0) {
        const entry = this.queue.peek()!;
        if (entry instanceof MapBatch) {
          if (entry.unstarted === 0) {
            this.queue.shift();
            continue;
          }
          const task = new AsyncTask<any>(this, entry.fn, entry.take());
          if (entry.unstarted === 0) this.queue.shift();
          task.setRunningOrNotifyCancel();
          this.occupy(task);
          entry.sink.started(task, entry);
          this.start(task);
        } else {
          this.queue.shift();
          if (!entry.setRunningOrNotifyCancel()) continue;
          this.occupy(entry);
          this.start(entry);
        }
      }
    } finally {
      this.draining = false;
    }
    this.settleIdle();
  }

  private occupy(task: AsyncTask<any>): void {
    this._counters.queued--;
    this._counters.running++;
    task.slot = this.freeSlots.pop()!;
    this.slots[task.slot] = task;
  }

  private start(task: AsyncTask<any>): void {
    let value: unknown;
    try {
      value = runAsTask(task, task.fn!, task.args!);
    } catch (error) {
      this.finish(task, false, error);
      return;
    }
    if (value instanceof Promise || (value !== null && typeof (value as any)?.then === 'function')) {
      // One derived promise: measured cheaper than an async wrapper, whose await
      // costs extra promises while the AsyncLocalStorage hook is on.
      const promise = value instanceof Promise ? value : Promise.resolve(value);
      const [onValue, onError] = this.settlers[task.slot]!;
      promise.then(onValue, onError);
    } else {
      this.finish(task, true, value);
    }
  }

  private finish(task: AsyncTask<any>, ok: boolean, value: unknown): void {
    this.slots[task.slot] = null;
    this.freeSlots.push(task.slot);
    task.fn = null;
    task.args = null;
    if (task.running()) {
      // Not interrupted: the result is the future's. An interrupted task's late result is dropped.
      const c = this._counters;
      c.running--;
      c.completed++;
      if (ok) task.setResult(value);
      else {
        c.failed++;
        task.setException(value);
      }
    }
    if (!this.draining) this.runQueued();
  }

  /** Lets the process exit when nothing is queued or running, and ends a shutdown. */
  private settleIdle(): void {
    const c = this._counters;
    if (c.queued === 0 && c.running === 0) this.keepAlive.release();
    if (this._shutdown && this.freeSlots.length === this.maxWorkers && this.queue.length === 0) {
      this.keepAlive.release();
      this.terminated?.();
      this.terminated = null;
    }
  }
}
