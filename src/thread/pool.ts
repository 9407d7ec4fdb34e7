import { Worker, type ResourceLimits } from 'node:worker_threads';
import { checkOptions, describe } from '../checks.js';
import { BrokenThreadPoolError } from '../errors.js';
import { inheritedExecArgv } from '../exec-argv.js';
import { WorkerPoolExecutor } from '../pool/worker-pool.js';
import type { Transport, WorkerExit, WorkerHooks } from '../pool/transport.js';
import type { WorkerConfig } from '../pool/protocol.js';
import { SharedTaskStates } from '../pool/task-states.js';
import { MirrorReader, newMirror } from '../pool/held-results.js';
import { poolOptions } from '../pool/options.js';
import { poolChunking, type AutoChunking } from '../map/auto-chunks.js';
import { serveIfBundleThread, threadData, workerStart } from '../pool/bundle-worker.js';
import { serveThread } from './serve.js';
import { viewWorkers } from '../pool/worker-view.js';
import { MemoryProbe, type WorkerView } from '../worker-view.js';

/** The options of `ThreadPoolExecutor`. */
export interface ThreadPoolOptions {
  /** Workers at most; default `availableParallelism()`. */
  maxWorkers?: number;
  /** Worker names are `${threadNamePrefix}_${n}`; default `ThreadPoolExecutor-${pool}`. */
  threadNamePrefix?: string;
  /** Runs in each worker before its first task (self-contained or `defineTasks` function, sync or async); if it fails, the pool is broken (`BrokenThreadPoolError`). Default none. */
  initializer?: (...args: any[]) => unknown;
  /** The initializer's arguments (default none), cloned to each worker. */
  initargs?: unknown[];
  /** A worker is replaced after running this many tasks (default: never). */
  maxTasksPerWorker?: number;
  /**
   * Tasks a worker runs at once (default 1): a task that awaits leaves its
   * worker free for the next, so that tasks waiting on I/O overlap; tasks
   * that compute still run one at a time. With more than 1, interrupting a
   * task whose worker runs others aborts its `taskSignal()` only, and ends
   * the worker once its other tasks have ended if the task has not stopped
   * within a second. A `RangeError` unless a positive integer.
   */
  tasksPerWorker?: number;
  /** An idle worker exits after this many milliseconds (default: it stays until shutdown, without keeping the process alive). */
  idleTimeout?: number;
  /**
   * At most `max` tasks start in any `interval` ms (a sliding window; a start is the hand-off to a worker that runs
   * it at once; each `map` item is then a task of its own, whatever its `chunksize`). Default: no limit. A
   * `TypeError` for what is not `{ max, interval }` of numbers, a `RangeError` for `max` not an integer >= 1 or
   * `interval` not finite and > 0.
   */
  rateLimit?: {
    /** Task starts at most in any window. */
    max: number;
    /** The window, in ms. */
    interval: number;
  };
  /** Heap limits of each worker (default Node's); a worker that runs out fails its task with `BrokenThreadPoolError`. */
  resourceLimits?: ResourceLimits;
}

/** The worker's entry file, from the package's root folder. */
// A program bundled with this package starts itself as its pool's worker: there it serves the pool.
serveIfBundleThread(serveThread);

const WORKER_ENTRY = './thread/worker.js';
/** Every option's name, once: the compiler checks that none is missing. */
const OPTION_KEYS = Object.keys({
  maxWorkers: 1, threadNamePrefix: 1, initializer: 1, initargs: 1, maxTasksPerWorker: 1,
  tasksPerWorker: 1, idleTimeout: 1, rateLimit: 1, resourceLimits: 1,
} satisfies Record<keyof ThreadPoolOptions, 1>) as (keyof ThreadPoolOptions)[];
let pools = 0;

/**
 * Runs tasks on `worker_threads`: true parallelism across cores. Tasks are
 * self-contained functions (sent as source) or `defineTasks` functions.
 */
export class ThreadPoolExecutor extends WorkerPoolExecutor {
  private readonly prefix: string;
  private readonly resourceLimits: ResourceLimits | undefined;
  /** Each live thread's heap, by worker index, where Node can read it. */
  private readonly heaps = new Map<number, MemoryProbe>();
  /** How `map` sizes chunks without `chunksize`; null under a rate limit (each item's start counts). @internal */
  readonly _autoChunks: AutoChunking | null;
  /** What to call when each live thread ends, by its `threadId` (`_whenThreadEnds`). */
  private readonly endWatch = new Map<number, Set<() => void>>();

  /**
   * `new ThreadPoolExecutor(4)` or `new ThreadPoolExecutor({ maxWorkers: 4, ... })`; workers start lazily.
   * Throws a `RangeError` for `maxWorkers` below 1 (`maxWorkers must be greater than 0`) or another bad
   * count, a `TypeError` for an option of the wrong type.
   */
  constructor(options?: number | ThreadPoolOptions) {
    const opts: ThreadPoolOptions = typeof options === 'object' && options !== null ? checkOptions<ThreadPoolOptions>(options, 'new ThreadPoolExecutor()', OPTION_KEYS) : { maxWorkers: options };
    const pool = poolOptions(opts, opts.maxTasksPerWorker, 'maxTasksPerWorker', 'new ThreadPoolExecutor()');
    super(pool, 'thread');
    pools++;
    if (opts.threadNamePrefix !== undefined && typeof opts.threadNamePrefix !== 'string') throw new TypeError('threadNamePrefix must be a string');
    this.prefix = opts.threadNamePrefix || `ThreadPoolExecutor-${pools}`;
    this.resourceLimits = checkResourceLimits(opts.resourceLimits);
    // A chunk sent ahead to a thread can be withdrawn until it starts: two out per thread.
    this._autoChunks = pool.rateLimit === undefined ? poolChunking(this.maxWorkers, 2, 'thread') : null;
  }

  /**
   * @internal For the dashboard: every thread, idle ones included, busy or not, and its heap where Node tells it;
   * the tracing channel tells of busy threads only, as their tasks end, and `stats()` counts them.
   */
  _workerView(): WorkerView[] {
    return viewWorkers(this.workers, this.heaps);
  }

  /**
   * @internal Calls `fn` once the thread `threadId` of this pool has ended (at once if it has); returns what stops
   * the watch. For tasks that wait on a thread apart from the pool (bullmq/thread-call.ts): under Deno their port
   * tells nothing when the thread ends.
   */
  _whenThreadEnds(threadId: number, fn: () => void): () => void {
    const watchers = this.endWatch.get(threadId);
    if (watchers === undefined) {
      fn();
      return () => {};
    }
    watchers.add(fn);
    return () => watchers.delete(fn);
  }

  /** @internal Publishes nothing on the tracing channel: its owner traces the work it gives the pool (the BullMQ worker's, bullmq/worker-jobs.ts). */
  _untraced(): void {
    this._times.traced = false;
  }

  /** @internal */
  protected _spawn(hooks: WorkerHooks): Transport {
    const states = new SharedTaskStates();
    const mirror = newMirror();
    const name = `${this.prefix}_${hooks.index}`;
    const config: WorkerConfig = {
      name,
      states: states.shared,
      mirror,
      initializer: this._options.initializer,
      initargs: this._options.initargs,
      tasksPerWorker: this._options.tasksPerWorker,
    };
    const start = workerStart(WORKER_ENTRY);
    const worker = startWorker(start.file, { workerData: threadData(config, start), name, resourceLimits: this.resourceLimits });
    const threadId = worker.threadId;
    this.endWatch.set(threadId, new Set());
    worker.once('exit', () => {
      const watchers = this.endWatch.get(threadId);
      this.endWatch.delete(threadId);
      for (const fn of watchers ?? []) fn();
    });
    worker.on('message', hooks.onMessage);
    worker.on('messageerror', hooks.onDropped);
    worker.on('error', (error: Error & { code?: string }) => {
      hooks.setReason(error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? `out of memory (${error.message})` : `${error.name}: ${error.message}`);
    });
    // Deno emits 'exit' inside terminate(); the pool's bookkeeping around the call (an interrupt
    // marking its task cancelled, a retire) must finish first, as it does on Node and Bun.
    let terminating = false;
    worker.on('exit', (code) => (terminating ? process.nextTick(hooks.onExit, code) : hooks.onExit(code)));
    // Node 22.16 and later tell a thread's heap; before, the dashboard shows no memory for threads.
    const heap = (worker as { getHeapStatistics?: () => Promise<{ used_heap_size: number }> }).getHeapStatistics;
    if (typeof heap === 'function') {
      this.heaps.set(hooks.index, new MemoryProbe(() => heap.call(worker).then((h) => h.used_heap_size)));
      worker.once('exit', () => this.heaps.delete(hooks.index));
    }

    // The pool holds the process open while it has work; an idle worker must not.
    // (After the listeners: adding a 'message' listener refs the worker again.)
    worker.unref();
    return {
      states,
      mirror: new MirrorReader(mirror),
      post: (message, transferList) => worker.postMessage(message, transferList as any[]),
      probe: structuredClone,
      terminate: () => {
        terminating = true;
        try {
          void worker.terminate();
        } finally {
          terminating = false;
        }
      },
    };
  }

  /** @internal */
  protected _brokenWorkerError(code: number | null, _signal: unknown, reason: string | undefined): BrokenThreadPoolError {
    const error = new BrokenThreadPoolError(
      `A worker thread ended while running this task (exit code ${code}${reason ? `, ${reason}` : ''}); the pool replaced it`,
    );
    error.exitCode = code ?? undefined;
    error.reason = reason;
    return error;
  }

  /** @internal */
  protected _brokenPoolError(cause: unknown, message?: string, exit?: WorkerExit): BrokenThreadPoolError {
    const error = new BrokenThreadPoolError(message ?? 'A thread initializer failed, the thread pool is not usable anymore', cause === undefined ? undefined : { cause });
    if (exit !== undefined) {
      if (exit.code !== null) error.exitCode = exit.code;
      error.reason = exit.reason;
    }
    return error;
  }
}

/** Below this old-generation size a worker cannot even start, and Node 22 then ends the whole process. */
const MIN_OLD_GENERATION_MB = 4;

function checkResourceLimits(limits: unknown): ResourceLimits | undefined {
  if (limits === undefined) return undefined;
  if (limits === null || typeof limits !== 'object') throw new TypeError(`resourceLimits must be an object, got ${describe(limits)}`);
  for (const [key, value] of Object.entries(limits)) {
    if (typeof value !== 'number' || !(value > 0)) throw new RangeError(`resourceLimits.${key} must be a number of megabytes above 0, got ${describe(value)}`);
  }
  const old = (limits as ResourceLimits).maxOldGenerationSizeMb;
  if (old !== undefined && old < MIN_OLD_GENERATION_MB) {
    throw new RangeError(
      `resourceLimits.maxOldGenerationSizeMb must be at least ${MIN_OLD_GENERATION_MB}, got ${old}: a worker cannot start with less (and Node 22 ends the whole process when one tries)`,
    );
  }
  return limits as ResourceLimits;
}

type WorkerOptions = NonNullable<ConstructorParameters<typeof Worker>[1]> & { name?: string };

/** Flags a worker refuses (`--expose-gc`, say), learnt from the first refusal. */
let refusedFlags: Set<string> | null = null;

function startWorker(file: URL, options: WorkerOptions): Worker {
  const execArgv = workerExecArgv();
  try {
    return new Worker(file, execArgv === undefined ? options : { ...options, execArgv });
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV' || refusedFlags !== null) throw error;
    refusedFlags = new Set((error as Error).message.replace(/^[^:]*:\s*/, '').split(/,\s*/));
    return startWorker(file, options);
  }
}

/** The inherited flags, or undefined when all apply (the Worker default, which also drops what workers refuse). */
function workerExecArgv(): string[] | undefined {
  const out = inheritedExecArgv(refusedFlags);
  return out.length === process.execArgv.length ? undefined : out;
}
