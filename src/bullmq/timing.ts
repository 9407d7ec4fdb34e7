/**
 * What a BullMQ executor knows of its jobs' times and how it counts their
 * items, for `stats()` (latency.ts) and tracing (tracing.ts). It sees a job
 * start as its `active` event reaches it (read in batches from the event
 * stream: a few ms late), and ends as its `completed`/`failed` one does; its
 * run time is the two events' difference on Redis's clock. The
 * worker that runs it is on another machine, so a context's `worker` is
 * `undefined`. A `map` chunk's items share its run time evenly.
 * @internal
 */
import { itemsRan, type ChunkOutcome } from '../chunk.js';
import type { HeldItems } from '../map/chunks.js';
import type { Counters } from '../executor.js';
import { Future } from '../future.js';
import { ChunkTrace, TaskTrace, TraceSources, tracing } from '../tracing.js';
import type { QueueEvent } from './events.js';
import type { JobFuture } from './job-future.js';

export class JobTiming {
  /** What this executor's contexts share. */
  private readonly sources: TraceSources;

  constructor(
    private readonly counters: Counters,
    executor: object,
  ) {
    this.sources = new TraceSources(executor, 'bullmq');
  }

  /** A job is being submitted for `fn` (`items` > 0: a chunk of that many): timed if sampled, traced while subscribed. */
  submitted(future: JobFuture<any>, fn: unknown, items: number, held?: HeldItems): TaskTrace | null {
    const latency = this.counters.latency;
    future.chunk = items > 0;
    future.items = Math.max(1, items);
    // Contexts made as `map` read the items are ended here too, though no one listens now.
    const traces = held?.traces;
    if (traces === undefined && !tracing()) {
      future.ticket = latency.queued();
      if (held !== undefined) latency.queuedSince(future.ticket, held.queuedAt);
      return null;
    }
    const now = performance.now();
    // Timed whenever traced; items `map` read, then held, are queued since they were read.
    future.ticket = latency.ticket(held?.queuedAt ?? now);
    if (traces !== undefined) {
      future._trace = ChunkTrace.adopt(this.sources.of(fn), future, traces);
      return null;
    }
    if (items > 0) {
      future._trace = ChunkTrace.submit(this.sources.of(fn), future, items);
      return null;
    }
    return (future._trace = new TaskTrace(this.sources.of(fn), future, now));
  }

  /** A chunk whose first item cannot travel: that item's failure is the whole outcome, and no job is needed. */
  unsent(fn: unknown, items: number, cut: TypeError | null, traces?: Array<TaskTrace | null>): Future<ChunkOutcome<any>> {
    const none = new Future<ChunkOutcome<any>>();
    if (traces !== undefined) none._trace = ChunkTrace.adopt(this.sources.of(fn), none, traces);
    else if (tracing()) none._trace = ChunkTrace.submit(this.sources.of(fn), none, items);
    const outcome = { values: [], failed: true, error: cut };
    this.counters.chunkEnded(outcome, items);
    none.setResult(outcome);
    return none;
  }

  /** An event of its job: when a worker started it, and when it ended, on Redis's clock (one clock for both). */
  heard(future: JobFuture<any>, event: QueueEvent): void {
    if (event.at === undefined) return;
    if (event.event === 'active') future.activeAt = event.at;
    else if (event.event === 'completed' || event.event === 'failed') future.endAt = event.at;
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
      // A chunk's items after a failing one never ran: not timed.
      const ran = ok && future.chunk ? itemsRan(value as ChunkOutcome<unknown>) : future.items;
      // Run time from the job's two events, on Redis's clock (not the reading's delays); else as the events were read.
      const now = performance.now();
      const seen = future._trace?.startedAt ?? NaN;
      if (future.activeAt >= 0 && future.endAt >= future.activeAt) {
        const runMs = future.endAt - future.activeAt;
        c.latency.ran(future.ticket, now, runMs, ran, false);
        future._trace?.ran(now - runMs, now);
      } else {
        c.latency.ended(future.ticket, now, ran);
        future._trace?.ran(Number.isNaN(seen) ? now : seen, now);
      }
    }
    if (!ok) {
      c.completed += future.items;
      c.failed += future.items;
    } else if (future.chunk) {
      c.chunkEnded(value as ChunkOutcome<unknown>, future.items);
    } else c.completed++;
  }
}

