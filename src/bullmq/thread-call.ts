/**
 * A job's task on the worker's thread pool, both sides of it, run so that a
 * task that awaits does not hold its thread.
 *
 * A pool thread runs one task at a time until it ends, and an async task
 * ends only once it has done waiting: with a thread per core, a worker of
 * `concurrency: 20` would run such tasks two at a time. So the call goes to
 * the thread through `call` below, which runs the task there and, when the
 * task returns a promise, answers at once with a port of its own and its
 * thread's id; the outcome comes on that port when the promise settles. The
 * thread is then free for the next job while this one waits, and any number
 * of waiting tasks share a thread, while the code of each still runs there,
 * off the event loop that renews the jobs' locks. A thread that ends fails
 * the tasks waiting on it, as it fails the one running there: its ports
 * close, and the pool tells of its end (which is all Deno does).
 * @internal
 */
import { MessageChannel, threadId, type MessagePort } from 'node:worker_threads';
import { isThenable } from '../checks.js';
import { decodeError, encodeError, transfer, unwrapTransfer } from '../codec.js';
import { BrokenThreadPoolError } from '../errors.js';
import type { Future } from '../future.js';
import { runCall, type ChunkOutcome } from '../chunk.js';
import { defineTasks, loadTask, type TaskDef } from '../tasks.js';
import { abortTask, currentTask, interruptedReason, type TaskContext } from '../task-signal.js';
import type { ThreadPoolExecutor } from '../thread/pool.js';
import { inTrace, type TraceCarrier } from './trace-context.js';

type AnyFunction = (...args: any[]) => unknown;

/** What the port carries from the thread: `[status, value]`, once. */
const OK = 0;
/** An error the task threw or rejected with, encoded. */
const THROWN = 1;
/** An error the task returned as its value, encoded. */
const RETURNED = 2;
/** A value the task reported with `reportProgress()`: `[PROGRESS, value]`, any number of times before the outcome. */
const PROGRESS = 3;
/** What the port carries to the thread: abort the task's `taskSignal()`. */
const ABORT = 1;

/** In the thread: the task functions loaded so far, by module and name. */
const loaded = new Map<string, AnyFunction>();
/** In the thread: the tasks that wait here, and how to fail each should the thread exit first. */
const waiting = new Map<TaskContext, (status: number, payload: unknown) => void>();
let exitWatched = false;

function watchExit(): void {
  if (exitWatched) return;
  exitWatched = true;
  // A task that calls process.exit() ends the thread: those waiting here learn its code (a stopped thread only closes their ports).
  process.once('exit', (code) => {
    const exiting = currentTask();
    for (const [context, fail] of [...waiting]) {
      const message = context === exiting
        ? `This task ended its worker thread (process.exit(${code})); the pool replaced it`
        : `A worker thread exited with code ${code} while this task was waiting on it; the pool replaced it`;
      fail(THROWN, encodeError(new BrokenThreadPoolError(message)));
    }
  });
}

export const threadCall = defineTasks(import.meta.url, {
  /**
   * Runs the task `def` on `args` (a chunk of `map` items with `chunk`), inside the
   * submitting side's trace context when the job carries one. What it returns at
   * once is the answer; a promise is answered by `[token, port]`.
   */
  call(def: TaskDef & { module: string }, token: number, chunk: boolean, args: unknown[], trace?: TraceCarrier): unknown {
    const fn = loaded.get(`${def.module}#${def.name}`);
    if (fn === undefined) {
      return loadTask(def).then((loadedFn) => {
        loaded.set(`${def.module}#${def.name}`, loadedFn);
        return start(loadedFn, token, chunk, args, trace);
      });
    }
    return start(fn, token, chunk, args, trace);
  },
});

function start(fn: AnyFunction, token: number, chunk: boolean, args: unknown[], trace: TraceCarrier | undefined): unknown {
  // While `call` runs, the task's progress goes as the call's own, over the pool's channel.
  const outer = currentTask();
  const context: TaskContext = { abort: null, report: (value) => outer?.report?.(value) };
  const value = inTrace(trace, runCall, context, fn, args, chunk);
  if (!isThenable(value)) return chunk ? encodeChunk(value as ChunkOutcome<unknown>) : value;
  const { port1, port2 } = new MessageChannel();
  let answered = false;
  context.report = (progress) => {
    if (answered) return;
    try {
      port2.postMessage([PROGRESS, progress]);
    } catch (error) {
      throw new TypeError(`reportProgress(): the value cannot be sent from the worker: ${(error as Error)?.message ?? error}`, { cause: error });
    }
  };
  const answer = (status: number, payload: unknown, transfers: unknown[] = []): void => {
    if (answered) return;
    answered = true;
    // What its callbacks throw from now on is a leftover, reported as any task's.
    context.stray = undefined;
    waiting.delete(context);
    try {
      port2.postMessage([status, payload], transfers as any[]);
    } catch (why) {
      const error = new TypeError(`the task's result cannot be sent back from the worker: ${(why as Error)?.message ?? why}`);
      port2.postMessage([THROWN, encodeError(error)]);
    }
    // Not closed here: the other side closes the pair once it has the answer. An answer can come before the
    // port that carries it has crossed (results are sent in batches), and Deno drops it if this side closes first.
  };
  watchExit();
  waiting.set(context, answer);
  port2.addEventListener('message', () => abortTask(context, interruptedReason()));
  port2.start();
  // An error thrown by a callback of this task fails this task alone (runner.ts hands it here).
  context.stray = (error) => answer(THROWN, encodeError(error));
  Promise.resolve(value).then(
    (result) => {
      try {
        if (chunk) return answer(OK, encodeChunk(result as ChunkOutcome<unknown>));
        const transfers: unknown[] = [];
        const unwrapped = unwrapTransfer(result, transfers);
        if (unwrapped instanceof Error) answer(RETURNED, encodeError(unwrapped));
        else answer(OK, unwrapped, transfers);
      } catch (why) {
        // Whatever the value does when read (a revoked proxy, say), its task still gets an answer.
        answer(THROWN, encodeError(new TypeError(`the task's result cannot be read: ${(why as Error)?.message ?? why}`)));
      }
    },
    (error: unknown) => answer(THROWN, encodeError(error)),
  );
  return transfer([token, port1, threadId], [port1]);
}

/** A chunk's outcome crosses with its error encoded, so that its class and properties survive. */
function encodeChunk(outcome: ChunkOutcome<unknown>): ChunkOutcome<unknown> {
  return outcome.failed ? { values: outcome.values, failed: true, error: encodeError(outcome.error), ms: outcome.ms } : outcome;
}

/** How a call on a thread ended: a value (a chunk's outcome) or an error. */
export interface ThreadOutcome {
  ok: boolean;
  value: unknown;
}

/** A call on a thread, as the worker tracks it. */
export interface ThreadRun {
  /** Its future on the pool: done once the task has ended or gone on waiting. */
  readonly future: Future<unknown>;
  /** Settles when the task has ended; rejects with `CancelledError` when it was cancelled before it started. */
  readonly outcome: Promise<ThreadOutcome>;
  /** Aborts the task's `taskSignal()`, if it has started. */
  abort(): void;
  /** Whether the task is waiting apart from the pool, where its thread is not its own. */
  waiting(): boolean;
}

let tokens = 0;

/** In the worker: submits `def` to the pool through `call`. */
export function runOnThread(
  pool: ThreadPoolExecutor, def: TaskDef, args: unknown[], chunk: boolean, onProgress: (value: unknown) => void, trace: TraceCarrier | undefined,
): ThreadRun {
  const token = ++tokens;
  const call = def as TaskDef & { module: string };
  // No trace, no fifth argument: the message stays as it was.
  const future = (trace === undefined ? pool.submit(threadCall.call, call, token, chunk, args) : pool.submit(threadCall.call, call, token, chunk, args, trace)) as Future<unknown>;
  future.addProgressCallback(onProgress);
  let port: MessagePort | null = null;
  let aborted = false;
  const outcome = (async (): Promise<ThreadOutcome> => {
    const error = await future.exception();
    if (error !== undefined) return { ok: false, value: error };
    const value = await future.result();
    if (!(Array.isArray(value) && value.length === 3 && value[0] === token)) return { ok: true, value: chunk ? decodeChunk(value) : value };
    const own = (port = value[1] as MessagePort);
    if (aborted) own.postMessage(ABORT);
    // The port's web interface: under Deno a port that crossed from a thread has no `on()`.
    return new Promise<ThreadOutcome>((resolve) => {
      const ended = (): void => resolve({ ok: false, value: new BrokenThreadPoolError('A worker thread ended while this task was waiting on it; the pool replaced it') });
      // Node and Bun close the port of a thread that ends; Deno does not, and the pool tells it instead: a
      // little later, so that what the thread sent before it ended (process.exit's own reason) comes first.
      const unwatch = pool._whenThreadEnds(value[2] as number, () => setTimeout(ended, 100));
      own.addEventListener('message', (event) => {
        const [status, payload] = (event as unknown as { data: [number, unknown] }).data;
        if (status === PROGRESS) return onProgress(payload);
        unwatch();
        own.close();
        if (status === OK) resolve({ ok: true, value: chunk ? decodeChunk(payload) : payload });
        else resolve({ ok: status === RETURNED, value: decodeError(payload) }); // a returned error is a value
      });
      // After a message, the port's own close comes too: that settles nothing anymore.
      own.addEventListener('close', ended, { once: true });
      own.start();
    });
  })();
  return {
    future,
    outcome,
    abort() {
      aborted = true;
      if (port !== null) port.postMessage(ABORT);
      else pool.abortTaskSignal(future);
    },
    waiting: () => port !== null,
  };
}

function decodeChunk(value: unknown): ChunkOutcome<unknown> {
  const outcome = value as ChunkOutcome<unknown>;
  if (outcome.failed) outcome.error = decodeError(outcome.error);
  return outcome;
}
