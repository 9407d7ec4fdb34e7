/**
 * A worker for `BullMQExecutor`: takes jobs from the queue and runs the tasks
 * that its own modules define, on this package's thread pool. The main thread
 * talks to Redis, so a CPU-bound task never delays the renewal of its job's
 * lock (a job whose lock lapses is given to another worker and runs twice).
 * A task that awaits frees its thread while it waits (thread-call.ts), so
 * `concurrency` jobs run at once on a thread per core.
 * Tasks that have proved to take microseconds run on the main thread instead
 * (placement.ts): for them the hop to a thread cost more than the task.
 * `threads: 0` runs every task there, for tasks that only wait on I/O.
 */
import { availableParallelism } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UnrecoverableError, Worker, type Job, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { taskDef, taskId, type TaskDef } from '../tasks.js';
import { checkRateLimit } from '../checks.js';
import { CancelledError } from '../errors.js';
import { ThreadPoolExecutor } from '../thread/pool.js';
import { traceName } from '../tracing.js';
import { WorkerJobs, type JobRun } from './worker-jobs.js';
import { checkConnection, closeClient, ownClient, untilReady, type RedisConnection } from './connection.js';
import { CHUNK, decodeJob, encodeOutcome, ERROR, INTERRUPTED, VALUE, type Outcome } from './envelope.js';
import { interruptChannel, parseInterrupt } from './interrupts.js';
import { runInline } from './inline.js';
import { runOnThread, type ThreadRun } from './thread-call.js';
import { inTrace, type TraceCarrier } from './trace-context.js';
import { Placement } from './placement.js';
import { checkQueueName, mergeTasks, tasksOf } from './naming.js';

type AnyFunction = (...args: any[]) => unknown;

const INTERRUPTED_OUTCOME = encodeOutcome(INTERRUPTED, null);

/** The options of `runWorker`. */
export interface RunWorkerOptions {
  /** A `redis://` or `rediss://` URL, ioredis options, or an ioredis client (duplicated, never closed by the worker). */
  connection: RedisConnection;
  /** The queue to take jobs from. */
  queueName: string;
  /** Task modules: file paths or `file:` URLs of modules that call `defineTasks`. */
  modules: ReadonlyArray<string | URL>;
  /** Jobs run at once (default 1, as BullMQ's). */
  concurrency?: number;
  /**
   * Threads that run the tasks (default the lesser of `concurrency` and `availableParallelism()`):
   * each computes one task at a time, and any number of tasks that await share it. `0` runs every task on the
   * worker's own event loop: a little faster for tasks that only wait on I/O, but a task that
   * computes for long then delays the renewal of every job's lock.
   */
  threads?: number;
  /**
   * Whether a task whose recent calls all ended within a fraction of a millisecond runs on the worker's
   * event loop, sparing it the hop to a thread and back (default true). Each task starts on threads and
   * goes back there after one slow call; `false` keeps every call on threads, for tasks that are quick
   * on most arguments but may compute for seconds on some.
   */
  quickTasksInline?: boolean;
  /** How long a job stays this worker's without a lock renewal, in ms (default 10000; BullMQ's is 30000). */
  lockDuration?: number;
  /** How often workers look for jobs whose worker died, in ms (default 5000; BullMQ's is 30000). */
  stalledInterval?: number;
  /** How many times a job may be taken back from a dead worker before it fails (default 1, as BullMQ's). */
  maxStalledCount?: number;
  /** BullMQ's key prefix (default `bull`): the executor's must match. */
  prefix?: string;
  /** After `cancel({ interrupt: true })`, how long a task has to end on its aborted `taskSignal()` before its thread is stopped (ms, default 1000). */
  interruptGrace?: number;
  /**
   * At most `max` jobs start in `interval` ms, across every worker of the queue: BullMQ's own `limiter`
   * (`{ max, duration }`), which counts fixed windows (one opens at the first start after the last closed), so
   * any stretch of `interval` ms may see up to `2 * max`; a `map` chunk is one job (`chunksize: 1` counts items).
   * Default: no limit. A `TypeError` for what is not `{ max, interval }` of numbers, a `RangeError` for `max` not
   * an integer >= 1 or `interval` not finite and > 0 (BullMQ counts whole ms: a fraction is rounded up).
   */
  rateLimit?: {
    /** Task starts at most in any window. */
    max: number;
    /** The window, in ms. */
    interval: number;
  };
}

/** A running worker. */
export interface WorkerHandle {
  /** The task names it runs. */
  readonly tasks: readonly string[];
  /** Stops taking jobs, lets the running ones finish, then resolves. Calling it again returns the same promise. */
  close(): Promise<void>;
  /** @internal Its thread pool (null with `threads: 0`). */
  readonly _pool?: ThreadPoolExecutor | null;
  /** @internal Its jobs, as `worker --dashboard` shows them (worker-jobs.ts). */
  readonly _jobs?: WorkerJobs;
}

/** A job the worker runs: its task's call on the thread pool, or inline. */
interface Running {
  /** On the thread pool: the task's call there; inline: null. */
  thread: ThreadRun | null;
  /** Aborts the task's taskSignal(). */
  abort: () => void;
  /** Ends the job at once as interrupted (its future is cancelled on the executor's side; `timeout`: it timed out). */
  interrupted: ((timeout: number | undefined) => void) | null;
}

/** Counts a job in from now, inside its trace context (the tracing channel's subscribers see it active). */
function startJob(jobs: WorkerJobs, name: string, timestamp: number | undefined, args: unknown[], chunk: boolean): JobRun {
  return jobs.started(name, timestamp, args, chunk);
}

/** A job refused before its task could start (unknown task, unreadable data) counts as a failed job: returns `error` to throw. */
function refused(jobs: WorkerJobs, name: string, submittedAt: number | undefined, error: Error): Error {
  jobs.started(String(name).slice(0, 200), submittedAt, [], false).done(false, error);
  return error;
}

/** A failed try of a job that has attempts left: its error goes to BullMQ, thrown. */
class TryAgain {
  constructor(readonly error: unknown) {}

  /** The outcome to return; throws the error of a try to be run again. */
  static unwrap(outcome: Outcome | TryAgain): Outcome {
    if (!(outcome instanceof TryAgain)) return outcome;
    throw outcome.error instanceof Error ? outcome.error : new Error(String(outcome.error));
  }
}

/** Starts a worker; resolves once its modules are loaded and it takes jobs. */
export async function runWorker(options: RunWorkerOptions): Promise<WorkerHandle> {
  if (options === null || typeof options !== 'object') throw new TypeError('runWorker(): options { connection, queueName, modules } are required');
  const {
    connection, queueName, modules, concurrency = 1, lockDuration = 10_000, stalledInterval = 5000,
    maxStalledCount = 1, prefix, interruptGrace = 1000, quickTasksInline = true,
  } = options;
  const threads = options.threads ?? Math.min(concurrency, availableParallelism());
  checkConnection(connection, 'runWorker()');
  checkQueueName(queueName, 'runWorker()');
  if (!Array.isArray(modules) || modules.length === 0) throw new TypeError('runWorker(): modules must be a non-empty array of task module paths or file: URLs');
  checkPositiveInteger(concurrency, 'concurrency');
  if (!Number.isInteger(threads) || threads < 0) throw new RangeError(`runWorker(): threads must be an integer >= 0, got ${String(threads)}`);
  checkPositiveInteger(lockDuration, 'lockDuration');
  checkPositiveInteger(stalledInterval, 'stalledInterval');
  if (!Number.isInteger(maxStalledCount) || maxStalledCount < 0) throw new RangeError('runWorker(): maxStalledCount must be an integer >= 0');
  if (typeof quickTasksInline !== 'boolean') throw new TypeError(`runWorker(): quickTasksInline must be a boolean, got ${typeof quickTasksInline}`);
  if (typeof interruptGrace !== 'number' || !(interruptGrace >= 0)) throw new RangeError('runWorker(): interruptGrace must be a number of milliseconds >= 0');
  const rateLimit = checkRateLimit(options.rateLimit, 'runWorker()');

  const table = await loadTasks(modules);
  // How a thread finds each task: by its module and its key there.
  const defs = new Map<string, TaskDef>();
  for (const [name, fn] of table) defs.set(name, taskDef(taskId(fn)));
  // Before anything is taken from the queue: a login that Redis refuses fails the start.
  const subscriber = ownClient(connection, true);
  subscriber.on('error', () => {});
  await untilReady(subscriber, 'runWorker()');
  const names = [...table.keys()].sort();
  const running = new Map<string, Running>();
  /** Interrupts for jobs not (yet) running here, by job id, with when they came. */
  const early = new Map<string, number>();
  // One pool for every job: a thread per job would spend more waking threads than many tasks take to run.
  const pool = threads === 0 ? null : new ThreadPoolExecutor({ maxWorkers: threads, threadNamePrefix: `${queueName}-worker` });
  // The worker traces its jobs itself: the pool's calls end too early to tell (worker-jobs.ts).
  pool?._untraced();
  const jobs = new WorkerJobs(concurrency);
  const placement = new Placement(quickTasksInline);

  const processor = async (job: Job): Promise<Outcome> => {
    // A Map of this worker's own names: '__proto__' or 'constructor' name no task.
    const fn = table.get(job.name);
    // Its wait is known on its first try only (worker-jobs.ts).
    const submittedAt = job.attemptsStarted > 1 ? undefined : job.timestamp;
    if (fn === undefined) {
      throw refused(jobs, job.name, submittedAt, new UnrecoverableError(`unknown task '${String(job.name).slice(0, 200)}': this worker runs ${names.map((n) => `'${n}'`).join(', ')}`));
    }
    let args: unknown[];
    let chunk: boolean;
    let trace: TraceCarrier | undefined;
    try {
      ({ args, chunk, trace } = decodeJob(job.data));
    } catch (error) {
      throw refused(jobs, job.name, submittedAt, new UnrecoverableError(`the job's arguments cannot be read: ${(error as Error)?.message ?? error}`));
    }
    if (early.size > 0) {
      const interruptedAt = early.get(job.id!);
      for (const [id, at] of early) if (Date.now() - at > 60_000) early.delete(id);
      if (interruptedAt !== undefined) {
        early.delete(job.id!);
        jobs.started(job.name, submittedAt, [], false).cancelled();
        return INTERRUPTED_OUTCOME;
      }
    }
    const key = chunk ? `${job.name}\0chunk` : job.name;
    const started = performance.now();
    let entry: Running;
    let outcome: Promise<Outcome | TryAgain>;
    // A try that fails while the job has attempts left is thrown to BullMQ, which counts it and runs the job again.
    const retried = job.attemptsMade + 1 < (job.opts.attempts ?? 1);
    // The task's progress becomes the job's, each update sent after the one before and all before the outcome.
    let updates: Promise<unknown> | null = null;
    const onProgress = (value: unknown): void => {
      const update = (): Promise<unknown> => job.updateProgress((value ?? null) as object).catch(() => {});
      updates = updates === null ? update() : updates.then(update);
    };
    // The job's one account, wherever its task runs (worker-jobs.ts): ended by its outcome, or by an interrupt.
    // Named as the submitting side names it (a module's own key for its task, not the job's qualified name).
    const record = inTrace(trace, startJob, jobs, traceName(fn), submittedAt, args, chunk);
    const encode = (result: { ok: boolean; value: unknown }): Outcome | TryAgain => {
      if (!result.ok && retried) {
        record.done(false, result.value);
        return new TryAgain(result.value);
      }
      // A result that cannot travel is the task's error (envelope.ts): the account says what the submitter sees.
      let refusedWhy: TypeError | null = null;
      const encoded = encodeOutcome(result.ok ? (chunk ? CHUNK : VALUE) : ERROR, result.value, (why) => (refusedWhy = why));
      if (refusedWhy === null) record.done(result.ok, result.value);
      else record.done(false, refusedWhy);
      return encoded;
    };
    if (pool === null || placement.inline(key)) {
      // The submitting side's context is active around the call: the task's spans are the submit span's children.
      const run = inTrace(trace, runInline, fn, args, chunk, onProgress);
      const settled = (result: { ok: boolean; value: unknown }): Outcome | TryAgain => {
        placement.ranInline(key, performance.now() - started);
        return encode(result);
      };
      // Returned at once: nothing could interrupt it, nothing to wait for.
      if (!(run.outcome instanceof Promise)) {
        const done = settled(run.outcome);
        if (updates !== null) await updates;
        return TryAgain.unwrap(done);
      }
      entry = { thread: null, abort: run.abort, interrupted: null };
      outcome = run.outcome.then(settled);
    } else {
      // Here around the submit to the pool, and on the thread around the call.
      const thread = inTrace(trace, runOnThread, pool, defs.get(job.name)!, args, chunk, onProgress, trace);
      entry = { thread, abort: () => thread.abort(), interrupted: null };
      outcome = thread.outcome.then((result) => {
        placement.ranOnThread(key, performance.now() - started);
        return encode(result);
      });
    }
    running.set(job.id!, entry);
    try {
      // An interrupt ends the job at once, whatever the task does.
      const done = await new Promise<Outcome | TryAgain>((resolve) => {
        entry.interrupted = (timeout) => {
          // A task that ignores its aborted signal runs on, but the job has ended, and so has its account.
          if (timeout === undefined) record.cancelled();
          else record.timedOut(timeout);
          resolve(INTERRUPTED_OUTCOME);
        };
        // A future cancelled by an interrupt rejects; the job ended as interrupted already. Anything else that
        // rejects is this worker's fault, and the task's failure: the submitter sees what went wrong.
        outcome.then(resolve, (error: unknown) => {
          if (!(error instanceof CancelledError)) return resolve(encode({ ok: false, value: error }));
          record.cancelled();
          resolve(INTERRUPTED_OUTCOME);
        });
      });
      if (updates !== null) await updates;
      return TryAgain.unwrap(done);
    } finally {
      running.delete(job.id!);
    }
  };

  // Interrupts: the executor publishes the job id; the worker running it aborts the task's signal.
  subscriber.on('message', (_channel: string, text: string) => {
    const message = parseInterrupt(text);
    if (message === null) return;
    const entry = running.get(message.jobId);
    if (entry === undefined) {
      // The executor may hear that a job started before this worker has called its processor.
      if (message.cancel) early.set(message.jobId, Date.now());
      return;
    }
    const cancel = message!.cancel;
    // BullMQ calls a job active before its thread has started it: one not started yet never starts.
    if (!(cancel && entry.thread?.future.cancel() === true)) entry.abort();
    if (!cancel) return;
    const interrupted = entry.interrupted;
    entry.interrupted = null;
    interrupted?.(message.timeout);
    const thread = entry.thread;
    if (thread === null) return;
    // A task that ignores its signal has its thread stopped (and replaced), unless other tasks wait
    // on the pool's threads: that thread may be theirs too, and they must not fail for this one.
    setTimeout(() => {
      for (const other of running.values()) if (other.thread?.waiting()) return;
      thread.future.cancel({ interrupt: true });
    }, interruptGrace).unref();
  });
  // Subscribed before the first job is taken: an interrupt for it must be heard.
  await subscriber.subscribe(interruptChannel(`${prefix ?? 'bull'}:${queueName}`));

  const workerOptions: WorkerOptions = {
    connection: ownClient(connection, true) as any,
    concurrency,
    lockDuration,
    stalledInterval,
    maxStalledCount,
    ...(prefix === undefined ? {} : { prefix }),
    ...(rateLimit === undefined ? {} : { limiter: { max: rateLimit.max, duration: Math.ceil(rateLimit.interval) } }),
  };
  const ownConnection = workerOptions.connection as unknown as Redis;
  ownConnection.on('error', () => {});
  const worker = new Worker(queueName, processor, workerOptions);
  worker.on('error', reportError);

  await worker.waitUntilReady();

  let closing: Promise<void> | null = null;
  return {
    tasks: names,
    _pool: pool,
    _jobs: jobs,
    close() {
      closing ??= (async () => {
        await worker.close();
        await pool?.shutdown();
        closeClient(subscriber);
        closeClient(ownConnection);
      })();
      return closing;
    },
  };
}

/** Imports each module and gathers its tasks into one table; a name defined twice is an error. */
async function loadTasks(modules: ReadonlyArray<string | URL>): Promise<Map<string, AnyFunction>> {
  const table = new Map<string, AnyFunction>();
  const origins = new Map<string, string>();
  for (const spec of modules) {
    const url = moduleUrl(spec);
    let namespace: Record<string, unknown>;
    try {
      namespace = await import(url);
    } catch (error) {
      const code = (error as { code?: string })?.code;
      const hint = code === 'ERR_UNKNOWN_FILE_EXTENSION' && /\.[cm]?tsx?$/.test(url) ? ' (a TypeScript module: start the worker under tsx, e.g. node --import tsx)' : '';
      throw new Error(`runWorker(): cannot load the task module ${url}${hint}: ${(error as Error)?.message ?? error}`, { cause: error });
    }
    const tasks = tasksOf(namespace);
    if (tasks.size === 0) throw new Error(`runWorker(): ${url} defines no tasks (export the object that defineTasks(import.meta.url, { ... }) returns)`);
    mergeTasks(table, origins, url, tasks);
  }
  return table;
}

function moduleUrl(spec: string | URL): string {
  if (spec instanceof URL) return spec.href;
  if (typeof spec !== 'string' || spec === '') throw new TypeError('runWorker(): each module must be a file path or a file: URL');
  if (spec.startsWith('file:')) return spec;
  return pathToFileURL(isAbsolute(spec) ? spec : resolve(spec)).href;
}

function checkPositiveInteger(value: unknown, name: string): void {
  if (!Number.isInteger(value) || (value as number) <= 0) throw new RangeError(`runWorker(): ${name} must be a positive integer, got ${String(value)}`);
}

let lastReport = '';
let lastReportAt = 0;

/** BullMQ reports connection trouble over and over while Redis is away: once every few seconds is enough. */
function reportError(error: Error): void {
  const text = `concurrent-futures worker: ${error?.message ?? error}`;
  const now = Date.now();
  if (text === lastReport && now - lastReportAt < 5000) return;
  lastReport = text;
  lastReportAt = now;
  console.error(text);
}
