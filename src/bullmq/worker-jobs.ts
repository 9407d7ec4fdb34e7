/**
 * A BullMQ worker's account of the jobs it runs: what `worker --dashboard`
 * shows and what the worker publishes on the tracing channel. A job counts
 * from the call of its processor to its outcome, wherever its task runs: on
 * the worker's event loop, or on a thread, computing or waiting there.
 *
 * The worker's thread pool cannot keep this account: a task that awaits
 * answers the pool's call at once and ends later on a port of its own
 * (thread-call.ts), so the pool would show it done when it first awaits. So
 * the pool publishes nothing, and this is the one account: a running job
 * holds one of the worker's `concurrency` slots, as a task holds one of an
 * `AsyncPoolExecutor`'s, and its slot is its `worker` in the tracing context.
 * Its wait is from its submit (the job's timestamp, the submitter's clock)
 * to the call of its processor, on its first try; a later try's wait is
 * counted as none, the worker cannot tell when it was queued again.
 * @internal
 */
import { chunkLength, itemsRan, type Chunk, type ChunkOutcome } from '../chunk.js';
import { timerTimeoutError } from '../errors.js';
import { Executor, type ExecutorStats } from '../executor.js';
import { ChunkTrace, TaskTrace, TraceSources, tracing } from '../tracing.js';
import { addRunning, type WorkerView } from '../worker-view.js';

/** A done future's states, as a trace reads them (future.ts). */
const CANCELLED = 2;
const FINISHED = 3;

/** One job running on the worker. */
export class JobRun {
  constructor(
    private readonly jobs: WorkerJobs,
    readonly slot: number,
    /** Its `map` items: a chunk's length, else 1. */
    readonly items: number,
    readonly chunk: boolean,
    readonly ticket: number,
    readonly trace: TaskTrace | ChunkTrace | null,
    readonly startedAt: number,
  ) {}

  /** It ended: `ok` with its value (a chunk's outcome), or failed with `value` as its error. The first end counts; later ones do nothing. */
  done(ok: boolean, value: unknown): void {
    this.jobs.ended(this, ok ? FINISHED : -1, value);
  }

  /** It was interrupted (its future cancelled on the executor's side): its items count as cancelled. */
  cancelled(): void {
    this.jobs.ended(this, CANCELLED, undefined);
  }

  /** It was interrupted as its `timeout` (ms) ran out: failed with TimeoutError, as its future on the executor's side. */
  timedOut(timeout: number): void {
    this.done(false, timerTimeoutError(`the task timed out after ${timeout} ms`));
  }
}

/** The jobs of one worker, as an executor that the dashboard can show; nothing can be submitted to it. */
export class WorkerJobs extends Executor {
  /** Running jobs by slot; slots are made as needed, at most `concurrency`. */
  private readonly slots: (JobRun | null)[] = [];
  private readonly freeSlots: number[] = [];
  private running = 0;
  private readonly sources = new TraceSources(this, 'bullmq');

  constructor(readonly concurrency: number) {
    super();
    this._counters.latency.workers(concurrency, performance.now());
  }

  submit(): never {
    throw new TypeError("a worker's jobs come from its queue: submit them with a BullMQExecutor");
  }

  stats(): ExecutorStats {
    const now = performance.now();
    let runningMs = 0;
    for (const run of this.slots) if (run !== null) runningMs += this._counters.latency.runningIn(run.ticket, now);
    return this._counters.snapshot(this.concurrency, this.concurrency - this.running, this.running, runningMs);
  }

  /** @internal For the dashboard: the slots used so far, idle ones included. */
  _workerView(): WorkerView[] {
    return this.slots.map((run, id) => {
      const running: TaskTrace[] = [];
      if (run !== null) addRunning(running, run.trace);
      return { id, busy: run !== null, memory: undefined, running };
    });
  }

  /**
   * The job of task `name`, submitted at `timestamp` (ms since the epoch; undefined on a later try),
   * starts now with `args` (a chunk of `map` items when `chunk`).
   */
  started(name: string, timestamp: number | undefined, args: unknown[], chunk: boolean): JobRun {
    const now = performance.now();
    const queuedAt = timestamp === undefined ? now : now - Math.max(0, Date.now() - timestamp);
    const items = chunk ? chunkLength(args as Chunk) : 1;
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.slots.length;
      this.slots.push(null);
    }
    // Every job is timed: a job costs a round trip to Redis, a clock read is nothing beside it.
    const latency = this._counters.latency;
    // Taken now and queued at `queuedAt`: the utilization window starts with this worker's first job, not its first submit.
    const ticket = latency.ticket(now);
    latency.startedNow(ticket, queuedAt);
    let trace: TaskTrace | ChunkTrace | null = null;
    if (tracing()) {
      if (chunk) trace = ChunkTrace.submit(this.sources.named(name), undefined, items, queuedAt);
      else {
        trace = new TaskTrace(this.sources.named(name), undefined, queuedAt);
        trace.submitted();
        trace.submitEnded();
      }
      trace.started(now, slot);
    }
    const run = new JobRun(this, slot, items, chunk, ticket, trace, now);
    this.slots[slot] = run;
    this.running++;
    this._counters.added(items);
    return run;
  }

  /** @internal */
  ended(run: JobRun, state: number, value: unknown): void {
    if (this.slots[run.slot] !== run) return;
    this.slots[run.slot] = null;
    this.freeSlots.push(run.slot);
    this.running--;
    const c = this._counters;
    c.removed(run.items);
    const now = performance.now();
    const ok = state === FINISHED;
    if (state === CANCELLED) {
      c.cancelled += run.items;
      // No run to time, but its slot was busy until now.
      c.latency.busy(run.startedAt, now, 1);
    } else {
      if (ok && run.chunk) c.chunkEnded(value as ChunkOutcome<unknown>, run.items);
      else {
        c.completed += run.items;
        if (!ok) c.failed += run.items;
      }
      c.latency.ended(run.ticket, now, ok && run.chunk ? itemsRan(value as ChunkOutcome<unknown>) : run.items);
    }
    if (run.trace !== null) {
      run.trace.ran(run.startedAt, now);
      run.trace.done({ _state: state === CANCELLED ? CANCELLED : FINISHED, _failed: !ok, _value: value });
    }
  }

  /** @internal Nothing runs here to stop: the worker's `close()` ends its jobs. */
  protected _beginShutdown(): void {
    this._terminated();
  }
}
