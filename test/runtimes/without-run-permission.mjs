// Deno only, run with --allow-read alone: a process pool cannot start a child, which must fail its futures
// (saying which flag is missing) rather than end the program.
import { ProcessPoolExecutor } from 'concurrent-futures';

const executor = new ProcessPoolExecutor(1);
const error = await executor.submit((x) => x, 1).exception();
console.log(`${error?.name}: ${error?.message}`);
await executor.shutdown();
console.log('the program goes on');
