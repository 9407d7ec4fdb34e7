/**
 * What a BullMQ executor knows of its jobs' times and how it counts their
 * items, for `stats()` (latency.ts) and tracing (tracing.ts). It sees a job
 * start and end as its `active` and `completed`/`failed` events reach it
 * (read in batches from the event stream: a few ms late at most); the
 * worker that runs it is on another machine, so a context's `worker` is
 * `undefined`. A `map` chunk's items share its run time evenly.
 * @internal
 */
import type { ChunkOutcome } from '../chunk.js';
import type { Counters } from '../executor.js';
import { Future } from '../future.js';
import { ChunkTrace, TaskTrace, traceName, tracing } from '../tracing.js';
import type { JobFuture } from './job-future.js';

export class JobTiming {
  constructor(
    private readonly counters: Counters,
    private readonly executor: object,
  ) {}

  /** A job is being submitted for `fn` (`items` > 0: a chunk of that many): timed if sampled, traced while subscribed. */
  submitted(future: JobFuture<any>, fn: unknown, items: number): TaskTrace | null {
    const latency = this.counters.latency;
    future.chunk = items > 0;
    future.items = Math.max(1, items);
    if (!tracing()) {
      future.ticket = latency.queued();
      return null;
    }
    const now = performance.now();
    future.ticket = latency.ticket(now);
    if (items > 0) {
      future._trace = ChunkTrace.submit(this.executor, 'bullmq', traceName(fn), future, items);
      return null;
    }
    return (future._trace = new TaskTrace(this.executor, 'bullmq', traceName(fn), future, now));
  }

  /** A chunk whose first item cannot travel: that item's failure is the whole outcome, and no job is needed. */
  unsent(fn: unknown, items: number, cut: TypeError | null): Future<ChunkOutcome<any>> {
    const none = new Future<ChunkOutcome<any>>();
    if (tracing()) none._trace = ChunkTrace.submit(this.executor, 'bullmq', traceName(fn), none, items);
    const outcome = { values: [], failed: true, error: cut };
    this.counters.chunkEnded(outcome, items);
    none.setResult(outcome);
    return none;
  }

  /** Its `active` event: a worker started it. */
  started(future: JobFuture<any>): void {
    if (future.ticket < 0 && future._trace === null) return;
    const now = performance.now();
    this.counters.latency.started(future.ticket, now);
    future._trace?.started(now, undefined);
  }

  /** It ended (its event, or its job read back): timed, and counted, each item of a chunk. */
  ended(future: JobFuture<any>, ok: boolean, value: unknown): void {
    const c = this.counters;
    if (future.ticket >= 0 || future._trace !== null) {
      const now = performance.now();
      const start = future._trace?.startedAt ?? NaN;
      c.latency.ended(future.ticket, now, future.items);
      future._trace?.ran(Number.isNaN(start) ? now : start, now);
    }
    if (!ok) {
      c.completed += future.items;
      c.failed += future.items;
    } else if (future.chunk) {
      c.chunkEnded(value as ChunkOutcome<unknown>, future.items);
    } else c.completed++;
  }
}

