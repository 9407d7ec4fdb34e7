// tasks.mjs: the functions the thread pool's workers (and BullMQ's workers) run.
import { defineTasks } from 'concurrent-futures';

function fib(n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

export const tasks = defineTasks(import.meta.url, {
  fib,
  checkedFib(n) {
    if (n < 0) throw new RangeError(`fib of a negative number: ${n}`);
    return fib(n);
  },
});
