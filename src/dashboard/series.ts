/**
 * Throughput and latency over time: per second of the submitting thread's
 * clock, tasks ended (done, failed, cancelled) and the run and wait times'
 * percentiles. Each second's times go into a histogram of quarter-octave
 * bins (within 12% of the true value), found with integer steps, so a
 * second of a million tasks costs what a second of ten does.
 * @internal
 */

/** Quarter-octaves from 1 µs (each octave cut in four equal steps): the last bin holds 2^29.75 µs and more, about 15 minutes. */
const BINS = 120;
/** Seconds kept: five minutes. */
const KEEP = 300;

/**
 * One second: `[second, done, failed, cancelled, run p50, run p90, run p99, wait p50, wait p90, wait p99]`,
 * the times in ms (`-1` when no task of that second had one).
 */
export type SeriesPoint = number[];

function binOf(ms: number): number {
  const us = ms * 1000;
  if (!(us >= 4)) return us >= 2 ? 4 : 0;
  if (us >= 2 ** 30) return BINS - 1;
  // The octave is the top bit; the two bits after it are the quarter.
  const n = us | 0;
  const octave = 31 - Math.clz32(n);
  return octave * 4 + ((n >>> (octave - 2)) & 3);
}

/** The middle of a bin, in ms. */
function middleOf(bin: number): number {
  return (2 ** (bin >> 2) * (1 + ((bin & 3) + 0.5) / 4)) / 1000;
}

/** The `q` quantile of a histogram, as its bin's geometric middle; -1 when it is empty. */
function quantile(hist: Uint32Array, total: number, q: number): number {
  if (total === 0) return -1;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < BINS; i++) {
    seen += hist[i]!;
    if (seen >= rank) return middleOf(i);
  }
  return middleOf(BINS - 1);
}

export class Series {
  /** The second being counted; `-1` until the first task. */
  private second = -1;
  /** When the next second begins (ms): a task before it needs no division. */
  private nextAt = -Infinity;
  private done = 0;
  private failed = 0;
  private cancelled = 0;
  private readonly run = new Uint32Array(BINS);
  private runs = 0;
  private readonly wait = new Uint32Array(BINS);
  private waits = 0;
  /** Finished seconds, oldest first. */
  private readonly points: SeriesPoint[] = [];
  /** Points appended since the last `fresh()`. */
  private unsent = 0;

  /** A task ended at `at` (ms): `outcome` 0 done, 1 failed, 2 cancelled; its run and wait times, or -1. */
  add(at: number, outcome: number, run: number, wait: number): void {
    if (at >= this.nextAt) this.advance(at);
    if (outcome === 0) this.done++;
    else if (outcome === 1) this.failed++;
    else this.cancelled++;
    if (run >= 0) {
      this.run[binOf(run)]!++;
      this.runs++;
    }
    if (wait >= 0) {
      this.wait[binOf(wait)]!++;
      this.waits++;
    }
  }

  /** Closes the seconds before the one of `now`; a late task counts in the current one. */
  advance(now: number): void {
    const second = Math.floor(now / 1000);
    if (this.second < 0) this.second = second;
    if (second > this.second) {
      this.close();
      // Seconds without a task since: as many zeroes, at most what is kept.
      for (let s = Math.max(this.second + 1, second - KEEP); s < second; s++) this.append([s, 0, 0, 0, -1, -1, -1, -1, -1, -1]);
      this.second = second;
    }
    this.nextAt = (this.second + 1) * 1000;
  }

  /** Every point kept. */
  all(): SeriesPoint[] {
    return this.points.slice();
  }

  /** The points appended since the last call: each page had the ones before, from `all()` or an earlier call. */
  fresh(): SeriesPoint[] {
    const out = this.points.slice(this.points.length - Math.min(this.unsent, this.points.length));
    this.unsent = 0;
    return out;
  }

  private close(): void {
    this.append([
      this.second, this.done, this.failed, this.cancelled,
      quantile(this.run, this.runs, 0.5), quantile(this.run, this.runs, 0.9), quantile(this.run, this.runs, 0.99),
      quantile(this.wait, this.waits, 0.5), quantile(this.wait, this.waits, 0.9), quantile(this.wait, this.waits, 0.99),
    ]);
    this.done = this.failed = this.cancelled = this.runs = this.waits = 0;
    this.run.fill(0);
    this.wait.fill(0);
  }

  private append(point: SeriesPoint): void {
    this.points.push(point);
    if (this.points.length > KEEP) this.points.shift();
    this.unsent++;
  }
}
