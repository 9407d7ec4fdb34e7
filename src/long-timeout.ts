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

class ChainedTimeout implements LongTimeout {
  private timer: NodeJS.Timeout;
  private refed = true;
  private readonly end: number;

  constructor(
    private readonly fn: () => void,
    ms: number,
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
      else this.fn();
    }, Math.min(ms, MAX_TIMER_MS));
    if (!this.refed) timer.unref();
    return timer;
  }
}

/** Calls `fn` once after `ms` milliseconds, however many (`Infinity`: never). */
export function longTimeout(fn: () => void, ms: number): LongTimeout {
  if (ms <= MAX_TIMER_MS) {
    const timer = setTimeout(fn, ms);
    return { clear: () => clearTimeout(timer), unref: () => void timer.unref() };
  }
  if (ms === Infinity) return { clear() {}, unref() {} };
  return new ChainedTimeout(fn, ms);
}
