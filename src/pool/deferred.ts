/**
 * The pool's side of `tasksPerWorker` > 1: a worker's tasks answered DEFERRED,
 * which await in it while it runs others; each one's result comes late, by
 * its seq (runner.ts, outbox.ts). An interrupted one stays until its result
 * comes or its worker ends: it still holds a place in the worker.
 * @internal
 */

/** A worker's unanswered tasks, as far as sharing it goes (inflight.ts). */
interface Sent<T> {
  readonly head: number;
  readonly length: number;
  at(i: number): T | null | undefined;
}

export class DeferredTasks<T extends { seq: number; done(): boolean }> {
  private readonly tasks = new Map<number, T>();
  /** Set once a task interrupted by its signal alone did not stop: the worker takes no more work and ends once its other tasks have. */
  draining = false;

  /** When tasks began to await (from none to one): for utilization, the worker is busy from then until the last ends, once. */
  since = 0;

  get size(): number {
    return this.tasks.size;
  }

  add(task: T): void {
    if (this.tasks.size === 0) this.since = performance.now();
    this.tasks.set(task.seq, task);
  }

  get(seq: number): T | undefined {
    return this.tasks.get(seq);
  }

  /** The task of `seq` has its late result: no longer here. */
  take(seq: number): T | undefined {
    const task = this.tasks.get(seq);
    this.tasks.delete(seq);
    return task;
  }

  /** How many are not done (those interrupted do not count). */
  live(except?: T): number {
    let n = 0;
    for (const task of this.tasks.values()) if (task !== except && !task.done()) n++;
    return n;
  }

  /** Those not done, awaiting in the worker: running (for the dashboard's view of the worker). */
  *awaiting(): IterableIterator<T> {
    for (const task of this.tasks.values()) if (!task.done()) yield task;
  }

  /** Removes and returns them all (their worker has exited, or the pool is broken). */
  takeAll(): T[] {
    const all = [...this.tasks.values()];
    this.tasks.clear();
    return all;
  }

  /** Whether other tasks than `task` may run on the worker now: ending it could fail them. Those sent after it count: a child may have started them. */
  shares(task: T, sent: Sent<T>): boolean {
    if (this.live(task) > 0) return true;
    for (let i = 0; i < sent.length; i++) {
      const other = sent.at(i);
      if (other != null && other !== task && !other.done()) return true;
    }
    return false;
  }

  /** After `ms`, if `task` (interrupted by its signal alone) still runs, the worker drains: `onStuck` takes back what it has not started and sees whether it can end. */
  watch(task: T, ms: number, sent: Sent<T>, onStuck: () => void): void {
    const seq = task.seq;
    setTimeout(() => {
      if (this.tasks.get(seq) !== task && !(sent.head === seq && sent.at(0) === task)) return;
      this.draining = true;
      onStuck();
    }, ms).unref();
  }

  /** Whether the worker drains and has only interrupted tasks left, `unanswered` being its tasks sent and not answered. */
  drained(unanswered: number): boolean {
    return this.draining && unanswered === 0 && this.live() === 0;
  }
}
