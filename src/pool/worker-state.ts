/**
 * What a worker pool tracks of each task and each worker, and how it talks
 * to a worker whatever that runs on.
 * @internal
 */
import { unwrapTransfer } from '../codec.js';
import { Deque } from '../deque.js';
import { Future, type FutureOwner } from '../future.js';
import type { LongTimeout } from '../long-timeout.js';
import type { FromWorker, ToWorker } from './protocol.js';
import type { TaskStates } from './task-states.js';
import type { HeldResults } from './held-results.js';

/** How the pool talks to one worker, whatever it runs on. @internal */
export interface Transport {
  readonly states: TaskStates;
  /** The results the worker holds, where it shares memory (threads). */
  readonly held: HeldResults | null;
  post(message: ToWorker, transferList: unknown[]): void;
  /** Throws what `post` would for a value it cannot send: asked only once a message was refused. */
  probe(value: unknown): unknown;
  terminate(): void;
}

/** A submitted call, as the pool tracks it: its future, what to run, and where. */
export class PoolTask<T> extends Future<T> {
  worker: PoolWorker | null = null;
  seq = -1;
  /** What the arguments move rather than copy (`transfer()`), already taken from the caller. */
  transfers: unknown[] | null = null;
  /** The `map` items it runs, for `stats()`: 1, or a chunk's length. */
  items = 1;
  /** A chunk cut short before an item that cannot be sent: that item's error, its outcome's failure. */
  cut: TypeError | null = null;
  /** How long it ran on its worker (ms), when its answer came alone and said so; else -1. */
  ranMs = -1;
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

/** What a transport reports back to the pool about its worker. @internal */
export interface WorkerHooks {
  readonly index: number;
  onMessage(message: FromWorker): void;
  /** The worker is gone and every message it sent has been handled. */
  onExit(code: number | null, signal?: string | null): void;
  /** The channel dropped a message from the worker that it could not rebuild. */
  onDropped(error: unknown): void;
  /** Why the worker is about to end (an uncaught error, out of memory), for the error its task gets. */
  setReason(reason: string): void;
}

/** The pool's view of one worker. */
export class PoolWorker {
  /** Tasks sent and not answered, in seq order; null where a task was taken back. */
  readonly inflight = new Deque<PoolTask<any> | null>();
  readonly known = new Set<number>();
  /** The seq of the next task sent, and of the first in `inflight`. */
  seq = 0;
  headSeq = 0;
  assigned = 0;
  /** Set once the worker has reported back: it did come up. */
  cameUp = false;
  /** Set once its initializer has run: a worker that dies before could not start. */
  ready = false;
  /** A task sent ahead to a child that was interrupted: the child is ended once it is that task's turn. */
  interruptSeq = -1;
  /** The key of the last task sent: a lone task of that function may travel bare (protocol.ts). */
  lastKey = -1;
  /** When it last answered, or was handed work while idle: how long its current task has run, at least. */
  lastProgress = 0;
  startupTimer: NodeJS.Timeout | null = null;
  alive = true;
  idleTimer: LongTimeout | null = null;
  reason: string | undefined;
  transport!: Transport;
  constructor(readonly index: number) {}

  /** Takes back every task it has not started, to the front of `queue`, so that another worker runs it. */
  takeBack(queue: Deque<PoolTask<any>>): void {
    const states = this.transport.states;
    const back: PoolTask<any>[] = [];
    for (let i = 0; i < this.inflight.length; i++) {
      const task = this.inflight.at(i);
      if (task == null || task.done()) continue;
      if (states.withdraw(task.seq)) {
        this.inflight.set(i, null);
        task.worker = null;
        task.seq = -1;
        task._setPending();
        back.push(task);
      }
    }
    for (let k = back.length - 1; k >= 0; k--) queue.unshift(back[k]!);
  }

  /** Undoes the sending of its last task, part of a batch that could not be sent: the task is pending again. */
  unsendLast(): PoolTask<any> {
    this.seq--;
    this.assigned--;
    const task = this.inflight.pop() as PoolTask<any>;
    task.worker = null;
    task.seq = -1;
    task._setPending();
    return task;
  }

  /**
   * Empties a worker that has exited: each task it may have started goes to
   * `failStarted`, in order; those it never started go back to the front of `queue`.
   */
  sortOutAfterExit(queue: Deque<PoolTask<any>>, failStarted: (task: PoolTask<any>) => void): void {
    const states = this.transport.states;
    const requeue: PoolTask<any>[] = [];
    for (let first = true; this.inflight.length > 0; first = false) {
      const seq = this.headSeq++;
      const task = this.inflight.shift();
      if (task == null) continue;
      task.worker = null;
      if (task.done()) continue;
      // A worker that never came up ran nothing. A child ended to interrupt an earlier task can have
      // started a later one only in the instant after that task answered: it runs again elsewhere.
      const afterInterrupted = this.interruptSeq >= 0 && seq > this.interruptSeq;
      if (this.cameUp && !afterInterrupted && states.mayHaveStarted(seq, first)) {
        failStarted(task);
      } else {
        task.seq = -1;
        task._setPending();
        requeue.push(task);
      }
    }
    for (let k = requeue.length - 1; k >= 0; k--) queue.unshift(requeue[k]!);
  }
}
