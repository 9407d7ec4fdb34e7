// Deno only, run with --allow-read --allow-env and no --allow-net: a BullMQExecutor cannot reach Redis, which must
// fail its futures at once, naming the flag, rather than wait for a server as it does for one that is down.
import { BullMQExecutor } from 'concurrent-futures/bullmq';
import { tasks } from '../fixtures/bullmq-tasks.mjs';

const executor = new BullMQExecutor({ connection: `redis://127.0.0.1:${process.argv[2]}`, queueName: 'deno-permission' });
const started = performance.now();
const error = await executor.submit(tasks.square, 3).exception();
console.log(`${error?.name}: ${error?.message}`);
console.log(performance.now() - started < 5_000 ? 'at once' : `after ${Math.round(performance.now() - started)} ms`);
await executor.shutdown();
console.log('the program goes on');
