// main.mjs: the program, for Node 20 and 22 (no `await using` there). Run it with `node main.mjs`.
import { ThreadPoolExecutor } from 'concurrent-futures';
import { tasks } from './tasks.mjs';

const executor = new ThreadPoolExecutor();
try {
  const future = executor.submit(tasks.fib, 30);
  console.log('fib(30) =', await future.result());

  for await (const value of executor.map(tasks.fib, [10, 20, 25])) {
    console.log(value);
  }
} finally {
  await executor.shutdown(); // waits for running tasks, then stops the workers
}
