/**
 * A worker pool's workers as the dashboard lists them (worker-view.ts): by
 * the index the tracing channel gives as a task's `worker`, busy while it
 * has a task out, its memory from the probe its transport left.
 * @internal
 */
import type { MemoryProbe, WorkerView } from '../worker-view.js';
import type { PoolWorker } from './worker-state.js';

export function viewWorkers(workers: readonly PoolWorker[], memory: ReadonlyMap<number, MemoryProbe>): WorkerView[] {
  return workers.map((w) => ({ id: w.index, busy: w.inflight.length > 0 || w.deferred.size > 0, memory: memory.get(w.index)?.get() }));
}
