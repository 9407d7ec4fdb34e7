/**
 * The pool's watch on the results its threads hold (outbox.ts): a result is
 * held only behind a call known to be quick; should that call prove long, the
 * pool takes what is held from the mirror in shared memory (held-results.ts)
 * within about a tick.
 * @internal
 */
import type { ResultMessage } from './protocol.js';
import type { PoolWorker } from './worker-state.js';

/**
 * How often the pool looks for results a worker holds behind a call that
 * proved long (ms): such a result waits at most about this long. Shorter
 * costs every round trip: a 2 ms timer made a one-task ping-pong 10% slower.
 */
const HELD_TICK_MS = 10;

export class HeldWatch {
  private timer: NodeJS.Timeout | null = null;
  private readonly pollNow = (): void => this.poll();

  constructor(
    private readonly workers: readonly PoolWorker[],
    /** Takes results read from a worker's mirror, as if the worker had sent them. */
    private readonly onResults: (w: PoolWorker, results: ResultMessage) => void,
  ) {}

  /**
   * Work went to a worker that may hold results in shared memory: look for
   * them each tick while it may. A result is held only behind a later task,
   * so a worker with one task out holds none: a one-task round trip has no tick.
   */
  watch(w: PoolWorker): void {
    if (this.timer === null && w.mayHoldResults()) {
      this.timer = setInterval(this.pollNow, HELD_TICK_MS);
      this.timer.unref();
    }
  }

  /** Every tick while a worker may hold results: those held for a whole tick are taken from shared memory. */
  private poll(): void {
    let busy = false;
    for (const w of this.workers) {
      if (!w.mayHoldResults()) continue;
      busy = true;
      const held = w.takeHeld();
      if (held !== null) this.onResults(w, held);
    }
    if (!busy && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}
