/**
 * A worker pool's workers as the dashboard lists them (worker-view.ts): by
 * the index the tracing channel gives as a task's `worker`, busy while a
 * task it was sent is not done (the holes a withdrawn task leaves in its
 * in-flight list until the worker answers past them are no work), its
 * memory from the probe its pool keeps.
 * @internal
 */
import { addRunning, type MemoryProbe, type WorkerView } from '../worker-view.js';
import type { TaskTrace } from '../tracing.js';
import type { PoolWorker } from './worker-state.js';

export function viewWorkers(workers: readonly PoolWorker[], memory: ReadonlyMap<number, MemoryProbe>): WorkerView[] {
  return workers.map((w) => {
    const running: TaskTrace[] = [];
    let busy = w.deferred.size > 0;
    for (const task of w.deferred.awaiting()) addRunning(running, task._trace);
    for (let i = 0; i < w.inflight.length; i++) {
      const task = w.inflight.at(i);
      if (task == null || task.done()) continue;
      busy = true;
      if (task.running()) addRunning(running, task._trace);
    }
    return { id: w.index, busy, memory: memory.get(w.index)?.get(), running };
  });
}
