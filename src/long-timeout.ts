/**
 * `setTimeout` for any number of milliseconds. Node's timers fire after 1 ms
 * when asked for more than 2^31-1 ms (about 24.8 days); a longer wait is
 * chained from timers of at most that length.
 * @internal
 */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface LongTimeout {
  clear(): void;
  /** Lets the process exit while only this timer is left. */
  unref(): void;
}

/** One Node timer; a class rather than closures, since `result(timeout)` makes one per call. */
class ShortTimeout implements LongTimeout {
  constructor(private readonly timer: NodeJS.Timeout) {}

  clear(): void {
    clearTimeout(this.timer);
  }

  unref(): void {
    this.timer.unref();
  }
}

class ChainedTimeout<A> implements LongTimeout {
  private timer: NodeJS.Timeout;
  private refed = true;
  private readonly end: number;

  constructor(
    private readonly fn: (arg: A) => void,
    ms: number,
    private readonly arg: A,
  ) {
    this.end = performance.now() + ms;
    this.timer = this.arm(ms);
  }

  clear(): void {
    clearTimeout(this.timer);
  }

  unref(): void {
    this.refed = false;
    this.timer.unref();
  }

  private arm(ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      const left = this.end - performance.now();
      if (left > 0) this.timer = this.arm(left);
      else this.fn(this.arg);
    }, Math.min(ms, MAX_TIMER_MS));
    if (!this.refed) timer.unref();
    return timer;
  }
}

const NEVER: LongTimeout = { clear() {}, unref() {} };

/** Calls `fn(arg)` once after `ms` milliseconds, however many (`Infinity`: never). */
export function longTimeout<A = undefined>(fn: (arg: A) => void, ms: number, arg?: A): LongTimeout {
  if (ms <= MAX_TIMER_MS) return new ShortTimeout(setTimeout(fn, ms, arg as A));
  if (ms === Infinity) return NEVER;
  return new ChainedTimeout(fn, ms, arg as A);
}
