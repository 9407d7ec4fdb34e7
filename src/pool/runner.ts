/**
 * The worker side of a pool: runs the tasks it is sent, one at a time and in
 * order, and sends back results in batches. Transport-agnostic, so threads and
 * child processes share it.
 */
import { encodeError, unwrapTransfer } from '../codec.js';
import { Deque } from '../deque.js';
import type { Chunk, ChunkOutcome } from '../map.js';
import { loadTask, type TaskDef } from '../tasks.js';
import { abortTask, runAsTask, type TaskContext } from '../task-signal.js';
import {
  CANCELLED, DONE, ERROR, OK, QUEUED, RING, SKIPPED, STARTED,
  type BatchMessage, type FromWorker, type ToWorker, type WorkerConfig,
} from './protocol.js';

type AnyFunction = (...args: any[]) => unknown;
type Send = (message: FromWorker, transferList: unknown[]) => void;

/** Results are sent at least this often (ms) while tasks keep running. */
const FLUSH_INTERVAL = 1;

const CAPTURE_HINT =
  ': the task function was sent to the worker as source text, so it cannot use names from the scope where it was written. ' +
  'Pass the value as an argument (executor.submit(fn, value)), or define the function in a module with defineTasks(import.meta.url, { ... }).';

export class TaskRunner {
  private readonly fns = new Map<number, AnyFunction | Promise<AnyFunction>>();
  private readonly sources = new Set<number>();
  private readonly defs = new Map<number, TaskDef>();
  private readonly queue = new Deque<unknown>();
  private seq = 0;
  private results: unknown[] = [];
  private transfers: unknown[] = [];
  private busy = true; // until the initializer has run
  private stopped = false;
  private current: TaskContext | null = null;
  /** The ring slot of the running task, so that an abort meant for one task never reaches the next. */
  private currentSlot = -1;
  private runMs = 0;
  private lastFlush = performance.now();

  constructor(
    private readonly send: Send,
    private readonly config: WorkerConfig,
  ) {
    void this.initialize();
  }

  receive(message: ToWorker): void {
    if ('abort' in message) {
      if (this.current === null) return;
      if (message.slot === undefined) abortTask(this.current, new Error('the executor was shut down'));
      else if (message.slot === this.currentSlot) abortTask(this.current, new Error('the task was interrupted'));
      return;
    }
    const batch = message as BatchMessage;
    if (batch.d !== undefined) {
      for (const [id, def] of batch.d) {
        this.defs.set(id, def);
        if ('source' in def) this.sources.add(id);
      }
    }
    const tasks = batch.t;
    for (let i = 0; i < tasks.length; i++) this.queue.push(tasks[i]);
    if (!this.busy) this.drain();
  }

  private async initialize(): Promise<void> {
    // Up as soon as the module has loaded; the initializer may take as long as it needs.
    this.send({ ready: true }, []);
    const { initializer, initargs } = this.config;
    if (initializer !== null) {
      try {
        const fn = await loadTask(initializer);
        await fn(...initargs);
      } catch (error) {
        this.stopped = true;
        this.send({ initFailed: encodeError(error) }, []);
        return;
      }
    }
    this.busy = false;
    this.drain();
  }

  /** Runs queued tasks until the queue is empty or an async task is in progress. */
  private drain(): void {
    const states = this.config.states;
    while (this.queue.length > 0 && !this.stopped) {
      const key = this.queue.peek() as number;
      const id = key >> 1;
      let fn = this.fns.get(id);
      if (fn === undefined) {
        fn = this.load(id);
        this.fns.set(id, fn);
      }
      if (fn instanceof Promise) {
        this.busy = true;
        fn.then(
          (loaded) => this.fns.set(id, loaded),
          (error) => this.fns.set(id, () => Promise.reject(error)),
        ).finally(() => {
          this.busy = false;
          this.drain();
        });
        return;
      }
      this.queue.shift();
      const payload = this.queue.shift() as unknown[];
      const slot = this.seq++ & (RING - 1);
      if (states !== null && Atomics.compareExchange(states, slot, QUEUED, STARTED) !== QUEUED) {
        this.results.push(SKIPPED, undefined);
        continue;
      }
      const started = performance.now();
      const context: TaskContext = { abort: null };
      this.current = context;
      this.currentSlot = slot;
      let value: unknown;
      let ok = true;
      try {
        value = (key & 1) === 1 ? this.runChunk(context, fn, payload) : runAsTask(context, fn, payload);
      } catch (error) {
        ok = false;
        value = error;
      }
      if (ok && value !== null && typeof (value as any)?.then === 'function') {
        this.busy = true;
        Promise.resolve(value as PromiseLike<unknown>).then(
          (result) => this.afterAsync(slot, key, true, result, started),
          (error) => this.afterAsync(slot, key, false, error, started),
        );
        return;
      }
      this.runMs += performance.now() - started;
      this.complete(slot, key, ok, value);
      if (performance.now() - this.lastFlush > FLUSH_INTERVAL) this.flush();
    }
    this.current = null;
    this.flush();
  }

  private afterAsync(slot: number, key: number, ok: boolean, value: unknown, started: number): void {
    this.runMs += performance.now() - started;
    this.complete(slot, key, ok, value);
    this.current = null;
    this.busy = false;
    this.drain();
  }

  /** Runs a chunk of `map` items; the first failure ends it, keeping the values before it. */
  private runChunk(context: TaskContext, fn: AnyFunction, chunk: Chunk): ChunkOutcome<unknown> | Promise<ChunkOutcome<unknown>> {
    return runAsTask(context, runChunkItems, [fn, chunk]) as ChunkOutcome<unknown> | Promise<ChunkOutcome<unknown>>;
  }

  private complete(slot: number, key: number, ok: boolean, value: unknown): void {
    const id = key >> 1;
    const states = this.config.states;
    if (states !== null && Atomics.compareExchange(states, slot, STARTED, DONE) !== STARTED) {
      // Interrupted: the pool has given this task up and is ending this worker.
      this.stopped = Atomics.load(states, slot) === CANCELLED;
      return;
    }
    if (ok) {
      if ((key & 1) === 1) {
        const outcome = value as ChunkOutcome<unknown>;
        if (outcome.failed) outcome.error = this.encode(outcome.error, id);
        for (let i = 0; i < outcome.values.length; i++) outcome.values[i] = unwrapTransfer(outcome.values[i], this.transfers);
      }
      this.results.push(OK, unwrapTransfer(value, this.transfers));
    } else {
      this.results.push(ERROR, this.encode(value, id));
    }
  }

  private encode(error: unknown, id: number): unknown {
    if (error instanceof ReferenceError && this.sources.has(id) && / is not defined$/.test(error.message)) {
      const first = `${error.name}: ${error.message}`;
      error.message += CAPTURE_HINT;
      if (error.stack?.startsWith(first)) error.stack = `${error.name}: ${error.message}${error.stack.slice(first.length)}`;
    }
    return encodeError(error);
  }

  private load(id: number): AnyFunction | Promise<AnyFunction> {
    const def = this.defs.get(id);
    if (def === undefined) return () => Promise.reject(new Error(`unknown task ${id}`));
    return loadTask(def);
  }

  private flush(): void {
    if (this.results.length === 0) return;
    const message = { r: this.results, ms: this.runMs };
    const transfers = this.transfers;
    this.results = [];
    this.transfers = [];
    this.runMs = 0;
    this.lastFlush = performance.now();
    try {
      this.send(message, transfers);
    } catch (error) {
      this.send(this.replaceUncloneable(message, error), []);
    }
  }

  /** Fails just the results that cannot be sent back, with a reason. */
  private replaceUncloneable(message: { r: unknown[]; ms: number }, error: unknown): { r: unknown[]; ms: number } {
    const r = message.r;
    for (let i = 0; i < r.length; i += 2) {
      try {
        structuredClone(r[i + 1]);
      } catch (why) {
        r[i] = ERROR;
        r[i + 1] = encodeError(
          new TypeError(`the task's result cannot be sent back from the worker: ${(why as Error)?.message ?? why}`, { cause: error }),
        );
      }
    }
    return message;
  }
}

function itemArgs(chunk: Chunk, arity: number, i: number): unknown[] {
  const start = 1 + i * arity;
  return chunk.slice(start, start + arity);
}

function runChunkItems(fn: AnyFunction, chunk: Chunk): ChunkOutcome<unknown> | Promise<ChunkOutcome<unknown>> {
  const arity = chunk[0] as number;
  const count = (chunk.length - 1) / arity;
  const values: unknown[] = [];
  for (let i = 0; i < count; i++) {
    let value: unknown;
    try {
      value = arity === 1 ? fn(chunk[1 + i]) : fn(...itemArgs(chunk, arity, i));
    } catch (error) {
      return { values, failed: true, error };
    }
    if (value !== null && typeof (value as any)?.then === 'function') {
      return runChunkAsync(fn, chunk, arity, count, i, values, value as PromiseLike<unknown>);
    }
    values.push(value);
  }
  return { values, failed: false, error: undefined };
}

async function runChunkAsync(
  fn: AnyFunction, chunk: Chunk, arity: number, count: number, from: number, values: unknown[], pending: PromiseLike<unknown>,
): Promise<ChunkOutcome<unknown>> {
  try {
    values.push(await pending);
    for (let i = from + 1; i < count; i++) values.push(await fn(...itemArgs(chunk, arity, i)));
  } catch (error) {
    return { values, failed: true, error };
  }
  return { values, failed: false, error: undefined };
}
