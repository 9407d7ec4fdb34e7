/**
 * The `Executor` API over a BullMQ queue: each task is a job that a worker on
 * any machine runs (`runWorker`). Futures are settled from the queue's event
 * stream, read from a position pinned before the first job is added; after a
 * reconnect, or a long silence, the jobs themselves are looked at, so that no
 * missed event leaves a future pending forever (reconcile.ts).
 */
import { randomBytes } from 'node:crypto';
import { Queue, type JobsOptions, type QueueOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { BrokenExecutorError } from '../errors.js';
import { Executor, type ExecutorStats } from '../executor.js';
import type { Future } from '../future.js';
import { microtask } from '../microtask.js';
import { chunkLength, cutShort, type Chunk, type ChunkOutcome } from '../chunk.js';
import type { AutoChunking } from '../map/auto-chunks.js';
import type { HeldItems } from '../map/chunks.js';
import { checkConnection, closeClient, FirstConnect, ownClient, refClient, type RedisConnection } from './connection.js';
import { decodeOutcome, encodeArgs, encodeChunk, ERROR, INTERRUPTED, type JobData } from './envelope.js';
import { EventReader, type QueueEvent } from './events.js';
import { interruptChannel, type InterruptMessage } from './interrupts.js';
import { Reconciler, type JobBook } from './reconcile.js';
import { checkQueueName, taskName } from './naming.js';
import { DEFAULT_JOB_OPTIONS, JobFuture, jobOptionsOf, parseJobJson } from './job-future.js';
import { activeTrace } from './trace-context.js';
import { TaskControl, type TaskSettings } from '../task-options.js';
import { JobTiming } from './timing.js';

/** The options of `BullMQExecutor`; the rest of BullMQ's `QueueOptions` (`prefix`, `defaultJobOptions`, …) pass through. */
export interface BullMQExecutorOptions extends Omit<QueueOptions, 'connection'> {
  /** A `redis://` or `rediss://` URL, ioredis options, or an ioredis client (duplicated, never closed by the executor). */
  connection: RedisConnection;
  /** The queue the workers take jobs from. */
  queueName: string;
  /** After this many ms without an event for its jobs while some are pending, it reads the jobs in Redis (default 10000). */
  reconcileInterval?: number;
}

/**
 * Events the queue's stream keeps (BullMQ's default, 10,000, is ~2,500 jobs: adding 10,000 at once, the
 * stream was trimmed past the reader in every run here, and the lost events' futures read job by job).
 */
const EVENTS_KEPT = 100_000;

/** Jobs per `addBulk`. */
const ADD_SLICE = 64;

/** Adds that failed for want of Redis are tried again after this long. */
const RETRY_ADD_MS = 500;

/**
 * Runs `defineTasks` functions on workers anywhere, through a BullMQ queue.
 * Start workers with `runWorker()` or `concurrent-futures worker`.
 */
export class BullMQExecutor extends Executor {
  /** The queue's name. */
  readonly queueName: string;
  /** This executor's mark on its job ids: `${id}-${n}`. Other executors' jobs are none of its business. */
  readonly id = `cf${randomBytes(6).toString('hex')}`;
  private readonly queue: Queue;
  private readonly commands: Redis;
  private readonly reader: EventReader;
  private readonly jobOptions: JobsOptions;
  private readonly channel: string;
  private readonly pending = new Map<string, JobFuture<any>>();
  private toAdd: JobFuture<any>[] = [];
  private flushScheduled = false;
  private readonly flushNow = (): void => this.flush();
  /** Adds and withdrawals on their way to Redis. */
  private adding = 0;
  private nextJob = 1;
  /** Jobs a worker has started, of those pending. */
  private running = 0;
  private readonly reconciler: Reconciler<JobFuture<any>>;
  private readonly times = new JobTiming(this._counters, this);
  private closed = false;
  private broken: BrokenExecutorError | null = null;
  private readonly firstConnect: FirstConnect;

  constructor(options: BullMQExecutorOptions) {
    super();
    if (options === null || typeof options !== 'object') throw new TypeError('new BullMQExecutor(): options { connection, queueName } are required');
    const { connection, queueName, reconcileInterval = 10_000, ...queueOptions } = options;
    checkConnection(connection, 'new BullMQExecutor()');
    checkQueueName(queueName, 'new BullMQExecutor()');
    if (typeof reconcileInterval !== 'number' || !(reconcileInterval > 0)) throw new RangeError('new BullMQExecutor(): reconcileInterval must be a positive number of milliseconds');
    this.queueName = queueName;
    this.jobOptions = { ...DEFAULT_JOB_OPTIONS, ...queueOptions.defaultJobOptions };
    // Commands wait through an outage instead of failing after ioredis' 20 retries: nothing submitted is dropped.
    this.commands = ownClient(connection, true);
    this.commands.on('error', () => {});
    this.commands.on('ready', () => refClient(this.commands, this.pending.size > 0));
    const streams = queueOptions.streams ?? { events: { maxLen: EVENTS_KEPT } };
    this.queue = new Queue(queueName, { ...queueOptions, streams, connection: this.commands as any });
    this.queue.on('error', () => {});
    this.reconciler = new Reconciler(this.commands, `${this.queue.qualifiedName}:`, reconcileInterval, this.jobBook());
    this.channel = interruptChannel(this.queue.qualifiedName);
    const mine = `${this.id}-`;
    this.reader = new EventReader(
      ownClient(connection, true),
      this.queue.keys.events!,
      (jobId) => jobId.startsWith(mine),
      (event) => this.onEvent(event),
      () => this.reconciler.schedule(),
    );
    // The position is taken now, before anything is added: no event of ours can come before it.
    this.reader.pin().catch(() => {});
    refClient(this.commands, false);
    // A refused login never comes right by waiting, nor at shutdown a Redis never reached: futures fail, submits throw.
    this.firstConnect = new FirstConnect(this.commands, 'BullMQExecutor', (why) => this.breakWith(why));
  }

  private breakWith(cause: unknown): void {
    this.broken = new BrokenExecutorError(`the executor cannot reach its queue: ${(cause as Error)?.message ?? cause}`, { cause });
    this.toAdd = [];
    for (const f of [...this.pending.values()]) this.fail(f, this.broken);
    // The adds on their way fail with the commands queued on the clients, and end.
    this.reader.close();
    closeClient(this.commands);
    this.checkIdle();
  }

  private checkUsable(): void {
    this._checkOpen();
    if (this.broken !== null) throw this.broken;
  }

  submit<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Future<Awaited<R>> {
    this.checkUsable();
    return this.enqueue(fn, { a: encodeArgs(args) });
  }

  /**
   * Per-task options as BullMQ's own job options (job-future.ts); BullMQ does
   * the retrying, and `timeout` counts from the job's `active` event. @internal
   */
  override _submitWith(settings: TaskSettings, fn: (...args: any[]) => unknown, args: unknown[]): Future<any> {
    this.checkUsable();
    const opts = jobOptionsOf(settings);
    const future = this.enqueue(fn, { a: encodeArgs(args) });
    future.opts = opts;
    future._control = new TaskControl({ ...settings, attempts: 0 }, future);
    return future;
  }
  /** @internal How `map` sizes chunks without `chunksize`: a job costs ~0.4 ms of Redis, and its workers are not seen from here. */
  readonly _autoChunks: AutoChunking = { targetMs: 25, maxItems: 16_384, inFlight: 8, spare: 4, kind: 'bullmq' };

  /** @internal */
  submitChunk(fn: (...args: any[]) => unknown, chunk: Chunk, held?: HeldItems): Future<ChunkOutcome<any>> {
    this.checkUsable();
    const { a, cut } = encodeChunk(chunk);
    // Its first item cannot travel: that item's failure is the whole outcome, and no job is needed.
    if (a === null) return this.times.unsent(fn, chunkLength(chunk), cut, held?.traces);
    return this.enqueue(fn, { a, c: 1 }, chunkLength(chunk), cut, held);
  }

  stats(): ExecutorStats {
    // Workers live on other machines: the executor does not see them (nor their utilization).
    return this._counters.snapshot(0, 0, this.running, NaN);
  }

  private enqueue(fn: (...args: any[]) => unknown, data: JobData, items = 0, cut: TypeError | null = null, held?: HeldItems): JobFuture<any> {
    const context = activeTrace();
    if (context !== undefined) data.t = context;
    const future = new JobFuture<any>(this, `${this.id}-${this.nextJob++}`, taskName(fn), data);
    future.cut = cut;
    const trace = this.times.submitted(future, fn, items, held);
    // Registered before the add: its events can arrive before the add's reply.
    this.pending.set(future.jobId, future);
    this._counters.added(future.items);
    if (this.pending.size === 1) this.watchJobs(true);
    // start and end wrap the queueing (tracing.ts); registered, it can be cancelled in start (the flush skips it).
    trace?.submitted();
    this.toAdd.push(future);
    this.scheduleFlush(0);
    trace?.submitEnded();
    return future;
  }

  private scheduleFlush(delay: number): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    if (delay === 0) microtask(this.flushNow);
    else setTimeout(this.flushNow, delay).unref();
  }

  /**
   * Adds the jobs submitted since the last flush, in slices sent at once: one
   * huge transaction would hold Redis (and so every worker) until all of it is in.
   */
  private flush(): void {
    this.flushScheduled = false;
    const batch = this.toAdd.filter((f) => !f.done());
    this.toAdd = [];
    for (let i = 0; i < batch.length; i += ADD_SLICE) void this.add(batch.slice(i, i + ADD_SLICE));
  }

  private async add(batch: JobFuture<any>[]): Promise<void> {
    this.adding++;
    try {
      await this.reader.pin();
      // One job: a plain add spares addBulk's transaction.
      if (batch.length === 1) await this.queue.add(batch[0]!.name, batch[0]!.data, batch[0]!.jobOptions(this.jobOptions));
      else await this.queue.addBulk(batch.map((f) => ({ name: f.name, data: f.data, opts: f.jobOptions(this.jobOptions) })));
      for (const f of batch) {
        f.added = true;
        // Cancelled while the add was on its way: take the job back.
        if (f.cancelled()) this.withdraw(f);
      }
    } catch (error) {
      if (this.closed || this.broken !== null) {
        for (const f of batch) this.fail(f, this.broken ?? error);
      } else {
        // Redis unreachable: the same job ids make a repeated add harmless if the first did arrive.
        this.toAdd.unshift(...batch);
        this.scheduleFlush(RETRY_ADD_MS);
      }
    } finally {
      this.adding--;
      this.checkIdle();
    }
  }

  private onEvent(event: QueueEvent): void {
    const future = this.pending.get(event.jobId);
    if (future === undefined) return;
    this.reconciler.heard();
    this.times.heard(future, event);
    switch (event.event) {
      case 'active':
        this.markRunning(future);
        break;
      case 'waiting':
      case 'delayed':
        // After `active`: BullMQ runs the job again (its attempts).
        if (future.state === 'RUNNING') this.markQueued(future);
        break;
      case 'progress':
        future._reportProgress(parseJobJson(event.data));
        break;
      case 'completed':
        this.complete(future, parseJobJson(event.returnvalue));
        break;
      case 'failed':
        this.fail(future, new Error(event.failedReason ?? 'the job failed'));
        break;
    }
  }

  private markRunning(future: JobFuture<any>): void {
    if (future.state !== 'PENDING') return;
    future._setRunning();
    this.times.started(future);
    this.running++;
    future._control?.started();
  }

  private markQueued(future: JobFuture<any>): void {
    future._control?.tryEnded();
    future._setPending();
    this.running--;
  }

  /** Settles a future from its job's result, read from an event or from the job. */
  private complete(future: JobFuture<any>, returnvalue: unknown): void {
    let kind: number;
    let value: unknown;
    try {
      [kind, value] = decodeOutcome(returnvalue);
    } catch (error) {
      this.fail(future, error);
      return;
    }
    // Only this executor's cancel, which settled the future first, ends a job so: a worker's fault leaves none pending.
    if (kind === INTERRUPTED) return this.fail(future, new Error(`job ${future.jobId}: its worker ended it as interrupted, which this executor did not ask for`));
    if (kind === ERROR) return this.fail(future, value);
    if (!this.forget(future)) return;
    if (future.cut !== null) value = cutShort(value as ChunkOutcome<unknown>, future.cut);
    this.times.ended(future, true, value);
    future.setResult(value); // for a chunk, its values and the failure that ended it: what `map` reads
    this.checkIdle();
  }

  private fail(future: JobFuture<any>, error: unknown): void {
    if (!this.forget(future)) return;
    this.times.ended(future, false, error);
    future.setException(error);
    this.checkIdle();
  }

  /** Takes a future that is about to be done off the books; `false` when it is done already. */
  private forget(future: JobFuture<any>): boolean {
    if (future.done() || !this.pending.delete(future.jobId)) return false;
    if (future.state === 'RUNNING') this.running--;
    this._counters.removed(future.items);
    return true;
  }

  /** @internal */
  cancelQueued(future: Future<any>): boolean {
    const f = future as JobFuture<any>;
    if (!this.pending.has(f.jobId)) return false;
    this.forget(f);
    this._counters.cancelled += f.items;
    // Not added yet: the flush skips it. Added: the job is taken back unless a worker has it.
    if (f.added) this.withdraw(f);
    this.checkIdle();
    return true;
  }

  /** @internal */
  interrupt(future: Future<any>): boolean {
    const f = future as JobFuture<any>;
    if (f.state !== 'RUNNING' || !this.pending.has(f.jobId)) return false;
    this.forget(f);
    this._counters.interrupted(f, f.items, f.ticket, false); // its worker counts the busy time
    // A timeout's interrupt says so: the worker's account of the job shows it failed, as this side does.
    const control = f._control;
    this.publish(control?.timingOut === true ? { jobId: f.jobId, cancel: true, timeout: control.settings.timeout } : { jobId: f.jobId, cancel: true });
    this.checkIdle();
    return true;
  }

  /**
   * Removes a job that no worker has taken. A finished job is left alone:
   * BullMQ's remove would delete it too, and its outcome may still be read.
   */
  private withdraw(future: JobFuture<any>): void {
    // Counted like an add: shutdown closes the connections only once the job is off the queue.
    this.adding++;
    void (async () => {
      const state = await this.queue.getJobState(future.jobId);
      if (state === 'waiting' || state === 'delayed' || state === 'prioritized' || state === 'waiting-children') {
        await this.queue.remove(future.jobId);
      }
    })()
      .catch(() => {
        // A job a worker took meanwhile runs; its outcome is ignored.
      })
      .finally(() => {
        this.adding--;
        this.checkIdle();
      });
  }

  private publish(message: InterruptMessage): void {
    this.commands.publish(this.channel, JSON.stringify(message)).catch(() => {});
  }

  /** What reconciliation reads and settles: the pending futures. */
  private jobBook(): JobBook<JobFuture<any>> {
    const pending = this.pending;
    return {
      pending: () => pending.values(),
      get size() {
        return pending.size;
      },
      ended: (f, returnvalue, failedReason) => {
        if (returnvalue !== null) this.complete(f, parseJobJson(returnvalue));
        else this.fail(f, new Error(failedReason ?? 'the job failed'));
      },
      started: (f) => this.markRunning(f),
      lost: (futures) => {
        this.toAdd.push(...futures);
        this.scheduleFlush(0);
      },
      done: () => this.checkIdle(),
    };
  }

  /** While jobs are pending (`on`): holds the process, reads their events, and watches for silence; lets go when idle. */
  private watchJobs(on: boolean): void {
    if (on) this._keepAlive.hold();
    else this._keepAlive.release();
    refClient(this.commands, on);
    this.reconciler.watch(on);
    this.reader.want(on);
  }

  /** @internal */
  protected _beginShutdown(cancelFutures: boolean, wait: boolean): void {
    this.firstConnect.giveUp();
    if (cancelFutures) {
      for (const f of [...this.pending.values()]) {
        if (f.state === 'PENDING') f.cancel();
        // Python lets running tasks finish; a non-waiting shutdown also aborts their taskSignal().
        else if (!wait) this.publish({ jobId: f.jobId, cancel: false });
      }
    }
    this.checkIdle();
  }

  /** Once nothing is pending: lets the process go, and after `shutdown()` closes the connections. */
  private checkIdle(): void {
    if (this.pending.size > 0 || this.adding > 0) return;
    this.watchJobs(false);
    if (!this._shutdown || this.closed) return;
    this.closed = true;
    void (async () => {
      try {
        await this.queue.close();
      } catch {
        // closing a connection that Redis already dropped
      }
      this.reader.close();
      closeClient(this.commands);
      this._terminated();
    })();
  }
}
