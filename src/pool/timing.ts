/**
 * What a worker pool shows of its work: `stats()`, and what it knows of its
 * tasks' times, for `stats()` (latency.ts) and for tracing (tracing.ts). The pool sees a task start only by inference:
 * a worker fed while idle starts at once; otherwise a task starts when the one
 * before it on its worker is answered. A worker times what it runs: a result
 * message says how long its tasks ran together, and each is given an even
 * share of it, ending one after another at the message's arrival.
 * @internal
 */
import { chunkLength, type Chunk } from '../chunk.js';
import type { Counters, ExecutorStats } from '../executor.js';
import type { Latency } from '../latency.js';
import { ChunkTrace, TaskTrace, TraceSources, tracing, type ExecutorKind } from '../tracing.js';
import type { HeldItems } from '../map/chunks.js';
import { isChunk } from './protocol.js';
import type { PoolTask, PoolWorker } from './worker-state.js';

export class PoolTiming {
  /** Where the next result of the message being read began running, and each result's share of its time. */
  private next = 0;
  private share = 0;

  /** What this pool's contexts share. */
  private readonly sources: TraceSources;
  /** False for a pool whose owner traces the work itself (the BullMQ worker's, bullmq/worker-jobs.ts). */
  traced = true;

  constructor(
    private readonly latency: Latency,
    executor: object,
    kind: ExecutorKind,
  ) {
    this.sources = new TraceSources(executor, kind);
  }

  /**
   * A task is being submitted: timed if sampled; traced while the channel has a
   * subscriber. Returns the trace whose `start`/`end` wrap its queueing (a chunk's items publish theirs here).
   */
  submitted(task: PoolTask<any>, fn: unknown, held?: HeldItems): TaskTrace | null {
    task.ticket = this.latency.queued();
    if (held !== undefined) {
      this.latency.queuedSince(task.ticket, held.queuedAt);
      // Contexts made as `map` read the items: ended here too, though no one listens now.
      if (held.traces !== undefined) {
        task._trace = ChunkTrace.adopt(this.sources.of(fn), task, held.traces);
        return null;
      }
    }
    if (!tracing() || !this.traced) return null;
    if (isChunk(task.key)) {
      task._trace = ChunkTrace.submit(this.sources.of(fn), task, chunkLength(task.payload as Chunk));
      return null;
    }
    const trace = new TaskTrace(this.sources.of(fn), task, performance.now());
    task._trace = trace;
    return trace;
  }

  /** A message of `n` results arrives from `w`, which ran them for `ms` (-1: not known, they were held). */
  message(w: PoolWorker, n: number, ms: number): void {
    const now = performance.now();
    if (ms < 0) ms = Math.max(0, now - w.lastProgress);
    // While tasks await in it, its time is busy already (`late`).
    if (w.deferred.size === 0) this.latency.busy(now - ms, now, 1);
    this.share = n > 0 ? ms / n : 0;
    this.next = now - ms;
  }

  /** The message's next result, from `w`, is `task`'s. */
  answered(task: PoolTask<any>, w: PoolWorker): void {
    const from = this.next;
    this.next += this.share;
    if (task.ticket >= 0) {
      // A chunk's items are timed once its outcome, read next, says how many ran.
      if (isChunk(task.key)) this.latency.chunkRan(task.ticket, this.next, this.share);
      else this.latency.ran(task.ticket, this.next, this.share, 1, false);
    }
    if (task._trace !== null) task._trace.ran(from, this.next, w.index);
  }

  /**
   * A task that awaited in `w` (tasksPerWorker > 1) has its result, late: it ran from when it was answered
   * deferred. The worker was busy from when its first task began to await until its last one's end, once.
   */
  late(task: PoolTask<any>, w: PoolWorker): void {
    const now = performance.now();
    if (w.deferred.size === 0) this.latency.busy(w.deferred.since, now, 1);
    if (task.ticket < 0) return;
    if (isChunk(task.key)) this.latency.chunkRan(task.ticket, now, -1);
    else this.latency.ended(task.ticket, now, 1, false);
  }

  /**
   * `w`'s answers are read, or it was fed (while idle, its head starts at once): the task now at its head has
   * started at `at`. Not while every slot of the worker awaits a task (tasksPerWorker): it waits for one (`slotFreed`).
   */
  headStarted(w: PoolWorker, at = w.lastProgress): void {
    const head = w.inflight.at(0);
    // A worker starting up runs nothing yet: its head starts once it has initialized.
    if (head == null || !w.initialized || w.deferred.size >= w.perWorker) return;
    if (head.ticket >= 0) this.latency.started(head.ticket, at);
    if (head._trace !== null && head._trace.startedAt === undefined) head._trace.started(at, w.index);
  }

  /** A task that awaited in `w` has ended: when it held the last slot, the head waiting for one starts now. */
  slotFreed(w: PoolWorker): void {
    if (w.deferred.size === w.perWorker - 1) this.headStarted(w, performance.now());
  }

  /**
   * `task`, on `w`, is interrupted: counted, and timed up to now, its start known if it is `w`'s head. `ended`:
   * `w` is ended for it, so never reports the time it ran it (a worker that goes on does, in its next answer).
   */
  interrupted(task: PoolTask<any>, w: PoolWorker, counters: Counters, ended: boolean): void {
    if (w.inflight.at(0) === task) this.headStarted(w);
    // Busy time is the worker's, not the task's sampled ticket (which may stand for many tasks, or none).
    if (ended) this.endedRunning(w);
    counters.interrupted(task, task.items, task.ticket, false);
  }

  /** The pool has `n` workers from now on: utilization is a share of the workers it had over its window. */
  workers(n: number): void {
    this.latency.workers(n, performance.now());
  }

  /** `w` is ended (an interrupt) or died while it ran a task: it ran since its last answer, and will not say so. */
  endedRunning(w: PoolWorker): void {
    this.latency.busy(w.deferred.size > 0 ? Math.min(w.deferred.since, w.lastProgress) : w.lastProgress, performance.now(), 1);
  }

  /** What the tasks running now have run inside the utilization window: a worker with tasks out runs since its last answer. */
  runningMs(workers: readonly PoolWorker[]): number {
    const now = performance.now();
    const from = this.latency.windowStart(now);
    let ms = 0;
    for (const w of workers) {
      if (w.deferred.size > 0) ms += Math.max(0, now - Math.max(from, Math.min(w.deferred.since, w.lastProgress)));
      else if (w.inflight.length > 0 && w.initialized) ms += Math.max(0, now - Math.max(from, w.lastProgress));
    }
    return ms;
  }

  /**
   * `stats()`: a worker is idle with no task out that is not done (the holes a withdrawn task leaves until the
   * worker answers past them are no work, as the dashboard's view says), and with only tasks it has finished, their
   * answers on the way (threads know that first). A task runs from when its worker may have started it until its
   * future is done: so that every task counts once, one whose answer is on the way still runs, and while its thread
   * runs the next, running can briefly exceed the workers.
   */
  stats(workers: readonly PoolWorker[], counters: Counters): ExecutorStats {
    let idle = 0;
    let running = 0;
    for (const w of workers) {
      let busy = w.deferred.size > 0;
      for (let i = 0; i < w.inflight.length; i++) {
        const task = w.inflight.at(i);
        if (task == null || task.done()) continue;
        if (!w.transport.states.finished(task.seq)) busy = true;
        if (task.running()) running++;
      }
      if (!busy) idle++;
      running += w.deferred.live();
    }
    return counters.snapshot(workers.length, idle, running, this.runningMs(workers));
  }
}
