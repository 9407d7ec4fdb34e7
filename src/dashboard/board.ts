/**
 * What the dashboard knows of one executor, aggregated in place from the
 * tracing channel: counts per task name, the tasks in flight (the channel's
 * own context objects, nothing more per task), a ring of finished bars per
 * worker and the per-second series. The page and `/state.json` read it
 * through `snapshot()` and `state()`, a few times a second at most.
 * @internal
 */
import { CancelledError } from '../errors.js';
import type { Executor, ExecutorStats } from '../executor.js';
import type { WorkerView } from '../worker-view.js';
import { BarRing, CANCELLED, FAILED, type BarTuple } from './bars.js';
import { Series, type SeriesPoint } from './series.js';

/** The tracing channel's context (API.md, "Observing executors"), the fields the dashboard reads. */
export interface TaskTrace {
  executor: unknown;
  kind?: string;
  name?: unknown;
  queuedAt?: number;
  startedAt?: number;
  endedAt?: number;
  worker?: unknown;
  error?: unknown;
  result?: unknown;
}

/**
 * How tasks are shown when not by their trace alone: the CLI's batches, by the user's function and counted as the
 * lines they carry (a line fails alone), in the table and the tiles alike.
 */
export interface TaskView {
  label(trace: TaskTrace): string;
  /** How many tasks it stands for: the same from its `start` to its end. */
  size(trace: TaskTrace): number;
  /** How many of those failed, once it is done. */
  failures(trace: TaskTrace): number;
}

/** What an executor may offer beyond `stats()`: its workers, idle ones included (the pools). */
interface WorkerSource {
  _workerView?(): WorkerView[];
}

/** One executor in `/state.json`: `{ executors: ExecutorState[] }`. */
export interface ExecutorState {
  /** Its name: the key it was given under, or its class's name when served alone. */
  name: string;
  /** `'async'`, `'thread'`, `'process'` or `'bullmq'`, as the tracing channel's `kind` (`'custom'` for other executors). */
  kind: string;
  /** Its `stats()` (in JSON a `BullMQExecutor`'s `utilization`, NaN, reads `null`: its workers are not seen from here). */
  stats: ExecutorStats;
  /** Its tasks by name, counted from the tracing channel since the dashboard started. */
  tasks: Record<string, TaskCounts>;
  /** Its workers, idle ones too where the executor lists them (the pools); otherwise those seen running tasks lately. */
  workers: Array<{
    /** The worker's id, as the tracing channel's `worker`. */
    id: string | number;
    /** Whether it runs a task now. */
    busy: boolean;
  }>;
}

/** The tasks of one name, counted as `stats()` counts. */
export interface TaskCounts {
  /** Submitted, not started, not cancelled. */
  queued: number;
  /** Started, not done. */
  running: number;
  /** Successes and failures. */
  completed: number;
  /** Failures only. */
  failed: number;
  /** Cancellations. */
  cancelled: number;
}

/** What the page receives of one executor; `bars` and `series` are new or changed ones, or all of the last minute. */
export interface ExecutorSnapshot {
  name: string;
  kind: string;
  stats: ExecutorStats;
  /** By name id: `[name, queued, running, completed, failed, cancelled, mean run time in ms or -1]`. */
  tasks: Array<[string, number, number, number, number, number, number]>;
  /** `[row, busy, memory bytes or -1, tasks finished there]`; a row is a worker id as text. */
  workers: Array<[string, boolean, number, number]>;
  /** Tasks running now: `[row, name id, start]`. */
  running: Array<[string, number, number]>;
  bars: Array<[string, BarTuple[]]>;
  series: SeriesPoint[];
}

interface NameCounts {
  id: number;
  label: string;
  submitted: number;
  completed: number;
  failed: number;
  cancelled: number;
  /** Counted afresh by each snapshot. */
  running: number;
  /** The run times of those that ran, summed, and how many. */
  runMs: number;
  runs: number;
}

/** Distinct task names kept apart; the rest count together, so that generated names cannot grow the page without end. */
const MAX_NAMES = 200;
/** Their key in `names`, which no task name can be. */
const OTHER = Symbol('other names');
/** The task stream's span, ms. */
export const WINDOW_MS = 60_000;
/** The most bars a message carries per worker: more would be narrower than a pixel. */
const MAX_BARS = 2000;

const KINDS: Record<string, string> = { AsyncPoolExecutor: 'async', ThreadPoolExecutor: 'thread', ProcessPoolExecutor: 'process', BullMQExecutor: 'bullmq', WorkerJobs: 'bullmq' };

/** The kind the tracing channel gives an executor's tasks, known before the first task: by its class (or the one it extends). */
function kindOf(executor: Executor): string {
  for (let proto = Object.getPrototypeOf(executor); proto !== null; proto = Object.getPrototypeOf(proto)) {
    const kind = KINDS[(proto.constructor as { name?: string } | undefined)?.name ?? ''];
    if (kind !== undefined) return kind;
  }
  return 'custom';
}

export class Board {
  readonly kind: string;
  private readonly names = new Map<unknown, NameCounts>();
  private readonly byId: NameCounts[] = [];
  /**
   * Submitted and not done, each with its name's counts: kept only where the executor cannot list its running
   * tasks (`_workerView`), or where a task's name is a label chosen at its submit. Elsewhere a task costs two
   * lookups by name and a few stores, and nothing lives per task.
   */
  private readonly inflight: Map<TaskTrace, NameCounts> | null;
  private readonly rows = new Map<string, BarRing>();
  /** The same rings by the trace's own `worker` value: no text made per task; a pool's worker index finds its ring in an array. */
  private readonly rowsByWorker = new Map<unknown, BarRing>();
  private readonly rowsByIndex: BarRing[] = [];
  private readonly series = new Series();
  private lastName: unknown = undefined;
  private lastCounts: NameCounts | null = null;
  /** When the dashboard began to listen: a task queued before it was not seen submitted. */
  since = Infinity;
  /** `stats()` then: what was done before. */
  private base: ExecutorStats | null = null;
  /** The row of the tasks the channel never showed, once there are any. */
  private unseen: NameCounts | null = null;

  constructor(
    readonly name: string,
    readonly executor: Executor,
    /** How a task is shown, when not by its trace alone (the CLI's batches). */
    private readonly shown: TaskView | undefined = undefined,
  ) {
    this.kind = kindOf(executor);
    this.inflight = typeof (executor as WorkerSource)._workerView === 'function' && shown === undefined ? null : new Map();
  }

  /** The channel's `start`: a task was submitted. */
  submitted(trace: TaskTrace): void {
    const counts = this.countsOf(trace);
    counts.submitted += this.shown === undefined ? 1 : this.shown.size(trace);
    this.inflight?.set(trace, counts);
  }

  /** The channel's `asyncEnd`: the task is done (its `error` set when it failed, a `CancelledError` when cancelled). */
  ended(trace: TaskTrace): void {
    const inflight = this.inflight;
    const { startedAt, queuedAt } = trace;
    let counts: NameCounts | undefined;
    if (inflight !== null && (counts = inflight.get(trace)) !== undefined) inflight.delete(trace);
    else {
      counts = this.countsOf(trace);
      // Submitted before the dashboard listened (not in flight here, or queued before it began): counted now, so
      // that nothing goes below zero.
      if (inflight !== null || (queuedAt ?? Infinity) < this.since) counts.submitted += this.sizeOf(trace);
    }
    let outcome = 0;
    const error = trace.error;
    const size = this.sizeOf(trace);
    if (error instanceof CancelledError) {
      counts.cancelled += size;
      outcome = 2;
    } else {
      counts.completed += size;
      const failed = error !== undefined ? size : this.shown === undefined ? 0 : this.shown.failures(trace);
      if (failed > 0) {
        counts.failed += failed;
        outcome = 1;
      }
    }
    const endedAt = trace.endedAt ?? performance.now();
    if (startedAt !== undefined) {
      this.row(trace.worker).push(counts.id, startedAt, endedAt, outcome === 1 ? FAILED : outcome === 2 ? CANCELLED : 0);
    }
    const run = startedAt === undefined ? -1 : endedAt - startedAt;
    if (run >= 0) {
      counts.runMs += run;
      counts.runs++;
    }
    const wait = startedAt === undefined || queuedAt === undefined ? -1 : startedAt - queuedAt;
    this.series.add(endedAt, outcome, run, wait);
  }

  /** The dashboard listens from `now` on. */
  begin(now: number): void {
    this.since = now;
    this.base = this.executor.stats();
  }

  /** `/state.json`'s entry. */
  state(): ExecutorState {
    const view = this.view();
    this.countRunning(view, null);
    const stats = this.stats();
    const tasks: ExecutorState['tasks'] = Object.create(null);
    for (const c of this.shownRows()) {
      // A task really named '(anonymous)' or '(other names)' shares that label: added, not overwritten.
      const t = (tasks[c.label] ??= { queued: 0, running: 0, completed: 0, failed: 0, cancelled: 0 });
      t.queued += this.queued(c);
      t.running += c.running;
      t.completed += c.completed;
      t.failed += c.failed;
      t.cancelled += c.cancelled;
    }
    return { name: this.name, kind: this.kind, stats, tasks, workers: this.workers(view).map(([id, busy]) => ({ id, busy })) };
  }

  /** What the page receives: `full` for a page that has nothing (the last minute), else what changed since the last call. */
  snapshot(full: boolean): ExecutorSnapshot {
    const now = performance.now();
    this.series.advance(now);
    const view = this.view();
    const running: ExecutorSnapshot['running'] = [];
    this.countRunning(view, running);
    const stats = this.stats();
    const bars: ExecutorSnapshot['bars'] = [];
    for (const [row, ring] of this.rows) {
      const changed = full ? ring.recent(now - WINDOW_MS, MAX_BARS) : ring.changed(MAX_BARS);
      if (changed.length > 0) bars.push([row, changed]);
    }
    const workers = this.workers(view).map(([id, busy, memory]): [string, boolean, number, number] => [String(id), busy, memory ?? -1, this.rows.get(String(id))?.tasks ?? 0]);
    return {
      name: this.name,
      kind: this.kind,
      stats,
      tasks: this.shownRows().map((c) => [c.label, this.queued(c), c.running, c.completed, c.failed, c.cancelled, c.runs === 0 ? -1 : c.runMs / c.runs]),
      workers,
      running,
      bars,
      series: full ? this.series.all() : this.series.fresh(),
    };
  }

  /**
   * The executor's `stats()`, the unseen row counted from it. Where tasks are shown as what they carry (the
   * CLI's lines), the counts are the board's, in those units.
   */
  private stats(): ExecutorStats {
    const stats = this.executor.stats();
    if (this.shown === undefined) {
      this.countUnseen(stats);
      return stats;
    }
    const sum = this.sum();
    return { ...stats, queued: sum.queued, running: sum.running, completed: sum.completed, failed: sum.failed, cancelled: sum.cancelled };
  }

  /** The rows' counts added up. */
  private sum(): TaskCounts {
    const sum = { queued: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
    for (const c of this.byId) {
      sum.queued += this.queued(c);
      sum.running += c.running;
      sum.completed += c.completed;
      sum.failed += c.failed;
      sum.cancelled += c.cancelled;
    }
    return sum;
  }

  /**
   * Tasks submitted while no one listened, before the dashboard began, are on the channel never: what `stats()`
   * counts beyond the rows is theirs, in a row of its own, so that the table adds up to the tiles.
   */
  private countUnseen(stats: ExecutorStats): void {
    const base = this.base;
    if (base === null) return;
    const sum = this.sum();
    const inflight = Math.max(0, stats.queued + stats.running - sum.queued - sum.running);
    const completed = Math.max(0, stats.completed - base.completed - sum.completed);
    const cancelled = Math.max(0, stats.cancelled - base.cancelled - sum.cancelled);
    let c = this.unseen;
    if (c === null) {
      if (inflight + completed + cancelled === 0) return;
      // Not in `byId`: no bar has it, and the page knows the other rows by their place there.
      c = this.unseen = { id: -1, label: '(submitted before the dashboard)', submitted: 0, completed: 0, failed: 0, cancelled: 0, running: 0, runMs: 0, runs: 0 };
    }
    c.running = Math.min(inflight, Math.max(0, stats.running - sum.running));
    c.completed = completed;
    c.failed = Math.min(completed, Math.max(0, stats.failed - base.failed - sum.failed));
    c.cancelled = cancelled;
    c.submitted = inflight + completed + cancelled;
  }

  /** The rows to show: the unseen one last, while it counts anything (its tasks may all have been seen end). */
  private shownRows(): NameCounts[] {
    const c = this.unseen;
    return c === null || c.submitted === 0 ? this.byId : [...this.byId, c];
  }

  private sizeOf(trace: TaskTrace): number {
    return this.shown === undefined ? 1 : this.shown.size(trace);
  }

  private queued(c: NameCounts): number {
    return Math.max(0, c.submitted - c.completed - c.cancelled - c.running);
  }

  private view(): WorkerView[] | undefined {
    return (this.executor as WorkerSource)._workerView?.();
  }

  /** Counts the running tasks per name afresh (from the tasks in flight, or those the workers run); lists them when asked. */
  private countRunning(view: WorkerView[] | undefined, list: ExecutorSnapshot['running'] | null): void {
    for (const c of this.byId) c.running = 0;
    // `counted`: the executor counts it running (its workers' view), though its start may not be known (a child's
    // task sent ahead); a bar needs the start.
    const running = (trace: TaskTrace, counts: NameCounts, row: string, counted: boolean): void => {
      if (!counted && trace.startedAt === undefined) return;
      counts.running += this.sizeOf(trace);
      if (trace.startedAt !== undefined) list?.push([row, counts.id, trace.startedAt]);
    };
    if (this.inflight !== null) {
      for (const [trace, counts] of this.inflight) running(trace, counts, rowOf(trace.worker), false);
    } else if (view !== undefined) {
      for (const w of view) for (const trace of w.running) running(trace as TaskTrace, this.countsOf(trace as TaskTrace), String(w.id), true);
    }
  }

  /** The executor's workers, idle ones included where it says; else those seen running tasks in the last minute. */
  private workers(view: WorkerView[] | undefined): Array<[string | number, boolean, number | undefined]> {
    if (view !== undefined) return view.map((w) => [w.id, w.busy, w.memory]);
    const busy = new Set<string>();
    for (const trace of this.inflight?.keys() ?? []) if (trace.startedAt !== undefined) busy.add(rowOf(trace.worker));
    const out: Array<[string, boolean, undefined]> = [];
    for (const row of new Set([...this.rows.keys(), ...busy])) out.push([row, busy.has(row), undefined]);
    return out;
  }

  private countsOf(trace: TaskTrace): NameCounts {
    if (this.shown !== undefined) return this.counts(this.shown.label(trace));
    // Tasks come in runs of one name: the last one's counts first.
    const name = trace.name;
    if (name === this.lastName && this.lastCounts !== null) return this.lastCounts;
    const counts = this.counts(name);
    this.lastName = name;
    this.lastCounts = counts;
    return counts;
  }

  private counts(name: unknown): NameCounts {
    let counts = this.names.get(name);
    if (counts === undefined) {
      const other = this.byId.length >= MAX_NAMES;
      counts = other ? this.names.get(OTHER) : undefined;
      if (counts === undefined) {
        const label = other ? '(other names)' : typeof name === 'string' && name !== '' ? name : '(anonymous)';
        counts = { id: this.byId.length, label, submitted: 0, completed: 0, failed: 0, cancelled: 0, running: 0, runMs: 0, runs: 0 };
        this.byId.push(counts);
        if (other) this.names.set(OTHER, counts);
      }
      if (!other) this.names.set(name, counts);
    }
    return counts;
  }

  private row(worker: unknown): BarRing {
    const indexed = typeof worker === 'number' && worker >= 0 && worker < 1024 && Number.isInteger(worker);
    if (indexed) {
      const ring = this.rowsByIndex[worker];
      if (ring !== undefined) return ring;
    }
    let ring = this.rowsByWorker.get(worker);
    if (ring === undefined) {
      const key = rowOf(worker);
      ring = this.rows.get(key);
      if (ring === undefined) this.rows.set(key, (ring = new BarRing()));
      this.rowsByWorker.set(worker, ring);
    }
    if (indexed) this.rowsByIndex[worker as number] = ring;
    return ring;
  }
}

/** A worker's row: its id as text; tasks of no worker (the event loop's) share one. */
function rowOf(worker: unknown): string {
  return worker === undefined || worker === null ? '' : String(worker);
}
