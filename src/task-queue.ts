/**
 * An executor's queue of tasks not started: higher priority first, FIFO
 * within one priority. Tasks of the default priority 0 wait in a plain ring
 * buffer, so that a queue that never sees another priority costs what a
 * `Deque` does; the others wait in a binary heap ordered by priority, then by
 * arrival.
 * @internal
 */
import { Deque } from './deque.js';

interface Entry<T> {
  item: T;
  priority: number;
  /** Arrival order: a task put back at the front gets one below every other. */
  order: number;
}

export class TaskQueue<T> {
  private readonly plain = new Deque<T>();
  private heap: Entry<T>[] | null = null;
  private arrivals = 0;
  private fronts = 0;
  length = 0;

  /** `priorityOf` gives an item's priority, read once each time it is queued. */
  constructor(private readonly priorityOf: (item: T) => number) {}

  /** Queues an item behind those of its priority. */
  push(item: T): void {
    const priority = this.priorityOf(item);
    this.length++;
    if (priority === 0) this.plain.push(item);
    else this.insert({ item, priority, order: ++this.arrivals });
  }

  /** Puts an item back before every other of its priority (a task taken back from a worker, say). */
  unshift(item: T): void {
    const priority = this.priorityOf(item);
    this.length++;
    if (priority === 0) this.plain.unshift(item);
    else this.insert({ item, priority, order: --this.fronts });
  }

  /** Removes and returns the item that runs next. */
  shift(): T | undefined {
    if (this.heap === null || this.heap.length === 0) {
      if (this.plain.length === 0) return undefined;
      this.length--;
      return this.plain.shift();
    }
    this.length--;
    if (this.heap[0]!.priority < 0 && this.plain.length > 0) return this.plain.shift();
    return this.removeTop();
  }

  /** The item that runs next, left in the queue. */
  peek(): T | undefined {
    if (this.heap === null || this.heap.length === 0) return this.plain.peek();
    const top = this.heap[0]!;
    return top.priority < 0 && this.plain.length > 0 ? this.plain.peek() : top.item;
  }

  /** Removes and returns every item, in the order they would run. */
  takeAll(): T[] {
    const out: T[] = [];
    while (this.length > 0) out.push(this.shift()!);
    return out;
  }

  /** Whether `a` runs before `b`. */
  private static before<T>(a: Entry<T>, b: Entry<T>): boolean {
    return a.priority > b.priority || (a.priority === b.priority && a.order < b.order);
  }

  private insert(entry: Entry<T>): void {
    const heap = (this.heap ??= []);
    let i = heap.length;
    heap.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!TaskQueue.before(entry, heap[parent]!)) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = entry;
  }

  private removeTop(): T {
    const heap = this.heap!;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const child = right < heap.length && TaskQueue.before(heap[right]!, heap[left]!) ? right : left;
        if (!TaskQueue.before(heap[child]!, last)) break;
        heap[i] = heap[child]!;
        i = child;
      }
      heap[i] = last;
    }
    return top.item;
  }
}
