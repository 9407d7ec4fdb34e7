/**
 * What a worker pool tracks of each task and each worker. A PoolWorker is
 * the only writer of its own state: the pool and the feeder ask it to send
 * tasks, and ask what an answer, a dropped message, a take-back or its exit
 * settles.
 *
 *   seq        the n-th task a worker is sent has seq n (InFlight: the sequence rule)
 *   head       the seq of its first unanswered task: the one it runs, if any
 *   take back  withdraw a task sent ahead that has not started (threads), to run elsewhere
 *   bare       a message that is one task's one argument, or one result (protocol.ts)
 *   retire     take a worker out of service: it is told to end, and is dying until it exits
 * @internal
 */
import { unwrapTransfer } from '../codec.js';
import type { TaskQueue } from '../task-queue.js';
import { Future, type FutureOwner } from '../future.js';
import { longTimeout, type LongTimeout } from '../long-timeout.js';
import { taskDef, type TaskDef } from '../tasks.js';
import { InFlight } from './inflight.js';
import { END_NOW, InterruptRule, SIGNAL_ONLY } from './interrupt.js';
import { DeferredTasks } from './deferred.js';
import { BATCH_TASKS, isBare, isChunk, keyId, type BatchMessage, type ResultMessage, type ToWorker } from './protocol.js';
import type { Transport } from './transport.js';

/** How long a task interrupted by its signal alone (it shares its worker) has to end before the worker drains (ms). */
const SHARED_INTERRUPT_GRACE = 1000;

/** A submitted call, as the pool tracks it: its future, what to run, and where. */
export class PoolTask<T> extends Future<T> {
  /** The worker it was sent to, until it is answered or taken back (set by that worker). */
  worker: PoolWorker | null = null;
  /** Its seq on that worker (set by the worker's InFlight), -1 while queued. */
  seq = -1;
  /** What the arguments move rather than copy (`transfer()`), already taken from the caller. */
  transfers: unknown[] | null = null;
  /** The `map` items it runs, for `stats()`: 1, or a chunk's length. */
  items = 1;
  /** A chunk cut short before an item that cannot be sent: that item's error, its outcome's failure. */
  cut: TypeError | null = null;
  /** How long it ran on its worker (ms), when its answer came alone and said so; else -1. */
  ranMs = -1;
  /** Its latency ticket (latency.ts), -1 when not timed. */ ticket = -1;
  constructor(
    owner: FutureOwner,
    /** The task id * 2, + 1 for a chunk of `map` items. */
    readonly key: number,
    public payload: unknown[] | null,
  ) {
    super();
    this._owner = owner;
  }

  /** Moves what a `transfer()` argument names out of the caller's hands at once, as `postMessage` would. */
  takeTransfer(arg: unknown): unknown {
    const list: unknown[] = [];
    const value = unwrapTransfer(arg, list);
    const moved = structuredClone({ value, list }, { transfer: list as any[] });
    (this.transfers ??= []).push(...moved.list);
    return moved.value;
  }
}

/** The pool's view of one worker. */
export class PoolWorker {
  /** The tasks sent and not answered. */
  readonly inflight = new InFlight<PoolTask<any>>();
  /** The tasks answered DEFERRED, awaiting in it (tasksPerWorker > 1). */
  readonly deferred = new DeferredTasks<PoolTask<any>>();
  /** The ids of the functions it has been sent. */
  private readonly known = new Set<number>();
  /** Tasks sent to it in its life, for `maxTasksPerWorker`. */
  private assigned = 0;
  private readonly interrupts = new InterruptRule();
  /** The key of the last task sent: a task of that function with one argument may travel bare (protocol.ts). */
  private lastKey = -1;
  /** When it last answered, or was handed work while idle: how long its current task has run, at least. */
  private progressAt = 0;
  private startupTimer: NodeJS.Timeout | null = null;
  private idleTimer: LongTimeout | null = null;
  private live = true;
  /** Set at its 'loaded' message: it did come up. */
  private hasLoaded = false;
  /** Set at its 'initialized' message, once its initializer has run: a worker that dies before could not start. */
  private hasInitialized = false;
  private why: string | undefined;
  /** @internal */ transport!: Transport;
  constructor(
    readonly index: number,
    /** Tasks it runs at once. */
    readonly perWorker = 1,
  ) {}

  /** Until it is retired or has exited. */
  get alive(): boolean {
    return this.live;
  }

  get loaded(): boolean {
    return this.hasLoaded;
  }

  get initialized(): boolean {
    return this.hasInitialized;
  }

  /** Why it is about to end or has ended (an uncaught error, out of memory, an interrupt), for its task's error. */
  get reason(): string | undefined {
    return this.why;
  }

  get lastProgress(): number {
    return this.progressAt;
  }

  /** Whether a task sent ahead can be taken back until it starts (threads). */
  get withdrawable(): boolean {
    return this.transport.states.withdrawable;
  }

  get probe(): (value: unknown) => unknown {
    return this.transport.probe;
  }

  /** The transport it was started with; `onStuck` if it has not reported within `ms`. */
  started(transport: Transport, ms: number, onStuck: () => void): void {
    this.transport = transport;
    this.startupTimer = setTimeout(() => {
      // Let a message that is already waiting be handled first.
      setImmediate(() => {
        if (!this.hasLoaded && this.live) onStuck();
      });
    }, ms);
    this.startupTimer.unref();
  }

  /** It could not be started: it never was alive. */
  failedToStart(): void {
    this.live = false;
  }

  /** Its 'loaded' or 'initialized' message. */
  reported(stage: 'loaded' | 'initialized', times: { headStarted(w: PoolWorker): void }): void {
    if (stage === 'initialized') {
      this.hasInitialized = true;
      // Its start-up was no work: a task handed to it meanwhile starts now, and its timeout, if any, counts from here.
      this.progressed();
      times.headStarted(this);
      this.inflight.at(0)?._control?.started();
    }
    this.hasLoaded = true;
    clearTimeout(this.startupTimer!);
  }

  /** Keeps the first reason given. */
  setReason(reason: string): void {
    this.why ??= reason;
  }

  /** Whether it may be sent tasks now: alive, and no interrupted task waits in it. */
  accepts(): boolean {
    return this.live && !this.interrupts.waiting && !this.deferred.draining && this.deferred.size < this.perWorker;
  }

  /** How many more tasks it may be sent, fed `depth` deep, and replaced after `maxTasks`. */
  room(depth: number, maxTasks: number): number {
    return Math.min(depth - this.inflight.length, maxTasks - this.assigned);
  }

  /** Whether it has sent all the tasks it may (`maxTasks`) and they are answered: time to replace it. */
  spent(maxTasks: number): boolean {
    return this.assigned >= maxTasks && this.inflight.length === 0 && this.deferred.size === 0;
  }

  /**
   * Sends it `tasks`, taken from the queue, in one message: each gets its seq
   * and counts as sent; one that cannot be withdrawn counts as running, as in
   * CPython's process pool. Returns null, or what refused the message: then
   * none of it reached the worker, and the tasks are pending again.
   */
  send(tasks: readonly PoolTask<any>[]): { error: unknown } | null {
    const states = this.transport.states;
    const wasIdle = this.inflight.length === 0;
    let defs: Array<[number, TaskDef]> | undefined;
    let transfers: unknown[] | undefined;
    const flat: BatchMessage = [0];
    for (const task of tasks) {
      const id = keyId(task.key);
      if (!this.known.has(id)) {
        this.known.add(id);
        (defs ??= []).push([id, taskDef(id)]);
      }
      if (task.transfers !== null) (transfers ??= []).push(...task.transfers);
      flat.push(task.key, task.payload);
      task.worker = this;
      this.inflight.add(task);
      states.sent(task.seq);
      // The payload stays until the task ends: a worker that dies before starting it hands it back.
      if (!states.withdrawable) task._setRunning();
    }
    if (wasIdle) this.progressAt = performance.now();
    this.assigned += tasks.length;
    this.stopIdleTimer();
    if (defs !== undefined) flat[0] = defs;
    let message: ToWorker = flat;
    const key = flat[flat.length - 2] as number;
    if (tasks.length === 1 && key === this.lastKey && defs === undefined && transfers === undefined && !isChunk(key)) {
      const args = flat[BATCH_TASKS + 1] as unknown[];
      if (args.length === 1 && isBare(args[0])) message = args[0];
    }
    try {
      this.transport.post(message, transfers ?? []);
    } catch (error) {
      if (defs !== undefined) for (const [id] of defs) this.known.delete(id);
      for (let i = 0; i < tasks.length; i++) {
        this.assigned--;
        this.pending(this.inflight.removeLast());
      }
      return { error };
    }
    this.lastKey = key;
    return null;
  }

  /** Posts a message other than tasks (an abort); a worker that is going away cannot be told anything. */
  tell(message: ToWorker): void {
    try {
      this.transport.post(message, []);
    } catch {
      // going away
    }
  }

  /** Its head task was answered, or its answer lost: that task (null if taken back), no longer held here; one answered `deferred` awaits here still (null). */
  answered(deferred = false): PoolTask<any> | null {
    const task = this.inflight.answer();
    if (task !== null && deferred) {
      this.deferred.add(task);
      task._setRunning();
      return null;
    }
    // A finished task must not hold its worker: exited workers have to be collectable.
    if (task !== null) task.worker = null;
    return task;
  }

  /** Its task of `seq` that is not answered yet, or awaits in it. */
  taskOf(seq: number): PoolTask<any> | null {
    const i = seq - this.inflight.head;
    return (i >= 0 ? this.inflight.at(i) : this.deferred.get(seq)) ?? null;
  }

  /** Its answers are read up to here: its head (if any) starts now. An idle worker's starts when it is fed (`send`). */
  progressed(): void {
    if (this.inflight.length > 0) this.progressAt = performance.now();
  }

  /** Whether the task may have started running. */
  mayHaveStarted(task: PoolTask<any>): boolean {
    return this.transport.states.mayHaveStarted(task.seq, task.seq === this.inflight.head);
  }

  /** Withdraws a task it has not started; false when it has started or may have. */
  withdraw(task: PoolTask<any>): boolean {
    return this.transport.states.withdraw(task.seq);
  }

  /** Whether `task` is the one it runs now. */
  runs(task: PoolTask<any>): boolean {
    if (this.deferred.get(task.seq) === task) return true;
    return task.seq === this.inflight.head && this.transport.states.mayHaveStarted(task.seq, true);
  }

  /** Interrupts one of its tasks (interrupt.ts): what the pool must do. */
  interrupt(task: PoolTask<any>): number {
    if (this.perWorker > 1 && this.deferred.shares(task, this.inflight)) {
      this.tell({ abort: true, seq: task.seq });
      return SIGNAL_ONLY;
    }
    // One awaiting here alone is past the head the interrupt rule reads: nothing else runs, so the worker ends now.
    const how = this.deferred.get(task.seq) === task ? END_NOW : this.interrupts.request(this.transport.states, task.seq, this.inflight.head);
    if (how === END_NOW) this.setReason('ended to interrupt its task');
    return how;
  }

  /** A second on, if `task` (interrupted by its signal alone) still runs here, it takes no more work: what it has not started goes back to `queue`, and `check` sees whether it can end. */
  watchInterrupted(task: PoolTask<any>, queue: TaskQueue<PoolTask<any>>, check: () => void): void {
    this.deferred.watch(task, SHARED_INTERRUPT_GRACE, this.inflight, () => {
      if (!this.live) return;
      this.takeBack(queue);
      check();
    });
  }

  /** Whether it takes no more work and has only interrupted tasks left: time to end it. */
  drained(): boolean {
    if (!this.live || !this.deferred.drained(this.inflight.length)) return false;
    this.setReason('ended to interrupt its task');
    return true;
  }

  /** Whether it must be ended now for an interrupted task that is the one it runs. */
  interruptDue(): boolean {
    if (!this.live || !this.interrupts.due(this.inflight.head, this.inflight.length)) return false;
    this.setReason('ended to interrupt its task');
    return true;
  }

  /** Whether results it holds are mirrored (threads) while it has two tasks or more out: only then may a result wait. */
  mayHoldResults(): boolean {
    return this.transport.mirror !== null && this.inflight.length >= 2;
  }

  /** The results it has held for a tick of the pool's clock, taken from the mirror; null if none. */
  takeHeld(): ResultMessage | null {
    return this.transport.mirror?.poll(this.inflight.head) ?? null;
  }

  /** What it held when it died, taken from the mirror: those tasks completed. */
  takeLeft(): ResultMessage | null {
    return this.transport.mirror?.takeAll(this.inflight.head) ?? null;
  }

  /** Retires it after `ms` idle (finite), unless it is fed first. */
  idleFor(ms: number, retire: () => void): void {
    this.idleTimer = longTimeout(() => this.inflight.length === 0 && this.deferred.size === 0 && retire(), ms);
    this.idleTimer.unref();
  }

  /** Takes it out of service: it is told to end; with `force`, its tasks not started go back to the front of `queue`. */
  retire(force: boolean, queue: TaskQueue<PoolTask<any>>): void {
    this.live = false;
    this.stopTimers();
    if (force) this.takeBack(queue);
    this.transport.terminate();
  }

  /** It has exited: whether it was alive until now (not retired). */
  exited(): boolean {
    const wasAlive = this.live;
    this.live = false;
    this.stopTimers();
    return wasAlive;
  }

  /** Takes back every task it has not started, to the front of `queue`, so that another worker runs it. */
  takeBack(queue: TaskQueue<PoolTask<any>>): void {
    const states = this.transport.states;
    const back: PoolTask<any>[] = [];
    for (let i = 0; i < this.inflight.length; i++) {
      const task = this.inflight.at(i);
      if (task == null || task.done()) continue;
      if (states.withdraw(task.seq)) {
        this.inflight.clear(i);
        this.pending(task);
        back.push(task);
      }
    }
    for (let k = back.length - 1; k >= 0; k--) queue.unshift(back[k]!);
  }

  /**
   * Empties a worker that has exited: each task it may have started goes to
   * `failStarted`, in order; those it never started go back to the front of `queue`.
   */
  sortOutAfterExit(queue: TaskQueue<PoolTask<any>>, failStarted: (task: PoolTask<any>) => void): void {
    const states = this.transport.states;
    // Those that awaited in it had started first.
    for (const task of this.deferred.takeAll()) {
      task.worker = null;
      if (!task.done()) failStarted(task);
    }
    const requeue: PoolTask<any>[] = [];
    for (let first = true; this.inflight.length > 0; first = false) {
      const seq = this.inflight.head;
      const task = this.answered();
      if (task === null || task.done()) continue;
      // A worker that never came up ran nothing. A child ended to interrupt an earlier task can have
      // started a later one only in the instant after that task answered: it runs again elsewhere.
      if (this.hasLoaded && !this.interrupts.after(seq) && states.mayHaveStarted(seq, first)) {
        failStarted(task);
      } else {
        this.pending(task);
        requeue.push(task);
      }
    }
    for (let k = requeue.length - 1; k >= 0; k--) queue.unshift(requeue[k]!);
  }

  /** A task of its own is pending again, to go to a worker anew. */
  private pending(task: PoolTask<any>): void {
    task.worker = null;
    task.seq = -1;
    task._setPending();
  }

  private stopIdleTimer(): void {
    if (this.idleTimer !== null) {
      this.idleTimer.clear();
      this.idleTimer = null;
    }
  }

  private stopTimers(): void {
    this.stopIdleTimer();
    clearTimeout(this.startupTimer!);
  }
}
