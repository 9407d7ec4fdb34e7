/**
 * A job as the executor tracks it: its future, and the options its job is
 * added with: the executor's, and a `withOptions()` view's per-task ones as
 * BullMQ's own (priority, attempts, backoff), so that a queue's dashboard
 * shows them.
 * @internal
 */
import type { JobsOptions } from 'bullmq';
import { Future, type FutureOwner } from '../future.js';
import type { TaskSettings } from '../task-options.js';
import type { JobData } from './envelope.js';

/** Jobs are kept a while after they end, so that an executor that missed their event can still read the outcome. */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 1,
  removeOnComplete: { age: 3600, count: 10_000 },
  removeOnFail: { age: 24 * 3600, count: 10_000 },
};

/**
 * A task's priority p is BullMQ priority MIDDLE_PRIORITY - p: BullMQ runs its
 * lowest numbers first, from 1 to 2^21, and any job without one before them all.
 */
const MIDDLE_PRIORITY = 2 ** 20;

/** A submitted call: its future and its job. */
export class JobFuture<T> extends Future<T> {
  /** Whether the job is in Redis (its add was acknowledged). */
  added = false;
  /** A chunk cut short before an item that cannot be sent: that item's error ends its outcome. */
  cut: TypeError | null = null;
  /** Job options of its own (`withOptions()`), over the executor's. */
  opts: JobsOptions | null = null;
  /** Whether it runs a chunk of `map` items, and how many (1 for a task), for `stats()`. */
  chunk = false;
  items = 1;
  /** Its latency ticket (latency.ts), -1 when not timed. */
  ticket = -1;
  /** When Redis wrote its last `active` event, and its `completed`/`failed` one (ms, Redis's clock), or -1. */
  activeAt = -1;
  endAt = -1;
  constructor(
    owner: FutureOwner,
    readonly jobId: string,
    readonly name: string,
    readonly data: JobData,
  ) {
    super();
    this._owner = owner;
  }

  /** The options its job is added with, over the executor's `defaults`. */
  jobOptions(defaults: JobsOptions): JobsOptions {
    return this.opts === null ? { ...defaults, jobId: this.jobId } : { ...defaults, ...this.opts, jobId: this.jobId };
  }
}

/**
 * A view's options as BullMQ job options: `priority` as 2^20 - p, `retries` as
 * `attempts` (1 + retries) with an exponential `backoff`. Throws a
 * `RangeError` for a priority BullMQ cannot hold (an integer within ±(2^20 - 1)).
 */
export function jobOptionsOf(settings: TaskSettings): JobsOptions {
  const opts: JobsOptions = {};
  if (settings.hasPriority) {
    const p = settings.priority;
    if (!Number.isInteger(p) || Math.abs(p) >= MIDDLE_PRIORITY) {
      throw new RangeError(`withOptions(): a BullMQExecutor's priority must be an integer between ${1 - MIDDLE_PRIORITY} and ${MIDDLE_PRIORITY - 1}, got ${p}`);
    }
    opts.priority = MIDDLE_PRIORITY - p;
  }
  if (settings.attempts > 0) {
    opts.attempts = 1 + settings.attempts;
    if (settings.backoff > 0) opts.backoff = { type: 'exponential', delay: settings.backoff };
  }
  return opts;
}

/** A job's JSON field (its return value, its progress) read back; text that is not JSON as itself. */
export function parseJobJson(text: string | undefined | null): unknown {
  if (typeof text !== 'string') return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
