/**
 * A worker pool's workers as the dashboard lists them (worker-view.ts): by
 * the index the tracing channel gives as a task's `worker`, busy while a
 * task it was sent is not done (the holes a withdrawn task leaves in its
 * in-flight list until the worker answers past them are no work), its
 * memory from the probe its pool keeps.
 * @internal
 */
import type { MemoryProbe, WorkerView } from '../worker-view.js';
import type { PoolWorker } from './worker-state.js';

export function viewWorkers(workers: readonly PoolWorker[], memory: ReadonlyMap<number, MemoryProbe>): WorkerView[] {
  return workers.map((w) => ({ id: w.index, busy: busy(w), memory: memory.get(w.index)?.get() }));
}

function busy(w: PoolWorker): boolean {
  if (w.deferred.size > 0) return true;
  for (let i = 0; i < w.inflight.length; i++) {
    const task = w.inflight.at(i);
    if (task != null && !task.done()) return true;
  }
  return false;
}
