// main.ts: the program. Run it with `npx tsx main.ts`, or compile it with tsc and run the .js.
import { ThreadPoolExecutor } from 'concurrent-futures';
import { tasks } from './tasks.js';

await using executor = new ThreadPoolExecutor(); // a worker thread per core, shut down when this module's code ends

const future = executor.submit(tasks.fib, 30); // returns a Future at once
console.log('fib(30) =', await future.result());

for await (const value of executor.map(tasks.fib, [10, 20, 25])) {
  console.log(value); // in input order: 55, 6765, 75025
}
