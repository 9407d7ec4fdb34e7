/**
 * The sequence rule of a worker pool: the n-th task a worker is sent has seq
 * n, and the worker answers every seq once, in order (protocol.ts). So each
 * answer, or each message the channel dropped, is that of the first task not
 * answered yet, the head; a task taken back leaves its place empty (null),
 * which its answer (SKIPPED) still takes.
 * @internal
 */
import { Deque } from '../deque.js';

/** The tasks sent to one worker and not answered yet, in seq order. */
export class InFlight<T extends { seq: number }> {
  private readonly tasks = new Deque<T | null>();
  private nextSeq = 0;
  private headSeq = 0;

  /** The seq of the first unanswered task. */
  get head(): number {
    return this.headSeq;
  }

  get length(): number {
    return this.tasks.length;
  }

  at(i: number): T | null | undefined {
    return this.tasks.at(i);
  }

  /** Gives `task` the next seq. */
  add(task: T): void {
    task.seq = this.nextSeq++;
    this.tasks.push(task);
  }

  /** Takes the last task added back: it was never sent. */
  removeLast(): T {
    this.nextSeq--;
    return this.tasks.pop() as T;
  }

  /** The head was answered: its task, or null where it was taken back. */
  answer(): T | null {
    this.headSeq++;
    return this.tasks.shift() ?? null;
  }

  /** Empties the place of the task at `i`, taken back. */
  clear(i: number): void {
    this.tasks.set(i, null);
  }
}
