/** A FIFO queue with O(1) push and shift: a growable ring buffer. @internal */
export class Deque<T> {
  private items: (T | undefined)[] = new Array(16);
  private head = 0;
  private mask = 15;
  length = 0;

  push(item: T): void {
    if (this.length > this.mask) this.grow();
    this.items[(this.head + this.length) & this.mask] = item;
    this.length++;
  }

  /** Puts an item back at the front. */
  unshift(item: T): void {
    if (this.length > this.mask) this.grow();
    this.head = (this.head - 1) & this.mask;
    this.items[this.head] = item;
    this.length++;
  }

  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.length--;
    return item;
  }

  /** Removes and returns the newest item. */
  pop(): T | undefined {
    if (this.length === 0) return undefined;
    this.length--;
    const i = (this.head + this.length) & this.mask;
    const item = this.items[i];
    this.items[i] = undefined;
    return item;
  }

  /** The item `i` places from the front. */
  at(i: number): T | undefined {
    return i < this.length ? this.items[(this.head + i) & this.mask] : undefined;
  }

  set(i: number, item: T): void {
    if (i < this.length) this.items[(this.head + i) & this.mask] = item;
  }

  peek(): T | undefined {
    return this.length === 0 ? undefined : this.items[this.head];
  }

  /** Removes and returns every item, oldest first. */
  takeAll(): T[] {
    const out: T[] = new Array(this.length);
    for (let i = 0; i < out.length; i++) out[i] = this.shift()!;
    return out;
  }

  private grow(): void {
    const old = this.items;
    const size = old.length * 2;
    const items: (T | undefined)[] = new Array(size);
    for (let i = 0; i < this.length; i++) items[i] = old[(this.head + i) & this.mask];
    this.items = items;
    this.head = 0;
    this.mask = size - 1;
  }
}
