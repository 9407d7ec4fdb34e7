// The suite's task module: workers import it, so it only defines tasks.
import { defineTasks, taskSignal } from 'concurrent-futures';

export const tasks = defineTasks(import.meta.url, {
  fib(n) {
    return n < 2 ? n : tasks.fib(n - 1) + tasks.fib(n - 2);
  },
  square(x) {
    return x * x;
  },
  exit(code) {
    process.exit(code);
  },
  /** Resolves 'aborted' once its taskSignal() aborts; bounded, so that a signal that never aborts fails the check instead of hanging it. */
  async untilAborted(ms) {
    const signal = taskSignal();
    return Promise.race([
      new Promise((resolve) => (signal.aborted ? resolve('aborted') : signal.addEventListener('abort', () => resolve('aborted')))),
      new Promise((resolve) => setTimeout(resolve, ms, 'never aborted')),
    ]);
  },
});
