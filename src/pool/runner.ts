/**
 * The worker side of a pool: runs the tasks it is sent, one at a time and in
 * order, and sends back every result as soon as its task ends, holding it
 * back only while calls known to be quick run after it (see protocol.ts).
 * Transport-agnostic, so threads and child processes share it.
 */
import { isLoadStop } from '../bundle.js';
import { withHint } from './error-hints.js';
import { isThenable } from '../checks.js';
import { encodeError, pack, unwrapTransfer } from '../codec.js';
import { Deque } from '../deque.js';
import { runCall, type ChunkOutcome } from '../chunk.js';
import { loadTask, type TaskDef } from '../tasks.js';
import { abortTask, currentTask, interruptedReason, shutDownReason, type TaskContext } from '../task-signal.js';
import { Outbox } from './outbox.js';
import { Deferrals, RunContext } from './deferrals.js';
import { BATCH_TASKS, DEFERRED, ENCODED, ERROR, OK, PACKED, SKIPPED, isChunk, keyId, type FromWorker, type ToWorker, type WorkerConfig } from './protocol.js';
import { RunnerStates } from './task-states.js';

type AnyFunction = (...args: any[]) => unknown;

/** How a runner talks back: `send` posts a message; `exit` ends the worker once what was sent is on its way. */
export interface RunnerPort {
  send(message: FromWorker, transferList: unknown[]): void;
  exit(code: number): void;
  /**
   * Where a message is still being written after `send` returns (a child's
   * IPC): true when one is, and `resume` is called once all have left; false
   * when all have. Absent where a sent message is safe at once (threads).
   */
  whenSent?(resume: () => void): boolean;
  /** Whether results may cross as themselves (threads: shared memory, ports, transfers) rather than only as bytes. */
  readonly shares: boolean;
}

/** A call is quick when it has lately taken less than this (ms): only then may a result wait behind it. */
const QUICK_MS = 1;
/** What a call never seen is taken to last (ms); each later call halves the estimate or raises it to its own time. */
const UNSEEN_MS = 1000;

export class TaskRunner {
  private readonly fns = new Map<number, AnyFunction | Promise<AnyFunction>>();
  private readonly sources = new Set<number>();
  private readonly defs = new Map<number, TaskDef>();
  private readonly queue = new Deque<unknown>();
  /** Per task key: a decaying upper estimate of how long a call takes (ms). */
  private readonly expected: number[] = [];
  /** The seq of the next task to run. */
  private seq = 0;
  private readonly states: RunnerStates;
  private readonly outbox: Outbox;
  /** The key of the last task received: a bare task travels without it. */
  private lastKey = -1;
  /** When the last task ended: a held result's clock, read once per task. */
  private endedAt = 0;
  private busy = true; // until the initializer has run
  private stopped = false;
  /** The executor was shut down with its running tasks aborted: so is every task that starts here from now on. */
  private shutDown = false;
  private current: TaskContext | null = null;
  /** The seq of the running task, so that an abort meant for one task never reaches the next. */
  private currentSeq = -1;
  /** The tasks that await here while others run (tasksPerWorker > 1); null where one runs at a time. */
  private readonly deferrals: Deferrals | null;
  private readonly sendProgress = (seq: number, value: unknown): void => {
    if (!this.stopped) this.outbox.progress(seq, value, this.port.shares);
  };
  private readonly resumeNow = (): void => {
    this.busy = false;
    this.runQueued();
  };

  constructor(
    private readonly port: RunnerPort,
    private readonly config: WorkerConfig,
  ) {
    this.states = new RunnerStates(config.states);
    this.outbox = new Outbox((message, transfers) => port.send(message, transfers), config.mirror);
    this.deferrals = config.tasksPerWorker > 1 ? new Deferrals(config.tasksPerWorker) : null;
    process.on('uncaughtException', (error) => this.stray(error));
    const exit = process.exit;
    // A task that ends its worker must not take the results of the tasks before it along.
    process.exit = ((code?: number) => {
      this.outbox.flush();
      return exit.call(process, code);
    }) as typeof process.exit;
    void this.initialize();
  }

  receive(message: ToWorker): void {
    if (typeof message !== 'object') {
      // A bare task: of the function sent last, its one argument as itself.
      this.queue.push(this.lastKey);
      this.queue.push([message]);
      if (!this.busy) this.runQueued();
      return;
    }
    if (!Array.isArray(message)) {
      // A shutdown also aborts the tasks already sent here that have yet to start: in a child they count as running.
      if (message.seq === undefined) {
        this.shutDown = true;
        this.deferrals?.abortAll(shutDownReason());
      } else this.deferrals?.abort(message.seq, this.seq, interruptedReason());
      if (this.current === null) return;
      if (message.seq === undefined) abortTask(this.current, shutDownReason());
      else if (message.seq === this.currentSeq) abortTask(this.current, interruptedReason());
      return;
    }
    const defs = message[0] as Array<[number, TaskDef]> | 0;
    if (defs !== 0) {
      for (const [id, def] of defs) {
        this.defs.set(id, def);
        if ('source' in def) this.sources.add(id);
      }
    }
    for (let i = BATCH_TASKS; i < message.length; i++) this.queue.push(message[i]);
    this.lastKey = message[message.length - 2] as number;
    if (!this.busy) this.runQueued();
  }

  private async initialize(): Promise<void> {
    // Up as soon as the module has loaded; the initializer may take as long as it needs.
    this.port.send({ ready: 'loaded' }, []);
    const { initializer, initargs } = this.config;
    if (initializer !== null) {
      try {
        const fn = await loadTask(initializer);
        await fn(...initargs);
      } catch (error) {
        this.stopped = true;
        this.port.send({ initFailed: encodeError(error) }, []);
        return;
      }
    }
    this.port.send({ ready: 'initialized' }, []);
    this.busy = false;
    this.runQueued();
  }

  /** Runs queued tasks until the queue is empty or an async task is in progress. */
  private runQueued(): void {
    while (this.queue.length > 0 && !this.stopped) {
      if (this.port.whenSent !== undefined && this.waitSent()) return;
      const key = this.queue.shift() as number;
      const payload = this.queue.shift() as unknown[];
      const seq = this.seq++;
      // Held results are sent, or mirrored, before the next task is claimed: once it is, the pool
      // may end this worker to interrupt it. A result waits only behind a call known to be quick,
      // and only where the pool can take it from shared memory should that call prove long; never
      // in a child process, where the pool learns from it that the next task has started.
      this.outbox.beforeCall((this.expected[key] ?? UNSEEN_MS) < QUICK_MS);
      // Claimed before its function loads: a task whose module ends the worker is that task's failure.
      if (!this.states.start(seq) || this.deferrals?.skips(seq) === true) {
        this.outbox.hold(seq, SKIPPED, undefined, this.endedAt);
        continue;
      }
      const id = keyId(key);
      let fn = this.fns.get(id);
      if (fn === undefined) {
        fn = this.load(id);
        this.fns.set(id, fn);
      }
      if (fn instanceof Promise) {
        this.busy = true;
        this.current = null;
        this.outbox.flush();
        fn.then(
          (loaded) => this.fns.set(id, loaded),
          (error) => this.fns.set(id, () => Promise.reject(error)),
        ).finally(() => {
          this.busy = false;
          if (!this.run(seq, key, this.fns.get(id) as AnyFunction, payload)) this.runQueued();
        });
        return;
      }
      if (this.run(seq, key, fn, payload)) return;
    }
    this.current = null;
    this.outbox.flush();
  }

  /**
   * Sends what is held and waits, where sending takes a while, until it has
   * all left: the next task may end the worker (process.exit, a crash), and a
   * result still on its way would go down with it. True while it waits.
   */
  private waitSent(): boolean {
    this.outbox.flush();
    if (!this.port.whenSent!(this.resumeNow)) return false;
    this.busy = true;
    this.current = null;
    return true;
  }

  /** Runs one task; true when it goes on asynchronously (the runner is then busy until it settles). */
  private run(seq: number, key: number, fn: AnyFunction, payload: unknown[]): boolean {
    const started = performance.now();
    const context = new RunContext(this.sendProgress, seq);
    if (this.shutDown) abortTask(context, shutDownReason());
    this.current = context;
    this.currentSeq = seq;
    let value: unknown;
    let ok = true;
    try {
      value = runCall(context, fn, payload, isChunk(key));
    } catch (error) {
      ok = false;
      value = error;
    }
    if (ok && isThenable(value)) {
      if (this.deferrals !== null) return this.defer(key, context, value as PromiseLike<unknown>, started);
      this.busy = true;
      this.outbox.flushSoon();
      Promise.resolve(value as PromiseLike<unknown>).then(
        (result) => this.afterAsync(seq, key, true, result, started),
        (error) => this.afterAsync(seq, key, false, error, started),
      );
      return true;
    }
    this.complete(seq, key, ok, value, started);
    return false;
  }

  /**
   * Answers a task that returned a promise as DEFERRED, so that the next ones
   * start while it awaits; its result goes when it settles. True when the
   * worker now runs as many tasks as it may: it takes the next once one ends.
   */
  private defer(key: number, context: RunContext, promise: PromiseLike<unknown>, started: number): boolean {
    const seq = context.seq;
    this.current = null;
    // Its ring slot is given up: later tasks reuse it, and the pool tracks this one apart.
    if (!this.states.finish(seq)) {
      this.stopped = this.states.withdrawn(seq);
      return true;
    }
    const full = this.deferrals!.add(context);
    // An error its callbacks throw fails this task alone: the worker runs others.
    context.stray = (error) => this.late(key, seq, false, error, started);
    this.outbox.hold(seq, DEFERRED, undefined, performance.now());
    this.outbox.flush();
    Promise.resolve(promise).then(
      (result) => this.late(key, seq, true, result, started),
      (error) => this.late(key, seq, false, error, started),
    );
    if (full) this.busy = true;
    return full;
  }

  /** A deferred task has settled: its result goes now, alone; a worker that was full takes its next task. */
  private late(key: number, seq: number, ok: boolean, value: unknown, started: number): void {
    const deferrals = this.deferrals!;
    if (deferrals.settle(seq) === undefined || this.stopped) return;
    this.endedAt = performance.now();
    this.expected[key] = Math.max(this.endedAt - started, (this.expected[key] ?? UNSEEN_MS) / 2);
    this.outbox.late(() => {
      try {
        this.putOutcome(seq, key, ok, value);
      } catch (why) {
        this.outbox.hold(seq, ERROR | PACKED, pack(encodeError(unsendable(why, ok, this.port.shares))), this.endedAt);
      }
    });
    if (deferrals.full) {
      deferrals.full = false;
      this.busy = false;
      this.runQueued();
    }
  }

  private afterAsync(seq: number, key: number, ok: boolean, value: unknown, started: number): void {
    this.current = null;
    this.busy = false;
    this.complete(seq, key, ok, value, started);
    this.runQueued();
  }

  private complete(seq: number, key: number, ok: boolean, value: unknown, started: number): void {
    this.endedAt = performance.now();
    const ms = this.endedAt - started;
    this.outbox.ran(ms);
    this.expected[key] = Math.max(ms, (this.expected[key] ?? UNSEEN_MS) / 2);
    if (!this.states.finish(seq)) {
      // Interrupted: the pool has given this task up and is ending this worker.
      this.stopped = this.states.withdrawn(seq);
      return;
    }
    try {
      this.putOutcome(seq, key, ok, value);
    } catch (why) {
      // Whatever the value does when read (a revoked proxy, a throwing getter), its task still gets an answer.
      this.outbox.hold(seq, ERROR | PACKED, pack(encodeError(unsendable(why, ok, this.port.shares))), this.endedAt);
    }
  }

  /** Packs a task's outcome into the outbox: held, or sent alone when it must cross as itself. */
  private putOutcome(seq: number, key: number, ok: boolean, value: unknown): void {
    if (ok && !isChunk(key) && isPrimitive(value)) return this.outbox.hold(seq, OK, value, this.endedAt);
    const transfers: unknown[] = [];
    let status = OK;
    if (!ok) {
      status = ERROR;
      value = this.encode(value, keyId(key));
    } else if (isChunk(key)) {
      const outcome = value as ChunkOutcome<unknown>;
      if (outcome.failed) outcome.error = this.encode(outcome.error, keyId(key));
      for (let i = 0; i < outcome.values.length; i++) outcome.values[i] = unwrapTransfer(outcome.values[i], transfers);
      if (!outcome.failed && transfers.length === 0 && outcome.values.every(isPrimitive)) return this.outbox.hold(seq, OK, outcome, this.endedAt);
    } else {
      value = unwrapTransfer(value, transfers);
      if (value instanceof Error) {
        // Returned, not thrown: encoded all the same, so that its class, properties and cause (even a looping one) survive.
        status = ENCODED;
        value = encodeError(value);
      }
    }
    if (isPrimitive(value)) return this.outbox.hold(seq, status, value, this.endedAt);
    if (transfers.length > 0 && this.port.shares) return this.outbox.alone(seq, status, value, transfers);
    let bytes: Uint8Array;
    try {
      bytes = pack(value);
    } catch (why) {
      // Shared memory and ports cannot be packed but can cross a thread as themselves.
      if (this.port.shares && ok) return this.outbox.alone(seq, status, value, transfers);
      bytes = pack(encodeError(unsendable(why, ok, this.port.shares)));
      status = ERROR;
    }
    this.outbox.hold(seq, status | PACKED, bytes, this.endedAt);
  }

  private encode(error: unknown, id: number): unknown {
    return encodeError(withHint(error, this.sources.has(id), (this.defs.get(id) as { call?: number } | undefined)?.call));
  }

  private load(id: number): AnyFunction | Promise<AnyFunction> {
    const def = this.defs.get(id);
    if (def === undefined) return () => Promise.reject(new Error(`unknown task ${id}`));
    return loadTask(def);
  }

  /**
   * An error escaped a task (a callback it left behind threw). When it comes
   * from the async task that is running, the worker ends and fails that task.
   * Otherwise it is a finished task's leftover: it is reported and fails nothing,
   * unless that task handles its own (TaskContext.stray).
   */
  private stray(error: unknown): void {
    // A worker started from a bundle stopped loading it there: no task's error.
    if (isLoadStop(error)) return;
    const task = currentTask();
    if (task?.stray !== undefined) return task.stray(error);
    if (this.current !== null && this.busy && currentTask() === this.current) {
      this.outbox.flush();
      this.stopped = true;
      this.port.send({ fatal: describeStray(error) }, []);
      this.port.exit(1);
      return;
    }
    console.error(`concurrent-futures: an error was thrown in ${this.config.name} after its task had ended; no task fails for it:`, error);
  }
}

function isPrimitive(value: unknown): boolean {
  return value === null || (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol');
}

function unsendable(why: unknown, ok: boolean, shares: boolean): TypeError {
  const what = ok ? 'result' : 'error';
  const from = shares ? 'the worker' : 'the child process';
  return new TypeError(`the task's ${what} cannot be sent back from ${from}: ${(why as Error)?.message ?? String(why)}`);
}

function describeStray(error: unknown): string {
  try {
    return error instanceof Error ? `${error.name}: ${error.message}` : `thrown: ${String(error)}`;
  } catch {
    return 'an unreadable value was thrown';
  }
}
