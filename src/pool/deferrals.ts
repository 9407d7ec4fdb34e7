/**
 * The worker's side of `tasksPerWorker` > 1: the tasks that await while it
 * runs others. Each was answered DEFERRED when it returned a promise; its
 * result goes late, alone, once it settles (runner.ts). And what
 * `taskSignal()` and `reportProgress()` see of any task running here.
 * @internal
 */
import { abortTask, type TaskContext } from '../task-signal.js';

/** A task running here, as `taskSignal()` and `reportProgress()` see it. */
export class RunContext implements TaskContext {
  abort: TaskContext['abort'] = null;
  stray: ((error: unknown) => void) | undefined = undefined;
  constructor(
    private readonly sendProgress: (seq: number, value: unknown) => void,
    readonly seq: number,
  ) {}

  report(value: unknown): void {
    this.sendProgress(this.seq, value);
  }
}

export class Deferrals {
  private readonly waiting = new Map<number, RunContext>();
  /** Tasks interrupted before they started (a child shares no ring with its pool): skipped at their turn. */
  private skipped: Set<number> | null = null;
  /** Set while the worker runs as many tasks as it may: the next starts once one of them ends. */
  full = false;

  constructor(private readonly max: number) {}

  /** Takes on a task that awaits; true when the worker now runs as many as it may. */
  add(context: RunContext): boolean {
    this.waiting.set(context.seq, context);
    this.full = this.waiting.size + 1 > this.max;
    return this.full;
  }

  /** The task of `seq` has settled: its context, the first time only. */
  settle(seq: number): RunContext | undefined {
    const context = this.waiting.get(seq);
    if (context === undefined) return undefined;
    this.waiting.delete(seq);
    context.stray = undefined;
    return context;
  }

  /** Aborts the signal of the task of `seq` where it awaits here; one not started yet (`seq` >= `next`) is skipped at its turn. */
  abort(seq: number, next: number, reason: unknown): void {
    const context = this.waiting.get(seq);
    if (context !== undefined) abortTask(context, reason);
    else if (seq >= next) (this.skipped ??= new Set()).add(seq);
  }

  /** A shutdown's abort: every task that awaits here. */
  abortAll(reason: unknown): void {
    for (const context of this.waiting.values()) abortTask(context, reason);
  }

  /** Whether the task of `seq` was interrupted before its turn: it does not run. */
  skips(seq: number): boolean {
    return this.skipped !== null && this.skipped.delete(seq);
  }
}
