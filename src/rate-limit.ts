/**
 * `rateLimit: { max, interval }`: at most `max` task starts in any `interval`
 * milliseconds — a sliding window, not fixed ones, so that no stretch of
 * `interval` ms ever sees more (p-queue's fixed windows let `2 * max` through
 * across a window's edge).
 *
 * The window keeps the times of the recent starts, oldest first, and lets a
 * start through while fewer than `max` of them are within `interval` ms. A
 * start whose time is not known yet (a task given to a worker that is still
 * starting) is recorded as `Infinity` until `settle` gives a time no earlier
 * than its real one, and `settle` also moves a start that proved later than
 * recorded; each start counts as late as the latest before it, so that the
 * window errs towards waiting.
 * @internal
 */
export class StartWindow {
  /** A ring of start times, `count` of them from `head`; the one at `head` is start number `base`. */
  private stamps = new Float64Array(4);
  private head = 0;
  private count = 0;
  private base = 0;
  /** The latest of the start times dropped from the ring. */
  private floor = -Infinity;

  constructor(
    private readonly max: number,
    private readonly interval: number,
  ) {}

  /** Milliseconds until one more task may start: 0 for now, `Infinity` until a start is settled. */
  wait(now: number): number {
    const edge = now - this.interval;
    while (this.count > 0) {
      const oldest = Math.max(this.floor, this.stamps[this.head]!);
      if (oldest > edge) break;
      this.floor = oldest;
      this.head = (this.head + 1) % this.stamps.length;
      this.count--;
      this.base++;
    }
    if (this.count < this.max) return 0;
    return Math.max(this.floor, this.stamps[this.head]!) - edge;
  }

  /** Records a start at `time` (`Infinity`: not known yet), once `wait` said 0; returns its number for `settle`. */
  record(time: number): number {
    if (this.count === this.stamps.length) this.grow();
    this.stamps[(this.head + this.count) % this.stamps.length] = time;
    this.count++;
    return this.base + this.count - 1;
  }

  /**
   * Start number `n` began at `time` or earlier: one recorded as `Infinity` takes that time, one
   * recorded earlier moves to it (a start counted before it really began). Once dropped, it is past anyway.
   */
  settle(n: number, time: number): void {
    if (n < this.base) return;
    const at = (this.head + n - this.base) % this.stamps.length;
    const stamp = this.stamps[at]!;
    if (stamp === Infinity || stamp < time) this.stamps[at] = time;
  }

  private grow(): void {
    const next = new Float64Array(Math.min(this.stamps.length * 2, Math.max(this.max, 4)));
    for (let i = 0; i < this.count; i++) next[i] = this.stamps[(this.head + i) % this.stamps.length]!;
    this.stamps = next;
    this.head = 0;
  }
}
