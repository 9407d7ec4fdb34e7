// tasks.ts: the functions workers run. Workers import this module, so it only defines them.
import { defineTasks } from 'concurrent-futures';

function fib(n: number): number {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

export const tasks = defineTasks(import.meta.url, { fib });
