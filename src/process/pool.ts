import { fork, type ChildProcess } from 'node:child_process';
import { serialize } from 'node:v8';
import { checkOptions } from '../checks.js';
import { BrokenProcessPoolError } from '../errors.js';
import { poolOptions } from '../pool/options.js';
import { inheritedExecArgv } from '../exec-argv.js';
import { WorkerPoolExecutor } from '../pool/worker-pool.js';
import { poolChunking, type AutoChunking } from '../map/auto-chunks.js';
import { describeExit, type Transport, type WorkerExit, type WorkerHooks } from '../pool/transport.js';
import type { ConfigMessage, WorkerConfig } from '../pool/protocol.js';
import { OrderedTaskStates } from '../pool/task-states.js';
import { childEnv, serveIfBundleChild, workerStart } from '../pool/bundle-worker.js';
import { serveChild } from './serve.js';
import { viewWorkers } from '../pool/worker-view.js';
import { MemoryProbe, type WorkerView } from '../worker-view.js';
import { childMemory } from './memory.js';

/** The options of `ProcessPoolExecutor`. */
export interface ProcessPoolOptions {
  /** Child processes at most; default `availableParallelism()`. */
  maxWorkers?: number;
  /** Runs in each child before its first task (self-contained or `defineTasks` function, sync or async); if it fails, the pool is broken (`BrokenProcessPoolError`). Default none. */
  initializer?: (...args: any[]) => unknown;
  /** The initializer's arguments (default none), cloned to each worker. */
  initargs?: unknown[];
  /** A child is replaced by a fresh process after running this many tasks (default: never). */
  maxTasksPerChild?: number;
  /**
   * Tasks a child runs at once (default 1): a task that awaits leaves its
   * worker free for the next, so that tasks waiting on I/O overlap; tasks
   * that compute still run one at a time. With more than 1, interrupting a
   * task whose worker runs others aborts its `taskSignal()` only, and ends
   * the child once its other tasks have ended if the task has not stopped
   * within a second. A `RangeError` unless a positive integer.
   */
  tasksPerWorker?: number;
  /** An idle child exits after this many milliseconds (default: it stays until shutdown, without keeping the process alive). */
  idleTimeout?: number;
  /**
   * At most `max` tasks start in any `interval` ms (a sliding window; a start is the hand-off to a child that runs
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
  /** The children's environment; default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Node flags of the children (e.g. `--max-old-space-size=512`); default `process.execArgv`. */
  execArgv?: string[];
}

/** The child's entry file, from the package's root folder. */
// A program bundled with this package starts itself as its pool's child: there it serves the pool.
serveIfBundleChild(serveChild);

const CHILD_ENTRY = './process/child.js';
/** Every option's name, once: the compiler checks that none is missing. */
const OPTION_KEYS = Object.keys({
  maxWorkers: 1, initializer: 1, initargs: 1, maxTasksPerChild: 1, tasksPerWorker: 1,
  idleTimeout: 1, rateLimit: 1, env: 1, execArgv: 1,
} satisfies Record<keyof ProcessPoolOptions, 1>) as (keyof ProcessPoolOptions)[];

/**
 * Runs tasks in child processes (`child_process.fork`): isolation for code
 * that may crash, leak or need per-task process state. A child that dies
 * mid-task fails that task with `BrokenProcessPoolError`; the pool replaces
 * the child and keeps serving (Python would mark the whole pool broken).
 */
export class ProcessPoolExecutor extends WorkerPoolExecutor {
  private readonly env: NodeJS.ProcessEnv | undefined;
  private readonly execArgv: string[] | undefined;
  private readonly children = new Set<ChildProcess>();
  /** Each live child's resident memory, by worker index, where the system tells it. */
  private readonly rss = new Map<number, MemoryProbe>();
  /** How `map` sizes chunks without `chunksize`; null under a rate limit (each item's start counts). @internal */
  readonly _autoChunks: AutoChunking | null;

  /**
   * `new ProcessPoolExecutor(4)` or `new ProcessPoolExecutor({ maxWorkers: 4, ... })`; children start lazily.
   * Throws a `RangeError` for `maxWorkers` below 1 (`maxWorkers must be greater than 0`) or another bad
   * count, a `TypeError` for an option of the wrong type.
   */
  constructor(options?: number | ProcessPoolOptions) {
    const opts: ProcessPoolOptions = typeof options === 'object' && options !== null ? checkOptions<ProcessPoolOptions>(options, 'new ProcessPoolExecutor()', OPTION_KEYS) : { maxWorkers: options };
    const pool = poolOptions(opts, opts.maxTasksPerChild, 'maxTasksPerChild', 'new ProcessPoolExecutor()');
    if (opts.execArgv !== undefined && (!Array.isArray(opts.execArgv) || opts.execArgv.some((a) => typeof a !== 'string'))) {
      throw new TypeError('execArgv must be an array of strings');
    }
    if (opts.env !== undefined && (opts.env === null || typeof opts.env !== 'object')) throw new TypeError('env must be an object');
    super(pool, 'process');
    this.env = opts.env;
    this.execArgv = opts.execArgv;
    // A chunk sent to a child cannot be withdrawn: one out per child, so that leaving map early finishes no more.
    this._autoChunks = pool.rateLimit === undefined ? poolChunking(this.maxWorkers, 1, 'process') : null;
  }

  /**
   * @internal For the dashboard: every child, idle ones included, busy or not, and its resident memory where the
   * system tells it; the tracing channel tells of busy children only, as their tasks end, and `stats()` counts them.
   */
  _workerView(): WorkerView[] {
    return viewWorkers(this.workers, this.rss);
  }

  /** @internal */
  protected _spawn(hooks: WorkerHooks): Transport {
    const start = workerStart(CHILD_ENTRY);
    const child = fork(start.file, [], {
      serialization: 'advanced',
      env: childEnv(this.env, start),
      execArgv: this.execArgv ?? inheritedExecArgv(),
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    });
    this.children.add(child);
    const pid = child.pid;
    if (pid !== undefined) this.rss.set(hooks.index, new MemoryProbe(() => childMemory(pid)));
    child.on('message', hooks.onMessage as (m: unknown) => void);
    child.on('error', (error) => hooks.setReason(`${error.name}: ${error.message}`));
    // 'close', not 'exit': only then has every message the child sent been read.
    child.on('close', (code, signal) => {
      this.children.delete(child);
      this.rss.delete(hooks.index);
      hooks.onExit(code, signal);
    });
    const config: WorkerConfig = {
      name: `ProcessPoolExecutor_${hooks.index}`,
      states: null,
      mirror: null,
      initializer: this._options.initializer,
      initargs: this._options.initargs,
      tasksPerWorker: this._options.tasksPerWorker,
    };
    child.send({ config } satisfies ConfigMessage);
    // The pool holds the process open while it has work; an idle child must not.
    child.unref();
    // Bun's channel has no unref(); there child.unref() alone lets the parent exit (test/runtimes/suite.mjs).
    const channel = (child as { channel?: { unref?: () => void } }).channel;
    if (typeof channel?.unref === 'function') channel.unref();
    return {
      states: new OrderedTaskStates(),
      mirror: null,
      post: (message) => void child.send(message),
      // What the channel's advanced serialization is built on.
      probe: serialize,
      terminate: () => void child.kill('SIGKILL'),
    };
  }

  /** @internal */
  protected _brokenWorkerError(code: number | null, signal: string | null | undefined, reason: string | undefined): BrokenProcessPoolError {
    const error = new BrokenProcessPoolError(`A child process ${describeExit(code, signal)} while running this task${reason ? ` (${reason})` : ''}; the pool replaced it`);
    error.exitCode = code;
    error.signal = (signal ?? null) as NodeJS.Signals | null;
    error.reason = reason;
    return error;
  }

  /** @internal */
  protected _brokenPoolError(cause: unknown, message?: string, exit?: WorkerExit): BrokenProcessPoolError {
    const error = new BrokenProcessPoolError(message ?? 'A process initializer failed, the process pool is not usable anymore', cause === undefined ? undefined : { cause });
    if (exit !== undefined) {
      if (exit.code !== null || exit.signal !== null) {
        error.exitCode = exit.code;
        error.signal = exit.signal as NodeJS.Signals | null;
      }
      error.reason = exit.reason;
    }
    return error;
  }
}
