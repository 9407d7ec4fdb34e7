/**
 * The worker side of a pool: runs the tasks it is sent, one at a time and in
 * order, and sends back every result as soon as its task ends, holding it
 * back only while calls known to be quick run after it (see protocol.ts).
 * Transport-agnostic, so threads and child processes share it.
 */
import { BUNDLING_DOC, isLoadStop, stoppedInCall } from '../bundle.js';
import { isThenable } from '../checks.js';
import { encodeError, pack, unwrapTransfer } from '../codec.js';
import { Deque } from '../deque.js';
import { runChunk, type ChunkOutcome } from './chunk.js';
import { HeldWriter } from './held-results.js';
import { loadTask, type TaskDef } from '../tasks.js';
import { abortTask, currentTask, runAsTask, type TaskContext } from '../task-signal.js';
import {
  BARE_MS, BATCH_TASKS, DEFERRED, DONE, ENCODED, ERROR, HOLD_MS, OK, PACKED, QUEUED, RESULTS, SKIPPED, STARTED, WITHDRAWN, isBare, isChunk, keyId, slotOf,
  type FromWorker, type LoneResult, type ResultMessage, type ToWorker, type WorkerConfig,
} from './protocol.js';

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

const STOPPED_HINT =
  ' (in a worker started from the bundle, which stopped loading it inside this module\'s defineTasks() call: what the module sets ' +
  'from that call or after it, such as the object the call returns, is not there. Have task functions use each other by their own names; ' +
  `${BUNDLING_DOC})`;

const CAPTURE_HINT =
  ': the task function was sent to the worker as source text, so it cannot use names from the scope where it was written. ' +
  'Pass the value as an argument (executor.submit(fn, value)), or define the function in a module with defineTasks(import.meta.url, { ... }).';

export class TaskRunner {
  private readonly fns = new Map<number, AnyFunction | Promise<AnyFunction>>();
  private readonly sources = new Set<number>();
  private readonly defs = new Map<number, TaskDef>();
  private readonly queue = new Deque<unknown>();
  /** Per task key: a decaying upper estimate of how long a call takes (ms). */
  private readonly expected: number[] = [];
  /** The seq of the next task to run. */
  private seq = 0;
  /** The next result message: results not sent yet, from the task of seq `firstSeq` on. */
  private results: ResultMessage = newResults();
  private firstSeq = 0;
  /** The key of the last task received: a lone task travels without it. */
  private lastKey = -1;
  private heldSince = 0;
  /** When the last task ended: a held result's clock, read once per task. */
  private endedAt = 0;
  /** The held results in shared memory, for the pool to take if they wait too long; null in a child process. */
  private readonly writer: HeldWriter | null;
  /** How many of the held results were written to the mirror. */
  private mirrored = 0;
  private transfers: unknown[] = [];
  private busy = true; // until the initializer has run
  private stopped = false;
  /** The executor was shut down with its running tasks aborted: so is every task that starts here from now on. */
  private shutDown = false;
  private current: TaskContext | null = null;
  /** The seq of the running task, so that an abort meant for one task never reaches the next. */
  private currentSeq = -1;
  private runMs = 0;
  /** A task reported progress since the last flush: its result is sent, never mirrored, so that it cannot overtake the progress. */
  private progressed = false;
  /** Tasks answered DEFERRED that still wait here (tasksPerWorker > 1), by seq. */
  private readonly deferred = new Map<number, RunContext>();
  /** The result being sent is a deferred task's: it goes alone, its seq marked late. */
  private sendingLate = false;
  /** Set while the worker runs as many tasks as it may: the next starts once a deferred one ends. */
  private full = false;
  /** Tasks interrupted before they started (a child shares no ring with its pool): skipped when their turn comes. */
  private skip: Set<number> | null = null;
  private flushQueued = false;
  private readonly flushNow = (): void => {
    this.flushQueued = false;
    this.flush();
  };
  private readonly resumeNow = (): void => {
    this.busy = false;
    this.runQueued();
  };

  constructor(
    private readonly port: RunnerPort,
    private readonly config: WorkerConfig,
  ) {
    this.writer = config.held === null ? null : new HeldWriter(config.held);
    process.on('uncaughtException', (error) => this.stray(error));
    const exit = process.exit;
    // A task that ends its worker must not take the results of the tasks before it along.
    process.exit = ((code?: number) => {
      this.flush();
      return exit.call(process, code);
    }) as typeof process.exit;
    void this.initialize();
  }

  receive(message: ToWorker): void {
    if (typeof message !== 'object') {
      // A lone task of the function sent last, its one argument sent bare.
      this.queue.push(this.lastKey);
      this.queue.push([message]);
      if (!this.busy) this.runQueued();
      return;
    }
    if (!Array.isArray(message)) {
      // A shutdown also aborts the tasks already sent here that have yet to start: in a child they count as running.
      if (message.seq === undefined) {
        this.shutDown = true;
        for (const context of this.deferred.values()) abortTask(context, shutDownError());
      } else {
        const waiting = this.deferred.get(message.seq);
        if (waiting !== undefined) abortTask(waiting, new Error('the task was interrupted'));
        else if (message.seq >= this.seq) (this.skip ??= new Set()).add(message.seq);
      }
      if (this.current === null) return;
      if (message.seq === undefined) abortTask(this.current, shutDownError());
      else if (message.seq === this.currentSeq) abortTask(this.current, new Error('the task was interrupted'));
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
    const states = this.config.states;
    while (this.queue.length > 0 && !this.stopped) {
      if (this.port.whenSent !== undefined && this.waitSent()) return;
      const key = this.queue.shift() as number;
      const payload = this.queue.shift() as unknown[];
      const seq = this.seq++;
      if (this.skip !== null && this.skip.delete(seq)) {
        this.hold(seq, SKIPPED, undefined);
        continue;
      }
      // Held results are sent, or mirrored, before the next task is claimed: once it is, the pool
      // may end this worker to interrupt it. A result waits only behind a call known to be quick,
      // and only where the pool can take it from shared memory should that call prove long; never
      // in a child process, where the pool learns from it that the next task has started.
      if (
        this.results.length > RESULTS &&
        !(!this.progressed && (this.expected[key] ?? UNSEEN_MS) < QUICK_MS && performance.now() - this.heldSince < HOLD_MS && this.mirror())
      ) {
        this.flush();
      }
      // Claimed before its function loads: a task whose module ends the worker is that task's failure.
      if (states !== null && Atomics.compareExchange(states, slotOf(seq), QUEUED, STARTED) !== QUEUED) {
        this.hold(seq, SKIPPED, undefined);
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
        this.flush();
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
    this.flush();
  }

  /**
   * Sends what is held and waits, where sending takes a while, until it has
   * all left: the next task may end the worker (process.exit, a crash), and a
   * result still on its way would go down with it. True while it waits.
   */
  private waitSent(): boolean {
    this.flush();
    if (!this.port.whenSent!(this.resumeNow)) return false;
    this.busy = true;
    this.current = null;
    return true;
  }

  /** Runs one task; true when it goes on asynchronously (the runner is then busy until it settles). */
  private run(seq: number, key: number, fn: AnyFunction, payload: unknown[]): boolean {
    const started = performance.now();
    const context = new RunContext(this, seq);
    if (this.shutDown) abortTask(context, shutDownError());
    this.current = context;
    this.currentSeq = seq;
    let value: unknown;
    let ok = true;
    try {
      value = isChunk(key) ? runAsTask(context, runChunk, [fn, payload]) : runAsTask(context, fn, payload);
    } catch (error) {
      ok = false;
      value = error;
    }
    if (ok && isThenable(value)) {
      if (this.config.tasksPerWorker > 1) return this.defer(seq, key, context, value as PromiseLike<unknown>, started);
      this.busy = true;
      if (this.results.length > RESULTS && !this.flushQueued) {
        this.flushQueued = true;
        setImmediate(this.flushNow);
      }
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
   * start while it waits; its result goes when it settles (late). True when the
   * worker now runs as many tasks as it may: it takes the next once one ends.
   */
  private defer(seq: number, key: number, context: RunContext, promise: PromiseLike<unknown>, started: number): boolean {
    const states = this.config.states;
    // Its ring slot is given up: later tasks reuse it, and the pool tracks this one apart.
    if (states !== null && Atomics.compareExchange(states, slotOf(seq), STARTED, DONE) !== STARTED) {
      // The pool claimed it to end this worker: nothing more runs here.
      this.stopped = Atomics.load(states, slotOf(seq)) === WITHDRAWN;
      this.current = null;
      return true;
    }
    this.deferred.set(seq, context);
    // An error its callbacks throw fails this task alone: the worker runs others.
    context.stray = (error) => this.late(seq, key, false, error, started);
    this.hold(seq, DEFERRED, undefined);
    this.flush();
    this.current = null;
    Promise.resolve(promise).then(
      (result) => this.late(seq, key, true, result, started),
      (error) => this.late(seq, key, false, error, started),
    );
    if (this.deferred.size < this.config.tasksPerWorker) return false;
    this.busy = this.full = true;
    return true;
  }

  /** A deferred task has settled: its result goes now, alone; a worker that was full takes its next task. */
  private late(seq: number, key: number, ok: boolean, value: unknown, started: number): void {
    const context = this.deferred.get(seq);
    if (context === undefined) return;
    this.deferred.delete(seq);
    context.stray = undefined;
    if (this.stopped) return;
    this.expected[key] = Math.max(performance.now() - started, (this.expected[key] ?? UNSEEN_MS) / 2);
    this.flush();
    this.sendingLate = true;
    try {
      this.send(seq, key, ok, value);
    } catch (why) {
      this.hold(seq, ERROR | PACKED, pack(encodeError(unsendable(why, ok, this.port.shares))));
    } finally {
      this.flush();
      this.sendingLate = false;
    }
    if (this.full) {
      this.busy = this.full = false;
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
    this.runMs += ms;
    this.expected[key] = Math.max(ms, (this.expected[key] ?? UNSEEN_MS) / 2);
    const states = this.config.states;
    if (states !== null && Atomics.compareExchange(states, slotOf(seq), STARTED, DONE) !== STARTED) {
      // Interrupted: the pool has given this task up and is ending this worker.
      this.stopped = Atomics.load(states, slotOf(seq)) === WITHDRAWN;
      return;
    }
    try {
      this.send(seq, key, ok, value);
    } catch (why) {
      // Whatever the value does when read (a revoked proxy, a throwing getter), its task still gets an answer.
      this.hold(seq, ERROR | PACKED, pack(encodeError(unsendable(why, ok, this.port.shares))));
    }
  }

  /** Packs a task's outcome and holds it, or sends it alone when it must cross as itself. */
  private send(seq: number, key: number, ok: boolean, value: unknown): void {
    if (ok && !isChunk(key) && isPrimitive(value)) return this.hold(seq, OK, value);
    const transfers: unknown[] = [];
    let status = OK;
    if (!ok) {
      status = ERROR;
      value = this.encode(value, keyId(key));
    } else if (isChunk(key)) {
      const outcome = value as ChunkOutcome<unknown>;
      if (outcome.failed) outcome.error = this.encode(outcome.error, keyId(key));
      for (let i = 0; i < outcome.values.length; i++) outcome.values[i] = unwrapTransfer(outcome.values[i], transfers);
      if (!outcome.failed && transfers.length === 0 && outcome.values.every(isPrimitive)) return this.hold(seq, OK, outcome);
    } else {
      value = unwrapTransfer(value, transfers);
      if (value instanceof Error) {
        // Returned, not thrown: encoded all the same, so that its class, properties and cause (even a looping one) survive.
        status = ENCODED;
        value = encodeError(value);
      }
    }
    if (isPrimitive(value)) return this.hold(seq, status, value);
    if (transfers.length > 0 && this.port.shares) return this.alone(seq, status, value, transfers);
    let bytes: Uint8Array;
    try {
      bytes = pack(value);
    } catch (why) {
      // Shared memory and ports cannot be packed but can cross a thread as themselves.
      if (this.port.shares && ok) return this.alone(seq, status, value, transfers);
      bytes = pack(encodeError(unsendable(why, ok, this.port.shares)));
      status = ERROR;
    }
    this.hold(seq, status | PACKED, bytes);
  }

  /** Keeps a result to send with the next flush. */
  private hold(seq: number, status: number, value: unknown): void {
    if (this.results.length === RESULTS) {
      this.firstSeq = seq;
      this.heldSince = this.endedAt;
    }
    this.results.push(status, value);
  }

  /** Writes the held results to shared memory before a call runs after them; false where they cannot all be. */
  private mirror(): boolean {
    const writer = this.writer;
    if (writer === null) return false;
    const results = this.results;
    for (let i = RESULTS + 2 * this.mirrored; i < results.length; i += 2) {
      if (!writer.add(results[i] as number, results[i + 1])) return false;
      this.mirrored++;
    }
    return writer.publish(this.firstSeq);
  }

  /** Sends a result that crosses as itself in a message of its own: if the channel drops it, no other result goes with it. */
  private alone(seq: number, status: number, value: unknown, transfers: unknown[]): void {
    this.flush();
    this.firstSeq = seq;
    this.results.push(status, value);
    this.transfers = transfers;
    this.flush();
  }

  private encode(error: unknown, id: number): unknown {
    if (this.sources.has(id) && isCaptureError(error)) addHint(error, CAPTURE_HINT);
    else if (isNameError(error) && stoppedInCall() !== null && (this.defs.get(id) as { call?: number } | undefined)?.call === stoppedInCall()) {
      addHint(error, STOPPED_HINT);
    }
    return encodeError(error);
  }

  private load(id: number): AnyFunction | Promise<AnyFunction> {
    const def = this.defs.get(id);
    if (def === undefined) return () => Promise.reject(new Error(`unknown task ${id}`));
    return loadTask(def);
  }

  /**
   * Sends a value the task of `seq` reported, after the results held so far:
   * a message of its own, before that task's result. Throws a `TypeError`
   * when the value cannot be sent.
   */
  progress(seq: number, value: unknown): void {
    if (this.stopped) return;
    this.flush();
    this.progressed = true;
    try {
      this.port.send({ progress: seq, value }, []);
    } catch (error) {
      const from = this.port.shares ? 'the worker' : 'the child process';
      throw new TypeError(`reportProgress(): the value cannot be sent from ${from}: ${(error as Error)?.message ?? error}`, { cause: error });
    }
  }

  /** Sends the results held so far. */
  private flush(): void {
    this.progressed = false;
    if (this.results.length === RESULTS) return;
    let message = this.results;
    const taken = this.mirrored > 0 ? this.writer!.reset() : 0;
    this.mirrored = 0;
    if (taken > 0) {
      // The pool took these from the mirror while a long call ran: send only the rest.
      message = [0, 0, ...message.slice(RESULTS + 2 * taken)];
      this.firstSeq += taken;
      if (message.length === RESULTS) {
        this.results = newResults();
        this.transfers = [];
        return;
      }
    }
    const late = this.sendingLate;
    const lone = !late && message.length === RESULTS + 2 && message[RESULTS] === OK && this.runMs < BARE_MS && taken === 0 && isBare(message[RESULTS + 1]);
    message[0] = late ? -1 - this.firstSeq : this.firstSeq;
    message[1] = late ? -1 : this.runMs;
    const transfers = this.transfers;
    this.results = newResults();
    this.transfers = [];
    this.runMs = 0;
    try {
      this.port.send(lone ? (message[RESULTS + 1] as LoneResult) : message, transfers);
    } catch (error) {
      this.port.send(replaceUncloneable(message, error), []);
    }
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
      this.flush();
      this.stopped = true;
      this.port.send({ fatal: describeStray(error) }, []);
      this.port.exit(1);
      return;
    }
    console.error(`concurrent-futures: an error was thrown in ${this.config.name} after its task had ended; no task fails for it:`, error);
  }
}

/** A task running here, as `taskSignal()` and `reportProgress()` see it. */
class RunContext implements TaskContext {
  abort: TaskContext['abort'] = null;
  stray: ((error: unknown) => void) | undefined = undefined;
  constructor(
    private readonly runner: TaskRunner,
    private readonly seq: number,
  ) {}

  report(value: unknown): void {
    this.runner.progress(this.seq, value);
  }
}

/** A result message with no results yet: its seq and time are filled in when it is sent. */
function newResults(): ResultMessage {
  return [0, 0];
}

function shutDownError(): Error {
  return new Error('the executor was shut down');
}

function isPrimitive(value: unknown): boolean {
  return value === null || (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol');
}

function addHint(error: Error, hint: string): void {
  // The stack is formatted when first read: read before the message changes, or it shows the hint twice.
  const stack = error.stack;
  const first = `${error.name}: ${error.message}`;
  error.message += hint;
  if (stack?.startsWith(first)) error.stack = `${error.name}: ${error.message}${stack.slice(first.length)}`;
}

/** What a name that a module sets at or after its last `defineTasks()` call gives in a worker that stopped there. */
function isNameError(error: unknown): error is Error {
  try {
    return error instanceof ReferenceError || error instanceof TypeError;
  } catch {
    return false;
  }
}

/** A ReferenceError from a name the task's source used from the scope it was written in. */
function isCaptureError(error: unknown): error is ReferenceError {
  try {
    return error instanceof ReferenceError && / is not defined$/.test(error.message);
  } catch {
    return false; // a revoked proxy, say
  }
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

/** Fails just the results that cannot be sent back, with a reason. */
function replaceUncloneable(message: ResultMessage, error: unknown): ResultMessage {
  const r = message;
  for (let i = RESULTS; i < r.length; i += 2) {
    try {
      structuredClone(r[i + 1]);
    } catch (why) {
      r[i] = ERROR | PACKED;
      r[i + 1] = pack(encodeError(new TypeError(`the task's result cannot be sent back from the worker: ${(why as Error)?.message ?? why}`, { cause: error })));
    }
  }
  return message;
}
