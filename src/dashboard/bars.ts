/**
 * The task stream's memory: one ring of finished bars per worker, in typed
 * arrays, so that thousands of tasks a second cost a few stores each and no
 * object. Quick tasks of one name that follow each other closely share a bar
 * (it counts them): at a minute across a page they would be narrower than a
 * pixel apart, and one bar per task would be what floods a browser.
 * @internal
 */

/** A bar's flags: one of its tasks failed; it was cancelled while it ran (interrupted). */
export const FAILED = 1;
export const CANCELLED = 2;

/** Tasks this short (ms), this close to the bar before, join it: a pixel or so of a minute-wide stream. */
const MERGE_MS = 20;

/** A bar as the page receives it: `[seq, name, start, end, flags, count]` (times in ms, the server's clock). */
export type BarTuple = [number, number, number, number, number, number];

export class BarRing {
  private readonly start: Float64Array;
  private readonly end: Float64Array;
  private readonly name: Int32Array;
  private readonly flags: Uint8Array;
  private readonly count: Uint32Array;
  /** Bars ever pushed: the next bar's seq; bar `s` lives in slot `s % capacity` while `s >= pushed - capacity`. */
  private pushed = 0;
  /** The first seq changed (pushed or extended) since the last `changed()`. */
  private dirty = 0;
  /** Tasks finished on this worker. */
  tasks = 0;

  /** `capacity - 1`: the capacity is a power of two, so that a slot is a mask, not a division. */
  private readonly mask: number;

  constructor(private readonly capacity = 4096) {
    if (!Number.isInteger(Math.log2(capacity))) throw new RangeError(`a bar ring's capacity must be a power of two, got ${capacity}`);
    this.mask = capacity - 1;
    this.start = new Float64Array(capacity);
    this.end = new Float64Array(capacity);
    this.name = new Int32Array(capacity);
    this.flags = new Uint8Array(capacity);
    this.count = new Uint32Array(capacity);
  }

  /** A task of name id `name` ran from `start` to `end` here. */
  push(name: number, start: number, end: number, flags: number): void {
    this.tasks++;
    if (this.pushed > 0 && flags === 0 && end - start < MERGE_MS) {
      const last = (this.pushed - 1) & this.mask;
      if (this.name[last] === name && this.flags[last] === 0 && this.end[last]! - this.start[last]! < MERGE_MS && start - this.end[last]! < MERGE_MS) {
        if (end > this.end[last]!) this.end[last] = end;
        this.count[last]!++;
        if (this.dirty > this.pushed - 1) this.dirty = this.pushed - 1;
        return;
      }
    }
    const slot = this.pushed & this.mask;
    this.start[slot] = start;
    this.end[slot] = end;
    this.name[slot] = name;
    this.flags[slot] = flags;
    this.count[slot] = 1;
    this.pushed++;
  }

  /** The bars changed since the last call, at most `max` (the newest): what a page that has the rest needs. */
  changed(max: number): BarTuple[] {
    const from = this.dirty;
    this.dirty = this.pushed;
    return this.since(from, -Infinity, max);
  }

  /** The bars that ended after `after`, at most `max` (the newest): what a page that has nothing needs. */
  recent(after: number, max: number): BarTuple[] {
    return this.since(0, after, max);
  }

  private since(seq: number, after: number, max: number): BarTuple[] {
    const first = Math.max(seq, this.pushed - this.capacity, this.pushed - max);
    const out: BarTuple[] = [];
    for (let s = first; s < this.pushed; s++) {
      const i = s & this.mask;
      if (this.end[i]! > after) out.push([s, this.name[i]!, this.start[i]!, this.end[i]!, this.flags[i]!, this.count[i]!]);
    }
    return out;
  }
}
