import { availableParallelism } from 'node:os';
import { Executor, type ExecutorStats } from './executor.js';
import { Future, type FutureOwner } from './future.js';
import { TaskQueue } from './task-queue.js';
import { Retries, TaskControl, priorityOf, type TaskSettings } from './task-options.js';
import { microtask } from './microtask.js';
import { MapBatch } from './map/batch.js';
import { abortTask, currentTask, interruptedReason, runAsTask, shutDownReason, type TaskContext } from './task-signal.js';
import { checkFunction, checkMaxWorkers, checkOptions, checkRateLimit, promiseOf } from './checks.js';
import { longTimeout, type LongTimeout } from './long-timeout.js';
import { StartWindow } from './rate-limit.js';
import { TaskTrace, TraceSources, tracing } from './tracing.js';
import { addRunning, type WorkerView } from './worker-view.js';

/** A submitted call: its future, and what `taskSignal()` sees while it runs. */
class AsyncTask<T> extends Future<T> implements TaskContext {
  abort: TaskContext['abort'] = null;
  /** Its place in the executor's slots while it runs. */
  slot = -1;
  /** Its latency ticket (latency.ts), -1 when not timed. */
  ticket = -1;
  constructor(
    owner: FutureOwner,
    public fn: ((...args: any[]) => unknown) | null,
    /** The one argument, or with `spread` an array of them: most calls take one, and an array per queued call measurably slows a big queue. */
    public args: unknown,
    readonly spread: boolean,
  ) {
    super();
    this._owner = owner;
  }

  /** @internal `reportProgress()` in the task. */
  report(value: unknown): void {
    this._reportProgress(value);
  }
}

/** A `map` item while it runs: what `taskSignal()` sees, and where its outcome goes. */
class MapItem implements TaskContext {
  abort: TaskContext['abort'] = null;
  slot = -1;
  ticket = -1;
  constructor(
    readonly owner: AsyncPoolExecutor,
    readonly batch: MapBatch,
    readonly index: number,
  ) {}
}

type Running = AsyncTask<any> | MapItem;

/**
 * Runs tasks on this thread's event loop, at most `maxWorkers` at a time: the
 * executor for I/O-bound work. Any function works, closures included.
 */
export class AsyncPoolExecutor extends Executor {
  /** The most tasks that run at once. */
  readonly maxWorkers: number;
  /** Submitted tasks, and `map` batches: one entry for many items, no future per item. */
  private readonly queue = new TaskQueue<AsyncTask<any> | MapBatch>(priorityOf);
  /** Tasks waiting for another try (`withOptions({ retries })`): pending, in no queue. */
  private readonly retries = new Retries<AsyncTask<any>>((task) => {
    this.queue.push(task);
    this.runQueued();
  });
  /** Running tasks by slot, interrupted ones included until they really end; slots are made as needed. */
  private readonly slots: (Running | null)[] = [];
  private readonly freeSlots: number[] = [];
  /** When each slot's interrupted task, still running (it ignores its signal), was interrupted: busy time until it ends. */
  private readonly interruptedAt = new Map<number, number>();
  /** What its tracing contexts share. */
  private readonly traceSources = new TraceSources(this, 'async');
  private occupied = 0;
  private looping = false;
  private runScheduled = false;
  /** Tasks (and `map` items) running, interrupted ones not included. */
  private running = 0;
  private readonly runQueuedNow = (): void => this.runQueued();
  /**
   * A slot holds one task until it really ends, so each slot's pair of settle
   * handlers serves every task it runs: no closures per task.
   */
  private readonly onValue: ((value: unknown) => void)[] = [];
  private readonly onError: ((error: unknown) => void)[] = [];
  /** The recent starts, with a `rateLimit`. */
  private readonly window: StartWindow | null;
  /** Wakes the queue once the window lets the next task start. */
  private rateTimer: LongTimeout | null = null;

  /**
   * `new AsyncPoolExecutor(10)` or `new AsyncPoolExecutor({ maxWorkers: 10, rateLimit: { max: 100, interval: 1000 } })`.
   * `maxWorkers` defaults to `Math.min(32, availableParallelism() + 4)`, as Python's: a `RangeError` below 1
   * (`maxWorkers must be greater than 0`), a `TypeError` for a non-number. `rateLimit`: at most `max` tasks start
   * in any `interval` ms (a sliding window; each `map` item counts); default none; a `TypeError` for what is not
   * `{ max, interval }` of numbers, a `RangeError` for `max` not an integer >= 1 or `interval` not finite and > 0.
   */
  constructor(maxWorkers?: number | { maxWorkers?: number; rateLimit?: { max: number; interval: number } }) {
    super();
    const options = typeof maxWorkers === 'object' && maxWorkers !== null ? checkOptions<{ maxWorkers?: number; rateLimit?: unknown }>(maxWorkers, 'new AsyncPoolExecutor()', ['maxWorkers', 'rateLimit']) : { maxWorkers };
    this.maxWorkers = checkMaxWorkers(options.maxWorkers) ?? Math.min(32, availableParallelism() + 4);
    const rateLimit = checkRateLimit(options.rateLimit, 'new AsyncPoolExecutor()');
    this.window = rateLimit === undefined ? null : new StartWindow(rateLimit.max, rateLimit.interval);
    this._counters.latency.workers(this.maxWorkers, performance.now());
  }

  submit<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Future<Awaited<R>> {
    this._checkOpen();
    checkFunction(fn, 'submit()');
    const task =
      args.length === 1
        ? new AsyncTask<Awaited<R>>(this, fn as (...args: any[]) => unknown, args[0], false)
        : new AsyncTask<Awaited<R>>(this, fn as (...args: any[]) => unknown, args, true);
    this.enqueueTask(task);
    return task;
  }

  /** @internal */
  override _submitWith(settings: TaskSettings, fn: (...args: any[]) => unknown, args: unknown[]): Future<any> {
    this._checkOpen();
    checkFunction(fn, 'submit()');
    const task = new AsyncTask<any>(this, fn, args, true);
    task._control = new TaskControl(settings, task);
    this.enqueueTask(task);
    return task;
  }

  /** Queues a task, timed if sampled (latency.ts); traced if the channel has a subscriber (tracing.ts). */
  private enqueueTask(task: AsyncTask<any>): void {
    if (!tracing()) {
      task.ticket = this._counters.latency.queued();
      this.enqueue(task, 1);
      return;
    }
    const trace = (task._trace = new TaskTrace(this.traceSources.of(task.fn), task, performance.now()));
    task.ticket = this._counters.latency.queued();
    trace.submitted();
    this.enqueue(task, 1);
    trace.submitEnded();
  }

  /** @internal `map` queues its items here in batches, with no future per item. */
  queueBatch(batch: MapBatch): void {
    this._checkOpen();
    batch.queuedAt = performance.now();
    if (tracing()) {
      const traces = (batch.traces = new Array<TaskTrace>(batch.count));
      const source = this.traceSources.of(batch.fn);
      for (let i = 0; i < batch.count; i++) {
        // No future per item: a map item's context has none.
        const trace = (traces[i] = new TaskTrace(source, undefined, batch.queuedAt));
        trace.submitted();
        trace.submitEnded();
      }
    }
    this.enqueue(batch, batch.count);
  }

  /** @internal */
  cancelBatch(batch: MapBatch): void {
    const count = batch.cancel();
    if (count === 0) return;
    this._counters.pending -= count;
    this._counters.cancelled += count;
    this.checkIdle();
  }

  private enqueue(entry: AsyncTask<any> | MapBatch, count: number): void {
    this.queue.push(entry);
    this._counters.pending += count;
    this._keepAlive.hold();
    if (!this.runScheduled && this.occupied < this.maxWorkers) {
      // A task never starts inside submit(): the caller's code runs first.
      this.runScheduled = true;
      microtask(this.runQueuedNow);
    }
  }

  stats(): ExecutorStats {
    const now = performance.now();
    let runningMs = 0;
    for (const entry of this.slots) if (entry !== null) runningMs += this._counters.latency.runningIn(entry.ticket, now);
    const from = this._counters.latency.windowStart(now);
    for (const at of this.interruptedAt.values()) runningMs += now - Math.max(from, at);
    return this._counters.snapshot(this.maxWorkers, this.maxWorkers - this.occupied, this.running, runningMs);
  }

  /**
   * @internal For the dashboard: the slots made so far, by the number the tracing channel gives as a task's
   * `worker`, idle ones included (the channel tells of busy ones only, as their tasks end).
   */
  _workerView(): WorkerView[] {
    return this.slots.map((entry, id) => {
      const running: TaskTrace[] = [];
      if (entry !== null) addRunning(running, entry instanceof MapItem ? entry.batch.traces?.[entry.index] : entry._trace);
      return { id, busy: entry !== null, memory: undefined, running };
    });
  }

  /** @internal */
  cancelQueued(future: Future<any>): boolean {
    this.retries.delete(future as AsyncTask<any>);
    this._counters.pending--;
    this._counters.cancelled++;
    this.checkIdle();
    return true;
  }

  /** @internal */
  interrupt(future: Future<any>): boolean {
    const task = future as AsyncTask<any>;
    if (task.slot < 0 || this.slots[task.slot] !== task) return false;
    abortTask(task, interruptedReason());
    this.interruptedAt.set(task.slot, performance.now());
    this.running--;
    this._counters.pending--;
    this._counters.interrupted(task, 1, task.ticket, true);
    this.checkIdle();
    return true;
  }

  /** @internal */
  protected _beginShutdown(cancelFutures: boolean, wait: boolean): void {
    if (cancelFutures) {
      for (const entry of this.queue.takeAll()) {
        if (entry instanceof MapBatch) {
          this.cancelBatch(entry);
          entry.sink.batchCancelled(entry);
        } else entry.cancel();
      }
      for (const task of this.retries.takeAll()) task.cancel();
      if (!wait) {
        for (const entry of this.slots) {
          // An interrupted task stays in its slot until it ends; its signal is already aborted.
          if (entry instanceof MapItem || entry?.running()) abortTask(entry!, shutDownReason());
        }
      }
    }
    this.runQueued();
  }

  /** @internal */
  protected override _runsCurrentTask(): boolean {
    const task = currentTask();
    return (task instanceof AsyncTask && task._owner === this) || (task instanceof MapItem && task.owner === this);
  }

  private runQueued(): void {
    this.runScheduled = false;
    if (this.looping) return;
    this.looping = true;
    try {
      while (this.occupied < this.maxWorkers && this.queue.length > 0) {
        const entry = this.queue.peek()!;
        if (entry instanceof MapBatch) {
          if (entry.unstarted === 0) {
            this.queue.shift();
            continue;
          }
          if (this.window !== null && !this.mayStart()) break;
          const item = new MapItem(this, entry, entry.next);
          const args = entry.take();
          if (entry.unstarted === 0) this.queue.shift();
          this.occupy(item);
          this.itemStarted(item);
          this.start(item, entry.fn, args);
        } else {
          // A cancelled task takes no start from the window.
          if (this.window !== null && !entry.done() && !this.mayStart()) break;
          this.queue.shift();
          if (!entry.setRunningOrNotifyCancel()) continue;
          this.occupy(entry);
          if (entry.ticket >= 0 || entry._trace !== null) {
            const now = performance.now();
            if (entry.ticket >= 0) this._counters.latency.started(entry.ticket, now);
            entry._trace?.started(now, entry.slot);
          }
          const { fn, args } = entry;
          // Kept for another try where the task has options (retries).
          if (entry._control === null) entry.fn = entry.args = null;
          else entry._control.started();
          this.start(entry, fn!, entry.spread ? (args as unknown[]) : [args]);
        }
      }
    } finally {
      this.looping = false;
    }
    this.checkIdle();
  }

  /** Whether the rate limit lets a task start now (it then counts); if not, the queue is woken when it does. */
  private mayStart(): boolean {
    const now = performance.now();
    const wait = this.window!.wait(now);
    if (wait <= 0) {
      this.window!.record(now);
      return true;
    }
    if (this.rateTimer === null) {
      this.rateTimer = longTimeout(this.rateWake, wait);
      // Queued work holds the process (keepAlive); this timer alone must not.
      this.rateTimer.unref();
    }
    return false;
  }

  /** A `map` item starts: timed if sampled, as if submitted when its batch was; traced with its batch. */
  private itemStarted(item: MapItem): void {
    const l = this._counters.latency;
    const traces = item.batch.traces;
    if (traces === null) {
      item.ticket = l.queued();
      if (item.ticket >= 0) l.startedNow(item.ticket, item.batch.queuedAt);
      return;
    }
    const now = performance.now();
    item.ticket = l.ticket(item.batch.queuedAt);
    l.started(item.ticket, now);
    traces[item.index]!.started(now, item.slot);
  }

  private readonly rateWake = (): void => {
    this.rateTimer = null;
    this.runQueued();
  };

  private occupy(entry: Running): void {
    this.running++;
    this.occupied++;
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.slots.length;
      const at = slot;
      this.slots.push(null);
      this.onValue.push((value: unknown) => this.finish(this.slots[at]!, true, value));
      this.onError.push((error: unknown) => this.finish(this.slots[at]!, false, error));
    }
    entry.slot = slot;
    this.slots[slot] = entry;
  }

  private start(entry: Running, fn: (...args: any[]) => unknown, args: unknown[]): void {
    let value: unknown;
    try {
      value = runAsTask(entry, fn, args);
    } catch (error) {
      this.finish(entry, false, error);
      return;
    }
    const promise = promiseOf(value);
    if (promise !== null) {
      // One derived promise: measured cheaper than an async wrapper, whose await
      // costs extra promises while the AsyncLocalStorage hook is on.
      promise.then(this.onValue[entry.slot], this.onError[entry.slot]);
    } else {
      this.finish(entry, true, value);
    }
  }

  private finish(entry: Running, ok: boolean, value: unknown): void {
    this.slots[entry.slot] = null;
    this.freeSlots.push(entry.slot);
    this.occupied--;
    // An interrupted task's late result is dropped: its future is already cancelled.
    if (entry instanceof MapItem || entry.running()) {
      this.running--;
      if (!ok && !(entry instanceof MapItem) && this.retries.schedule(entry)) {
        entry.abort = null; // the next try has a signal of its own
        if (!this.looping) this.runQueued();
        return;
      }
      const c = this._counters;
      if (entry.ticket >= 0) c.latency.ended(entry.ticket, performance.now());
      c.pending--;
      c.completed++;
      if (!ok) c.failed++;
      if (entry instanceof MapItem) entry.batch.settle(entry.index, ok, value);
      else if (ok) entry.setResult(value);
      else entry.setException(value);
    } else {
      const at = this.interruptedAt.get(entry.slot);
      this.interruptedAt.delete(entry.slot);
      if (at !== undefined) this._counters.latency.busy(at, performance.now(), 1);
    }
    if (!this.looping) this.runQueued();
  }

  /** Lets the process exit when nothing is queued or running, and ends a shutdown. */
  private checkIdle(): void {
    if (this._counters.pending === 0) this._keepAlive.release();
    if (this._shutdown && this.occupied === 0 && this.queue.length === 0 && this.retries.size === 0) {
      this._keepAlive.release();
      this._terminated();
    }
  }
}
