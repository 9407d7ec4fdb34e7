/**
 * `map` without `chunksize` on an executor that runs chunks (the worker pools,
 * BullMQ): chunks cut by measured time, as joblib's `batch_size='auto'` does.
 *
 * The first items go one per chunk. Each chunk's outcome says how long its
 * items ran on the worker; the next chunks hold about `targetMs` of such work,
 * at most twice the items of the largest chunk measured so far (growth is
 * earned, one doubling per measurement) and never more than `maxItems`. Items
 * that take `targetMs` or more stay one per chunk: a map of slow items runs as
 * a future per item would. Only a few chunks are out at a time (`inFlight`);
 * the rest of the input waits here, read but not sent, counted as queued in
 * the executor's `stats()`, and is sent before the executor shuts down.
 * Leaving the loop early cancels the chunks not started and drops what waits.
 */
import { newChunk, type Chunk, type ChunkOutcome } from '../chunk.js';
import { Deque } from '../deque.js';
import { microtask } from '../microtask.js';
import { Future, type Waiter } from '../future.js';
import { TaskTrace, TraceSource, traceName, tracing, type ExecutorKind } from '../tracing.js';
import type { ChunkRunner } from './chunks.js';
import { ITEM_CANCELLED, ITEM_FAILED, ITEM_OK, ITEM_PENDING, type MapConsumer, type MapSource } from './source.js';

/** How `map` sizes chunks by itself on an executor. @internal */
export interface AutoChunking {
  /** Milliseconds of work per chunk that hide what sending a chunk costs. */
  targetMs: number;
  /** The most items in one chunk. */
  maxItems: number;
  /** Chunks out at once, at least. */
  inFlight: number;
  /** Where the executor cannot count its workers: chunks kept waiting beyond those started (0: `inFlight` is the bound). */
  spare: number;
  /** The executor's kind, as its items' tracing contexts say. */
  kind: ExecutorKind;
}

/**
 * A worker pool's: about a millisecond of work per chunk, `perWorker` chunks out
 * per worker (two where a chunk sent ahead can still be withdrawn, threads; one
 * where it cannot, processes), so that leaving the loop early lets at most the
 * chunk each worker runs finish. @internal
 */
export function poolChunking(maxWorkers: number, perWorker: number, kind: ExecutorKind): AutoChunking {
  return { targetMs: 1, maxItems: 4096, inFlight: perWorker * maxWorkers, spare: 0, kind };
}

/** What automatic chunks need of an executor: it runs chunks, says how to size them, and counts what waits here. @internal */
export interface AutoChunkRunner extends ChunkRunner {
  /** How chunks are sized without `chunksize`; `null` where every item must be its own task. */
  readonly _autoChunks: AutoChunking | null;
  /** Items read and not sent yet, `count` more (fewer, when negative): `stats()` counts them as queued. */
  _unsent(count: number): void;
  /** A map holds such items (or no longer): they are sent before the executor shuts down. */
  _holdUnsent(map: UnsentItems, holding: boolean): void;
  /** That many of them will never be sent (the iteration ended): counted as cancelled. */
  _dropUnsent(count: number): void;
}

/** A chunk sent, and how many items it holds. */
interface Cut {
  future: Future<ChunkOutcome<unknown>>;
  count: number;
}

/** Items read and not sent yet, as the executor sees them. @internal */
export interface UnsentItems {
  /** Sends every item still waiting, whatever is out: the executor is about to stop taking work. */
  sendAll(): void;
}

/** @internal */
export class AutoChunkSource implements MapSource, Waiter, UnsentItems {
  /** Items read and not sent: from element `heldAt` on, `held` items of `arity` arguments. */
  args: unknown[] = [];
  private heldAt = 0;
  private held = 0;
  /** Chunks sent and not fully taken, in input order. */
  private readonly cuts = new Deque<Cut>();
  /** Chunks sent and not done. */
  private inFlight = 0;
  private unclaimed = 0;
  private isClaimed = false;
  private watching = false;
  private closed = false;
  /** The first chunk's values, once its future is done, and the failure that ended it. */
  private values: unknown[] | null = null;
  private index = 0;
  private error: { error: unknown } | null = null;
  /** Milliseconds an item takes on a worker, smoothed; -1 until a chunk has told. */
  private perItemMs = -1;
  /** The most items of a chunk whose time was measured. */
  private measured = 0;
  /**
   * While the channel has a subscriber, an item is submitted as `map` reads it (its `start`, its `queuedAt`),
   * though it is sent later: the held items' contexts, in order (null: read while no one listened), from the
   * `untraced`-th held item on. Null until an item was read while traced.
   */
  private traces: Deque<TaskTrace | null> | null = null;
  private untraced = 0;
  private source: TraceSource | null = null;
  /**
   * When the held items were read, for their wait in `stats()`: the clock is read once per run of reads in one
   * turn of the event loop (a read per item would cost what a quick item does), as pairs of the first item's
   * number and the time, oldest first.
   */
  private readonly readTimes = new Deque<number>();
  private readCount = 0;
  private sentCount = 0;
  private clockRead = false;
  /** Whether the channel had a subscriber at the run's first read: asked once per run, as the clock is. */
  private tracingNow = false;
  private readonly clockExpires = (): void => {
    this.clockRead = false;
  };

  constructor(
    private readonly target: AutoChunkRunner,
    private readonly fn: (...args: any[]) => unknown,
    private readonly arity: number,
    private readonly plan: AutoChunking,
    private readonly consumer: MapConsumer,
  ) {}

  added(): void {
    if (!this.clockRead) {
      this.clockRead = true;
      this.readTimes.push(this.readCount);
      this.readTimes.push(performance.now());
      this.tracingNow = tracing();
      microtask(this.clockExpires);
    }
    this.readCount++;
    if (this.tracingNow) this.traced();
    else this.traces?.push(null);
    if (this.held++ === 0) this.target._holdUnsent(this, true);
    this.target._unsent(1);
    this.unclaimed++;
    // Only here and in flush() is `args` replaced: an async read may be filling it at any other time.
    if (this.heldAt > 4096 && this.heldAt * 2 > this.args.length) this.compact();
    // Errors of the executor (shut down, broken, a function it refuses) reach the iterator as an input error does.
    if (this.inFlight < this.room()) this.cut(this.nextSize(), false);
  }

  flush(_inputFailed: boolean): void {
    // What was read before an input error runs, as it would item by item.
    this.fill(false);
  }

  sendAll(): void {
    // Not measured yet: one item per chunk, as a future per item would go.
    while (this.held > 0) this.cut(this.nextSize(), true);
    this.notifyIfDone();
  }

  outstanding(): number {
    return this.unclaimed;
  }

  claimed(): boolean {
    return this.isClaimed;
  }

  claim(): void {
    this.unclaimed--;
    this.isClaimed = true;
  }

  state(): number {
    if (this.values === null) {
      const head = this.cuts.peek();
      // Still waiting here: it is sent as chunks ahead of it end.
      if (head === undefined) return ITEM_PENDING;
      const future = head.future;
      if (!future.done()) return ITEM_PENDING;
      if (future.cancelled()) return ITEM_CANCELLED;
      if (future._failed) return ITEM_FAILED;
      const outcome = future._value as ChunkOutcome<unknown>;
      this.values = outcome.values;
      this.index = 0;
      this.error = outcome.failed ? { error: outcome.error } : null;
    }
    return this.index < this.values.length ? ITEM_OK : ITEM_FAILED;
  }

  take(): unknown {
    this.isClaimed = false;
    const values = this.values;
    if (values === null) {
      // The chunk's own future failed (its worker died) or was cancelled: the iteration ends here.
      const head = this.cuts.shift()!;
      return head.future._value;
    }
    if (this.index < values.length) {
      const value = values[this.index];
      values[this.index++] = undefined;
      if (this.index === this.cuts.peek()!.count) this.nextCut();
      return value;
    }
    const error = this.error?.error;
    this.nextCut();
    return error;
  }

  private nextCut(): void {
    this.cuts.shift();
    this.values = this.error = null;
  }

  watch(): void {
    this.watching = true;
  }

  /** @internal A chunk sent by this map is done. */
  futureDone(future: Future<any>): void {
    this.inFlight--;
    this.learn(future);
    this.fill(true);
    if (this.watching && this.cuts.peek()?.future === future) this.settled();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watching = this.isClaimed = false;
    for (let cut = this.cuts.shift(); cut !== undefined; cut = this.cuts.shift()) {
      // Its cancellation must not send more.
      cut.future._removeWaiter(this);
      cut.future.cancel();
    }
    this.values = this.error = null;
    this.drop();
  }

  /** Forgets what waits here: it never reaches the executor, which counts it as cancelled. */
  private drop(): void {
    this.dropHeld();
    this.heldAt = this.unclaimed = 0;
    this.args = [];
  }

  private dropHeld(): void {
    if (this.held === 0) return;
    // As the executor counts them: cancelled, never sent.
    for (let trace = this.traces?.shift(); trace !== undefined; trace = this.traces!.shift()) trace?.cancelled();
    this.untraced = 0;
    this.sentCount += this.held;
    this.target._dropUnsent(this.held);
    this.target._holdUnsent(this, false);
    this.held = 0;
  }

  /** Chunks that may be out at once. */
  private room(): number {
    const { inFlight, spare } = this.plan;
    if (spare === 0) return inFlight;
    // Workers the executor cannot count (BullMQ's): keep `spare` chunks waiting beyond those that have started.
    // The chunks out are among the latest cut: look from there, and only until each is found.
    let started = 0;
    let seen = 0;
    for (let i = this.cuts.length - 1; i >= 0 && seen < this.inFlight; i--) {
      const future = this.cuts.at(i)!.future;
      if (future.done()) continue;
      seen++;
      if (future.running()) started++;
    }
    return Math.max(inFlight, started + spare);
  }

  private nextSize(): number {
    if (this.perItemMs < 0) return 1;
    const ideal = Math.floor(this.plan.targetMs / Math.max(this.perItemMs, 1e-6));
    return Math.max(1, Math.min(ideal, 2 * this.measured, this.plan.maxItems));
  }

  private learn(future: Future<any>): void {
    if (future._failed || future.cancelled()) return;
    const outcome = future._value as ChunkOutcome<unknown>;
    const ran = outcome.values.length + (outcome.failed ? 1 : 0);
    // A result taken from a worker's shared memory (pool/held-results.ts) carries no time.
    if (typeof outcome.ms !== 'number' || ran === 0) return;
    const perItem = outcome.ms / ran;
    this.perItemMs = this.perItemMs < 0 ? perItem : (this.perItemMs + perItem) / 2;
    if (ran > this.measured) this.measured = ran;
  }

  /** Sends chunks while there is room; from an executor's callback, a refusal fails the chunk's items instead. */
  private fill(fromCallback: boolean): void {
    if (this.closed || this.held === 0) return;
    let room = this.room();
    while (this.held > 0 && this.inFlight < room) {
      this.cut(this.nextSize(), fromCallback);
      if (this.plan.spare > 0) room = this.room();
    }
    if (fromCallback) this.notifyIfDone();
  }

  /** Sends the next `size` waiting items (fewer if fewer wait) as one chunk. */
  private cut(size: number, fromCallback: boolean): void {
    const n = Math.min(size, this.held);
    let count = n;
    const arity = this.arity;
    const args = this.args;
    const from = this.heldAt;
    const to = from + n * arity;
    const chunk: Chunk = newChunk(arity);
    for (let i = from; i < to; i++) {
      chunk.push(args[i]);
      args[i] = undefined;
    }
    this.heldAt = to;
    this.held -= n;
    this.target._unsent(-n);
    if (this.held === 0) this.target._holdUnsent(this, false);
    const traces = this.tracesOf(n);
    const queuedAt = this.readTimeOf(this.sentCount);
    this.sentCount += n;
    let future: Future<ChunkOutcome<unknown>>;
    try {
      future = this.target.submitChunk(this.fn, chunk, { queuedAt, traces });
    } catch (error) {
      // Refused: the items read fail with the executor's error, at their position.
      if (traces !== undefined) for (const trace of traces) trace?.settled(false, error);
      if (!fromCallback) {
        // As an input error: what was sent before is yielded, then this error; nothing after it is sent.
        this.unclaimed -= n + this.held;
        this.dropHeld();
        throw error;
      }
      // Shut down or broken meanwhile: these items fail at their position, as their futures would have,
      // and nothing after them is sent.
      const rest = this.held;
      this.dropHeld();
      future = failed(error);
      count += rest;
    }
    this.cuts.push({ future, count });
    if (!future.done()) {
      this.inFlight++;
      future._addWaiter(this);
    } else {
      this.learn(future);
    }
  }

  /** The next item read is traced: its context, its `start` and `end` now. */
  private traced(): void {
    if (this.traces === null) {
      this.traces = new Deque();
      this.untraced = this.held;
    }
    this.source ??= new TraceSource(this.target, this.plan.kind, traceName(this.fn));
    const trace = new TaskTrace(this.source, undefined, performance.now());
    this.traces.push(trace);
    trace.submitted();
    trace.submitEnded();
  }

  /** When item number `item` (the next to send) was read; what was read before it is forgotten. */
  private readTimeOf(item: number): number {
    const times = this.readTimes;
    // Pairs: [first item, time], [first item, time], ...; the last pair at or before `item` is its read.
    while (times.length >= 4 && times.at(2)! <= item) {
      times.shift();
      times.shift();
    }
    return times.length >= 2 ? times.at(1)! : performance.now();
  }

  /** The contexts of the next `n` held items, taken; undefined when none has one. */
  private tracesOf(n: number): Array<TaskTrace | null> | undefined {
    const traces = this.traces;
    if (traces === null || traces.length === 0) return undefined;
    const skip = Math.min(n, this.untraced);
    this.untraced -= skip;
    if (skip === n) return undefined;
    const out = new Array<TaskTrace | null>(n).fill(null);
    let any = false;
    for (let i = skip; i < n; i++) any = (out[i] = traces.shift() ?? null) !== null || any;
    return any ? out : undefined;
  }

  private compact(): void {
    this.args = this.args.slice(this.heldAt);
    this.heldAt = 0;
  }

  /** A chunk done at once (an executor's refusal) may be the one the iterator waits for. */
  private notifyIfDone(): void {
    if (this.watching && this.cuts.peek()?.future.done() === true) this.settled();
  }

  private settled(): void {
    this.watching = false;
    this.consumer.itemSettled();
  }
}

/** A chunk that could not be sent: its error ends the iteration at its first item. */
function failed(error: unknown): Future<ChunkOutcome<unknown>> {
  const future = new Future<ChunkOutcome<unknown>>();
  future.setException(error);
  return future;
}
