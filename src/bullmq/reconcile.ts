/**
 * Reconciliation: the executor's futures checked against the jobs in Redis.
 * Futures are settled from the queue's event stream; after a reconnect, or a
 * silence of `interval` ms while jobs are pending, the jobs themselves are
 * read, so that no missed event leaves a future pending forever: those that
 * ended are settled, those that started are marked running, and those that
 * are gone (Redis lost them, or their event was missed past the retention)
 * are added again: delivery is at-least-once.
 * @internal
 */
import type { Redis } from 'ioredis';

/** Jobs read per pipeline. */
const SLICE = 1000;

/** A pending job as reconciliation reads it. */
export interface ReconciledJob {
  readonly jobId: string;
  /** Whether the job is in Redis (its add was acknowledged). */
  added: boolean;
  done(): boolean;
}

/** What reconciliation does with what it reads: the executor's side. */
export interface JobBook<J extends ReconciledJob> {
  /** The jobs pending now. */
  pending(): Iterable<J>;
  readonly size: number;
  /** The job ended: its result, or (null) its failure. */
  ended(job: J, returnvalue: string | null, failedReason: string | null): void;
  started(job: J): void;
  /** Jobs that are not in Redis anymore: to add again. */
  lost(jobs: J[]): void;
  /** A reconciliation is over, settled or not. */
  done(): void;
}

export class Reconciler<J extends ReconciledJob> {
  private lastEvent = 0;
  private running = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly commands: Redis,
    /** The prefix of a job's key: the queue's qualified name and ':'. */
    private readonly jobPrefix: string,
    private readonly interval: number,
    private readonly book: JobBook<J>,
  ) {}

  /** An event of one of the executor's jobs came: the stream is alive. */
  heard(): void {
    this.lastEvent = performance.now();
  }

  /** Watches for silence while jobs are pending (`on`), or stops. */
  watch(on: boolean): void {
    if (!on) {
      if (this.timer !== null) clearInterval(this.timer);
      this.timer = null;
      return;
    }
    this.lastEvent = performance.now();
    this.timer ??= setInterval(() => {
      if (this.book.size > 0 && performance.now() - this.lastEvent >= this.interval) this.schedule();
    }, Math.min(this.interval, 1000));
    this.timer.unref();
  }

  /** Reads the pending jobs soon, unless a reading is on its way already. */
  schedule(): void {
    if (this.running || this.book.size === 0) return;
    this.running = true;
    setTimeout(() => void this.run(), 0).unref();
  }

  private async run(): Promise<void> {
    try {
      const jobs = [...this.book.pending()].filter((j) => j.added);
      for (let i = 0; i < jobs.length; i += SLICE) {
        const slice = jobs.slice(i, i + SLICE);
        const pipeline = this.commands.pipeline();
        for (const j of slice) pipeline.hmget(this.jobPrefix + j.jobId, 'finishedOn', 'returnvalue', 'failedReason', 'processedOn', 'name');
        const replies = (await pipeline.exec()) ?? [];
        const lost: J[] = [];
        slice.forEach((j, k) => {
          const [error, fields] = replies[k] ?? [new Error('no reply'), null];
          if (error !== null || j.done()) return;
          const [finishedOn, returnvalue, failedReason, processedOn, name] = fields as Array<string | null>;
          if (name === null) {
            j.added = false;
            lost.push(j);
          } else if (finishedOn !== null) {
            this.book.ended(j, failedReason === null ? (returnvalue ?? null) : null, failedReason ?? null);
          } else if (processedOn !== null) this.book.started(j);
        });
        if (lost.length > 0) this.book.lost(lost);
      }
      this.lastEvent = performance.now();
    } catch {
      // Redis still unreachable: the next reconnect or silence tries again.
    } finally {
      this.running = false;
      this.book.done();
    }
  }
}
