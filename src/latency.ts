/**
 * The latency figures of `stats()`, one rule for every executor: how long
 * recent tasks waited (queued to started) and ran (started to done), and how
 * busy the workers were lately.
 *
 * A clock read costs ~65 ns here, a tenth of a tiny task on the event loop:
 * so not every task is timed. Submits are timed as a token bucket allows (a
 * token per SAMPLE_GAP_MS, BURST at most): every task while they come slower
 * than that, and the first BURST of a burst; past them one in `stride` is,
 * the stride set so that timed submits stay about SAMPLE_GAP_MS apart. A timed
 * task holds a ticket: its times live in typed arrays here, so no task
 * carries a number that would cost an allocation. Traced tasks are sampled alike
 * (BullMQ jobs and async `map` items excepted: timed whenever traced).
 * @internal
 */

/** The recent timed tasks the figures are over. */
export const RING = 1024;
/** Timed tasks in flight at once; past that, the oldest tickets are dropped (those tasks go untimed). */
const TICKETS = 4096;
/** Submits faster than one per this many ms are sampled. */
const SAMPLE_GAP_MS = 0.05;
const MAX_STRIDE = 256;
/** Submits timed in a burst before sampling starts: a few slow tasks submitted at once are all timed. */
const BURST = 64;
/** Utilization is over the last WINDOW_MS (or since the first task, when that is less), in buckets of BUCKET_MS. */
export const WINDOW_MS = 5000;
const BUCKET_MS = 250;
const BUCKETS = WINDOW_MS / BUCKET_MS + 2;

/** What `stats()` says of wait or run times, in ms; all 0 while `count` is 0. */
export interface Durations {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
}

export class Latency {
  private readonly waits = new Float64Array(RING);
  private readonly runs = new Float64Array(RING);
  /** How many tasks each recorded time stands for: the figures are weighted by it, so that a burst's first tasks, all timed, do not outweigh the sampled rest. */
  private readonly weights = new Float64Array(RING);
  /** Timed tasks recorded, ever: the next goes at `recorded % RING`. */
  private recorded = 0;
  private readonly queuedAt = new Float64Array(TICKETS);
  private readonly startedAt = new Float64Array(TICKETS);
  /** How many submitted tasks each timed one stands for, for utilization. */
  private readonly weight = new Float64Array(TICKETS);
  /** When a timed chunk ended (NaN before): its items are recorded once its outcome says how many ran (`itemsRan`). */
  private readonly endedAt = new Float64Array(TICKETS);
  /** The ticket that owns each slot, -1 when none. */
  private readonly owner = new Int32Array(TICKETS).fill(-1);
  private nextTicket = 0;
  /** Timed submits allowed at once (a token per SAMPLE_GAP_MS, up to BURST); past them, one in `stride`. */
  private tokens = BURST;
  private countdown = 1;
  private stride = 1;
  /** Submits not timed since the last timed one: that one stands for them too. */
  private skipped = 0;
  private lastSample = -Infinity;
  private readonly busyMs = new Float64Array(BUCKETS);
  private readonly bucketOf = new Float64Array(BUCKETS).fill(-1);
  /** When the first task was timed: before it, nothing was measured. */
  private origin = -1;
  /**
   * The worker time the executor had, kept by bucket as busy time is. A pool grows as work comes and shrinks
   * when workers are ended (an interrupt, a crash, `idleTimeout`): its time running tasks is a share of the
   * workers it had, not of those it has when asked. The current count is added, up to `now`, when asked.
   */
  private workerCount = 0;
  /** When the current count took effect, and when the first did; -1 before. */
  private countSince = -1;
  private countFrom = -1;
  private readonly workerMs = new Float64Array(BUCKETS);
  private readonly workerBucketOf = new Float64Array(BUCKETS).fill(-1);

  /** A ticket if the task submitted now is to be timed, else -1. */
  queued(): number {
    if (this.tokens < 1 && --this.countdown > 0) {
      this.skipped++;
      return -1;
    }
    const now = performance.now();
    const elapsed = now - this.lastSample;
    const weight = this.skipped + 1;
    const perTask = elapsed / weight;
    this.lastSample = now;
    this.skipped = 0;
    this.tokens = Math.min(BURST, this.tokens - 1 + elapsed / SAMPLE_GAP_MS);
    this.stride = perTask >= SAMPLE_GAP_MS ? 1 : Math.min(MAX_STRIDE, Math.ceil(SAMPLE_GAP_MS / perTask));
    this.countdown = this.stride;
    return this.ticket(now, weight);
  }

  /** A ticket for a task queued at `now` that is timed anyway (traced, or a `map` item of a batch timed at its start). */
  ticket(now: number, weight = 1): number {
    const t = this.nextTicket;
    this.nextTicket = (t + 1) & 0x3fffffff;
    const i = t & (TICKETS - 1);
    this.owner[i] = t;
    this.queuedAt[i] = now;
    this.startedAt[i] = NaN;
    this.endedAt[i] = NaN;
    this.weight[i] = weight;
    if (this.origin < 0) this.origin = now;
    return t;
  }

  /** The timed task was queued at `at` already, before it was submitted (a `map` item read, then held). */
  queuedSince(t: number, at: number): void {
    const i = t & (TICKETS - 1);
    if (t >= 0 && this.owner[i] === t && at < this.queuedAt[i]!) this.queuedAt[i] = at;
  }

  /** The timed task started at `now`. */
  started(t: number, now: number): void {
    const i = t & (TICKETS - 1);
    if (this.owner[i] === t) this.startedAt[i] = now;
  }

  /** The ticket was taken as its task (a `map` item) started: it was queued at `queuedAt`. */
  startedNow(t: number, queuedAt: number): void {
    const i = t & (TICKETS - 1);
    this.startedAt[i] = this.queuedAt[i]!;
    this.queuedAt[i] = queuedAt;
  }

  /** What the timed task, still running, has run inside the utilization window ending `now`, times its weight; 0 when not timed. */
  runningIn(t: number, now: number): number {
    const i = t & (TICKETS - 1);
    const start = this.startedAt[i]!;
    if (t < 0 || this.owner[i] !== t || Number.isNaN(start)) return 0;
    return Math.max(0, now - Math.max(start, this.windowStart(now))) * this.weight[i]!;
  }

  /** The timed task (of `items`) ended at `now`, having started when `started()` said; with `busy`, its run counts as busy time. */
  ended(t: number, now: number, items = 1, busy = true): void {
    const i = t & (TICKETS - 1);
    if (this.owner[i] !== t) return;
    const start = this.startedAt[i]!;
    this.ran(t, now, Number.isNaN(start) ? 0 : now - start, items, busy);
  }

  /**
   * The timed task (of `items`) was interrupted at `now`, its timeout's or a `cancel({ interrupt })`: it waited and
   * ran as any task (with `busy`, its run is busy time the executor does not count otherwise). Not timed when
   * its start is not known: a wait that includes its run would be wrong.
   */
  interrupted(t: number, now: number, items: number, busy: boolean): void {
    const i = t & (TICKETS - 1);
    if (t < 0 || this.owner[i] !== t) return;
    const start = this.startedAt[i]!;
    if (Number.isNaN(start)) this.owner[i] = -1;
    else this.ran(t, now, now - start, items, busy);
  }

  /**
   * The timed task (or chunk of `items`) ended at `endedAt` after running `runMs`
   * (the worker's measure); the items ran one after another, each an even share.
   * With `busy`, the run counts as busy time (else the executor counts it itself).
   */
  ran(t: number, endedAt: number, runMs: number, items: number, busy: boolean): void {
    const i = t & (TICKETS - 1);
    if (this.owner[i] !== t) return;
    const start = Math.max(this.queuedAt[i]!, endedAt - runMs);
    if (busy) this.busy(start, endedAt, this.weight[i]!);
    this.record(i, start, endedAt, items);
  }

  /**
   * The timed chunk ended at `endedAt` after running `runMs` (-1: since `started()` said), before its outcome is
   * read: how many of its items ran (those after a failing one never do) comes with `itemsRan()`.
   */
  chunkRan(t: number, endedAt: number, runMs: number): void {
    const i = t & (TICKETS - 1);
    if (this.owner[i] !== t) return;
    const start = this.startedAt[i]!;
    this.startedAt[i] = runMs >= 0 ? Math.max(this.queuedAt[i]!, endedAt - runMs) : Number.isNaN(start) ? endedAt : start;
    this.endedAt[i] = endedAt;
  }

  /** `n` items of the timed chunk ran, in the time `chunkRan()` gave; nothing when it gave none. */
  itemsRan(t: number, n: number): void {
    const i = t & (TICKETS - 1);
    if (t < 0 || this.owner[i] !== t || Number.isNaN(this.endedAt[i]!)) return;
    this.record(i, this.startedAt[i]!, this.endedAt[i]!, n);
  }

  /** The task of ticket slot `i` (`items` of it, one after another, each an even share) ran from `start` to `end`. */
  private record(i: number, start: number, end: number, items: number): void {
    this.owner[i] = -1;
    const queued = this.queuedAt[i]!;
    const weight = this.weight[i]!;
    const share = Math.max(0, end - start) / Math.max(1, items);
    for (let k = 0, n = Math.min(items, RING); k < n; k++) {
      const at = this.recorded++ % RING;
      this.waits[at] = start + k * share - queued;
      this.runs[at] = share;
      this.weights[at] = weight;
    }
  }

  /** Workers were busy from `from` to `to`, `weight` of them (a sampled task stands for the tasks around it). */
  busy(from: number, to: number, weight: number): void {
    if (this.origin < 0 || this.origin > from) this.origin = from;
    addToBuckets(this.busyMs, this.bucketOf, from, to, weight);
  }

  /** The executor has `n` workers from `now` on. */
  workers(n: number, now: number): void {
    if (this.countSince >= 0) addToBuckets(this.workerMs, this.workerBucketOf, this.countSince, now, this.workerCount);
    else this.countFrom = now;
    this.workerCount = n;
    this.countSince = now;
  }

  /** Where the utilization window starts, seen at `now`. */
  windowStart(now: number): number {
    return this.origin < 0 ? now : Math.max(this.origin, now - WINDOW_MS);
  }

  /**
   * The share of the workers' time spent running tasks over the window ending `now`, `runningMs` being what
   * tasks still running have run inside it. NaN for NaN.
   */
  utilization(now: number, runningMs: number): number {
    if (Number.isNaN(runningMs)) return NaN;
    const from = this.windowStart(now);
    const first = Math.floor(from / BUCKET_MS);
    let capacity = this.countSince < 0 ? 0 : this.workerCount * Math.max(0, now - Math.max(from, this.countSince));
    let busy = runningMs;
    for (let i = 0; i < BUCKETS; i++) {
      busy += inWindow(this.bucketOf[i]!, this.busyMs[i]!, first, from, this.origin, now);
      capacity += inWindow(this.workerBucketOf[i]!, this.workerMs[i]!, first, from, this.countFrom, this.countSince);
    }
    if (capacity <= 0) return 0;
    return Math.min(1, Math.max(0, busy / capacity));
  }

  waitTime(): Durations {
    return durations(this.waits, this.weights, Math.min(this.recorded, RING));
  }

  runTime(): Durations {
    return durations(this.runs, this.weights, Math.min(this.recorded, RING));
  }
}

/** Adds `weight` times each bucket's share of `from`..`to` to `ms`, a bucket reset when its slot held an older one. */
function addToBuckets(ms: Float64Array, bucketOf: Float64Array, from: number, to: number, weight: number): void {
  let b = Math.floor(from / BUCKET_MS);
  const last = Math.floor(to / BUCKET_MS);
  if (last - b >= BUCKETS) b = last - BUCKETS + 1;
  for (; b <= last; b++) {
    const part = Math.min(to, (b + 1) * BUCKET_MS) - Math.max(from, b * BUCKET_MS);
    if (part <= 0) continue;
    const i = b % BUCKETS;
    if (bucketOf[i] !== b) {
      bucketOf[i] = b;
      ms[i] = 0;
    }
    ms[i] = ms[i]! + part * weight;
  }
}

/**
 * What of bucket `b`'s `value` lies in a window from `from` (in bucket `first`): all of a later bucket, none of
 * an earlier one, and of the first the share of its time in the window, its time being what of `start`..`end`
 * falls in it.
 */
function inWindow(b: number, value: number, first: number, from: number, start: number, end: number): number {
  if (b !== first) return b > first ? value : 0;
  const s = Math.max(b * BUCKET_MS, start);
  const e = Math.min((b + 1) * BUCKET_MS, end);
  return from <= s || e <= s ? value : (value * Math.max(0, e - from)) / (e - s);
}

/**
 * Count, mean and nearest-rank percentiles of the first `n` values, each value counted `weights[i]` times (the
 * tasks it stands for); computed when asked, never per task.
 */
function durations(values: Float64Array, weights: Float64Array, n: number): Durations {
  if (n === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0 };
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
  let total = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    total += weights[i]!;
    sum += values[i]! * weights[i]!;
  }
  const at = (q: number): number => {
    const rank = q * total;
    let seen = 0;
    for (const i of order) if ((seen += weights[i]!) >= rank) return values[i]!;
    return values[order[n - 1]!]!;
  };
  return { count: n, mean: sum / total, p50: at(0.5), p90: at(0.9), p99: at(0.99) };
}
