/**
 * What an executor tells the dashboard of its workers that neither `stats()`
 * (counts only) nor the tracing channel (busy workers only, as tasks end)
 * can: every worker by the id its tasks' traces carry, idle ones included,
 * and its memory where Node can tell.
 * @internal
 */

import { ChunkTrace, type TaskTrace, type Trace } from './tracing.js';

/**
 * One worker: the id of the tracing channel's `worker`, whether it runs a task now, its memory in bytes when
 * known, and the contexts of the tasks it runs now, as the executor counts them running (a child's task sent
 * ahead too, as CPython's call queue; none while nothing traces).
 */
export interface WorkerView {
  id: number | string;
  busy: boolean;
  memory: number | undefined;
  running: TaskTrace[];
}

/** Adds the context of a running task (a chunk: its first item, which stands for it) to `running`. */
export function addRunning(running: TaskTrace[], trace: Trace | null | undefined): void {
  if (trace == null) return;
  const context = trace instanceof ChunkTrace ? trace.items[0] : (trace as TaskTrace);
  if (context !== undefined) running.push(context);
}

/** How often a worker's memory is read again, at most (ms): only while a page asks. */
const REFRESH_MS = 2000;

/** A worker's memory, read in the background and kept: asking costs nothing, and nothing is read unless asked. */
export class MemoryProbe {
  private value: number | undefined = undefined;
  private readAt = -Infinity;
  private reading = false;

  constructor(private readonly read: () => Promise<number | undefined> | undefined) {}

  /** The last reading; a new one starts when it is older than two seconds. */
  get(): number | undefined {
    const now = performance.now();
    if (!this.reading && now - this.readAt > REFRESH_MS) {
      this.readAt = now;
      let pending: Promise<number | undefined> | undefined;
      try {
        pending = this.read();
      } catch {
        pending = undefined;
      }
      if (pending !== undefined) {
        this.reading = true;
        pending.then(
          (bytes) => {
            this.value = bytes;
            this.reading = false;
          },
          () => {
            this.reading = false;
          },
        );
      }
    }
    return this.value;
  }
}
