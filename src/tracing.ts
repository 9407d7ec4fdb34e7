/**
 * Tracing: every task an executor runs, published on the diagnostics_channel
 * `tracingChannel('concurrent-futures:task')`. `start`/`end` around its
 * submit, `error` when it failed, then `asyncStart`/`asyncEnd` once it is done;
 * one context object per task (per `map` item) for all five.
 *
 * Published on the five channels directly, not through `traceSync` or
 * `tracePromise`: those cost a closure and a promise per task. So stores bound
 * with `bindStore()` are not entered. With no subscriber an executor builds
 * nothing: it asks `tracing()` once per submit.
 * @internal
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { CancelledError } from './errors.js';
import { taskRef } from './tasks.js';

const channel = diagnosticsChannel.tracingChannel<unknown, TaskTrace>('concurrent-futures:task');
const { start, end, asyncStart, asyncEnd, error: errorChannel } = channel;

/** Whether anyone listens: the one check an executor makes per submit. */
export function tracing(): boolean {
  return start.hasSubscribers || asyncEnd.hasSubscribers || end.hasSubscribers || asyncStart.hasSubscribers || errorChannel.hasSubscribers;
}

/** A task's name in its context: its `defineTasks` key, or the function's name. */
export function traceName(fn: unknown): string {
  return taskRef(fn)?.name ?? (typeof fn === 'function' ? fn.name : '');
}


/** The executors' kinds, as the context's `kind` says. */
export type ExecutorKind = 'async' | 'thread' | 'process' | 'bullmq';

/** What a done future shows of itself to its trace, without this file importing `future.ts`. */
export interface DoneFuture {
  _state: number;
  _failed: boolean;
  _value: unknown;
}

const CANCELLED = 2;

/** What an executor tells the trace of a task or chunk as it learns it. */
export interface Trace {
  /** When it started, once the executor knows. */
  readonly startedAt: number | undefined;
  /** The task started at `at` (the submitting thread's clock), on `worker`. */
  started(at: number, worker: number | string | undefined): void;
  /** It ran from `startedAt` to `endedAt` (on `worker`, when given): the executor's best measure, given before the future is done. */
  ran(startedAt: number, endedAt: number, worker?: number | string): void;
  /** Its future is done: publishes `error` (if it failed), `asyncStart`, `asyncEnd`. */
  done(future: DoneFuture): void;
}

/** What the contexts of one executor's tasks of one name share, one object for all of them. */
export class TraceSource {
  constructor(
    readonly executor: object,
    readonly kind: ExecutorKind,
    /** The task's name: its `defineTasks` key, or the function's name. */
    readonly name: string,
  ) {}
}

/** Past this many names an executor's sources are made afresh, not kept: generated names cannot grow it. */
const MAX_SOURCES = 256;

/** The sources of one executor, by task name; tasks come in runs of one name, so the last one is tried first. */
export class TraceSources {
  private last: TraceSource | null = null;
  private readonly byName = new Map<string, TraceSource>();
  constructor(
    private readonly executor: object,
    private readonly kind: ExecutorKind,
  ) {}

  /** The source of the tasks of `fn`. */
  of(fn: unknown): TraceSource {
    return this.named(traceName(fn));
  }

  /** The source of the tasks named `name`. */
  named(name: string): TraceSource {
    const last = this.last;
    if (last !== null && last.name === name) return last;
    let source = this.byName.get(name);
    if (source === undefined) {
      source = new TraceSource(this.executor, this.kind, name);
      if (this.byName.size < MAX_SOURCES) this.byName.set(name, source);
    }
    return (this.last = source);
  }
}

/**
 * Times are kept in units of 10 µs: whole numbers that V8 holds in the object
 * itself, where a fraction of a millisecond is one more heap object per time
 * per task — the collector's load while 100,000 traced tasks wait. (Past a few
 * hours of process life they are heap numbers again: still right, only dearer.)
 */
const UNITS_PER_MS = 100;
const units = (ms: number): number => Math.round(ms * UNITS_PER_MS);
const NOT_YET = -1;

/** A context's outcome when its task failed or was cancelled: rare, so it is the failures that cost an object. */
class Failure {
  constructor(readonly error: unknown) {}
}

/**
 * A context's outcome while its `start` and `end` are published: a task done
 * in that window (a subscriber cancels it in `start`) publishes its end events
 * after `end`, as the order promises. `Late` holds that outcome until then.
 */
class Submitting {}
const SUBMITTING = new Submitting();
class Late extends Submitting {
  constructor(
    readonly ok: boolean,
    readonly value: unknown,
    readonly wasCancelled: boolean,
  ) {
    super();
  }
}

/**
 * The context of one task (or `map` item), the message of all its events.
 * Kept small, since one lives as long as its task (a traced task's bytes are
 * what the collector copies while it waits): the executor, kind and name on a
 * shared `TraceSource`, the times in 10 µs units, the value or failure in one field.
 */
export class TaskTrace implements Trace {
  private q: number;
  private s = NOT_YET;
  private e = NOT_YET;
  /** The worker that runs it: an id, or `undefined`. */
  worker: number | string | undefined = undefined;
  /** The value, or a `Failure`; `undefined` until done. */
  private outcome: unknown = undefined;
  constructor(
    private readonly source: TraceSource,
    /** The task's future; for a `map` item, the future of the chunk that carries it (once sent), or `undefined` where there is none. */
    public future: object | undefined,
    queuedAt: number,
  ) {
    this.q = units(queuedAt);
  }

  /** The executor that runs it. */
  get executor(): object {
    return this.source.executor;
  }

  get kind(): ExecutorKind {
    return this.source.kind;
  }

  /** The task's name: its `defineTasks` key, or the function's name. */
  get name(): string {
    return this.source.name;
  }

  /** When it was submitted (`performance.now()` of the submitting thread). */
  get queuedAt(): number {
    return this.q / UNITS_PER_MS;
  }

  /** When it started, once the executor knows. */
  get startedAt(): number | undefined {
    return this.s === NOT_YET ? undefined : this.s / UNITS_PER_MS;
  }

  /** When it ended, by the time its future is done. */
  get endedAt(): number | undefined {
    return this.e === NOT_YET ? undefined : this.e / UNITS_PER_MS;
  }

  /** The value, from `asyncStart` on, when the task succeeded. */
  get result(): unknown {
    const outcome = this.outcome;
    return outcome instanceof Failure || outcome instanceof Submitting ? undefined : outcome;
  }

  /** The error, from `error` on, when the task failed; a `CancelledError` when it was cancelled. */
  get error(): unknown {
    const outcome = this.outcome;
    return outcome instanceof Failure ? outcome.error : undefined;
  }

  /** Publishes `start`: inside the submit, once the future exists. */
  submitted(): void {
    this.outcome = SUBMITTING;
    start.publish(this);
  }

  /** Publishes `end`: the submit returns. Then the end events of a task done meanwhile. */
  submitEnded(): void {
    end.publish(this);
    const outcome = this.outcome;
    this.outcome = undefined;
    if (!(outcome instanceof Late)) return;
    if (outcome.wasCancelled) this.cancelled();
    else this.settled(outcome.ok, outcome.value);
  }

  started(at: number, worker: number | string | undefined): void {
    this.s = Math.max(this.q, units(at));
    this.worker = worker;
  }

  ran(startedAt: number, endedAt: number, worker?: number | string): void {
    this.s = Math.max(this.q, units(startedAt));
    this.e = Math.max(this.s, units(endedAt));
    if (worker !== undefined) this.worker = worker;
  }

  done(future: DoneFuture): void {
    if (future._state === CANCELLED) this.cancelled();
    else this.settled(!future._failed, future._value);
  }

  /** Done with this outcome. */
  settled(ok: boolean, value: unknown): void {
    if (this.outcome === SUBMITTING) {
      this.outcome = new Late(ok, value, false);
      return;
    }
    this.ending();
    if (ok) this.outcome = value;
    else {
      this.outcome = new Failure(value);
      errorChannel.publish(this);
    }
    asyncStart.publish(this);
    asyncEnd.publish(this);
  }

  /** Cancelled: `asyncStart` and `asyncEnd` with a `CancelledError` for `error`, and no `error` event (nothing failed). */
  cancelled(): void {
    if (this.outcome === SUBMITTING) {
      this.outcome = new Late(false, undefined, true);
      return;
    }
    this.ending();
    this.outcome = new Failure(new CancelledError());
    asyncStart.publish(this);
    asyncEnd.publish(this);
  }

  /** Its end is now, unless the executor measured it. */
  private ending(): void {
    if (this.e === NOT_YET) this.e = Math.max(this.s, this.q, units(performance.now()));
  }
}

/** The `map` items of one chunk: a context each, all published when the chunk's future is done. */
export class ChunkTrace implements Trace {
  startedAt: number | undefined = undefined;
  endedAt: number | undefined = undefined;
  constructor(
    /** One per item, in order. */
    readonly items: TaskTrace[],
  ) {}

  /** A context per item of a chunk about to be submitted as `future` (queued at `now`): `start` and `end` for each. */
  static submit(source: TraceSource, future: object | undefined, count: number, now = performance.now()): ChunkTrace {
    return ChunkTrace.adopt(source, future, new Array<TaskTrace | null>(count).fill(null), now);
  }

  /**
   * The chunk of `items` about to be submitted as `future`: the contexts `map` made as it read them, filled in place
   * (a null, an item read while no one listened, gets one now, queued at `now`, its `start` and `end` with it).
   */
  static adopt(source: TraceSource, future: object | undefined, items: Array<TaskTrace | null>, now = performance.now()): ChunkTrace {
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (item !== null) item.future = future;
      else {
        const made = (items[i] = new TaskTrace(source, future, now));
        made.submitted();
        made.submitEnded();
      }
    }
    return new ChunkTrace(items as TaskTrace[]);
  }

  /** Its items run one after another: the first starts now, and all are on `worker`. */
  started(at: number, worker: number | string | undefined): void {
    this.startedAt = at;
    for (const item of this.items) item.worker = worker;
    this.items[0]?.started(at, worker);
  }

  ran(startedAt: number, endedAt: number, worker?: number | string): void {
    this.startedAt = startedAt;
    this.endedAt = endedAt;
    if (worker !== undefined) for (const item of this.items) item.worker = worker;
  }

  /**
   * Each item's outcome: the chunk's values, then its failure, then (never run) cancelled. The
   * items that ran share the chunk's run time evenly: a worker times the chunk, not each item.
   */
  done(future: DoneFuture): void {
    const items = this.items;
    const endedAt = Math.max(this.endedAt ?? performance.now(), items[0]?.queuedAt ?? 0);
    if (future._state === CANCELLED || future._failed) {
      for (const item of items) {
        if (future._state === CANCELLED) item.cancelled();
        else {
          if (this.startedAt !== undefined) item.ran(this.startedAt, endedAt);
          item.settled(false, future._value);
        }
      }
      return;
    }
    const outcome = future._value as { values: unknown[]; failed: boolean; error: unknown };
    const ran = outcome.values.length + (outcome.failed ? 1 : 0);
    const from = this.startedAt ?? endedAt;
    const share = (endedAt - from) / Math.max(1, ran);
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (i >= ran) {
        item.cancelled();
        continue;
      }
      item.ran(from + i * share, from + (i + 1) * share);
      if (i < outcome.values.length) item.settled(true, outcome.values[i]);
      else item.settled(false, outcome.error);
    }
  }
}
