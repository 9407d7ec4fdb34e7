// A task module of the consumer project: imported by app.ts, never run as the entry.
import { defineTasks, transfer } from 'concurrent-futures';

export const tasks = defineTasks(import.meta.url, {
  square(n: number): number {
    return n * n;
  },
  async fill(bytes: Uint8Array, value: number): Promise<Uint8Array> {
    bytes.fill(value);
    return transfer(bytes, [bytes.buffer]);
  },
  init(label: string): void {
    (globalThis as { label?: string }).label = label;
  },
});
