/**
 * Calls a pool's owner runs on its own thread, beside the pool: the BullMQ
 * worker's quick tasks, for which the hop to a thread costs more than the
 * task. They are the pool's work all the same: `stats()`, the tracing channel
 * and the dashboard count them as its tasks, on a worker of their own, `'main'`.
 * They take no part in `utilization`, which is the threads' share of time.
 * @internal
 */
import { chunkLength, type Chunk, type ChunkOutcome } from '../chunk.js';
import type { Counters } from '../executor.js';
import type { Latency } from '../latency.js';
import { ChunkTrace, TaskTrace, traceName, tracing, type TraceSource } from '../tracing.js';
import { addRunning, type WorkerView } from '../worker-view.js';

/** The worker id these calls run on, as their traces and the dashboard give it. */
export const BESIDE_WORKER = 'main';

/** The state of a pool's calls beside it; the pool counts them pending, as its own tasks. */
export class BesideRuns {
  private readonly running = new Set<BesideRun>();
  /** Whether any ran: from then on the dashboard lists the `'main'` row. */
  private used = false;

  constructor(
    private readonly counters: Counters,
    private readonly latency: Latency,
    private readonly source: TraceSource,
    /** Counts one task out of the pool's pending ones. */
    private readonly taskEnded: () => void,
  ) {}

  /** How many run now. */
  get size(): number {
    return this.running.size;
  }

  /** `fn` starts now, with `args` (a chunk of `map` items when `chunk`): `done()` ends it. */
  start(fn: unknown, args: unknown[], chunk: boolean): BesideRun {
    const now = performance.now();
    const items = chunk ? chunkLength(args as Chunk) : 1;
    const ticket = this.latency.queued();
    if (ticket >= 0) this.latency.started(ticket, now);
    let trace: TaskTrace | ChunkTrace | null = null;
    if (tracing()) {
      const name = traceName(fn);
      if (chunk) trace = ChunkTrace.submit(this.source, name, undefined, items);
      else {
        trace = new TaskTrace(this.source, name, undefined, now);
        trace.submitted();
        trace.submitEnded();
      }
      trace.started(now, BESIDE_WORKER);
    }
    const run = new BesideRun(this, items, chunk, ticket, trace, now);
    this.running.add(run);
    this.used = true;
    return run;
  }

  /** @internal */
  ended(run: BesideRun, ok: boolean, value: unknown): void {
    if (!this.running.delete(run)) return;
    const now = performance.now();
    const cancelled = value === CANCELLED_RUN;
    if (run.ticket >= 0 && !cancelled) this.latency.ran(run.ticket, now, now - run.startedAt, run.items, false);
    const c = this.counters;
    if (cancelled) c.cancelled += run.items;
    else if (ok && run.chunk) c.chunkEnded(value as ChunkOutcome<unknown>, run.items);
    else {
      c.completed += run.items;
      if (!ok) c.failed += run.items;
    }
    if (run.trace !== null) {
      run.trace.ran(run.startedAt, now);
      run.trace.done({ _state: cancelled ? CANCELLED : FINISHED, _failed: !ok, _value: value });
    }
    this.taskEnded();
  }

  /** The `'main'` row of the dashboard, once a call has run here. */
  view(): WorkerView[] {
    if (!this.used) return [];
    const running: TaskTrace[] = [];
    for (const run of this.running) addRunning(running, run.trace);
    return [{ id: BESIDE_WORKER, busy: this.running.size > 0, memory: process.memoryUsage().heapUsed, running }];
  }
}

/** A done future's states, as the trace reads them (future.ts). */
const CANCELLED = 2;
const FINISHED = 3;
/** What `ended()` is given for an interrupted run. */
const CANCELLED_RUN = Symbol('cancelled');

/** One call beside the pool. */
export class BesideRun {
  constructor(
    private readonly runs: BesideRuns,
    readonly items: number,
    readonly chunk: boolean,
    readonly ticket: number,
    readonly trace: TaskTrace | ChunkTrace | null,
    readonly startedAt: number,
  ) {}

  /** It ended: `ok` with its value (a chunk's outcome), or failed with `value` as its error. Once; later calls do nothing. */
  done(ok: boolean, value: unknown): void {
    this.runs.ended(this, ok, value);
  }

  /** It was interrupted: its items count as cancelled. */
  cancelled(): void {
    this.runs.ended(this, false, CANCELLED_RUN);
  }
}
