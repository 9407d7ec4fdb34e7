// The subpath exports, type-checked as a user's program would use them (not run: no Redis here).
import { asCompleted, defineTasks, ThreadPoolExecutor } from 'concurrent-futures';
import { progress, type ProgressOptions } from 'concurrent-futures/progress';
import {
  BullMQExecutor,
  runWorker,
  type BullMQExecutorOptions,
  type RedisConnection,
  type RunWorkerOptions,
  type WorkerHandle,
} from 'concurrent-futures/bullmq';

export const remote = defineTasks(import.meta.url, { double: (n: number) => n * 2 }, { namespace: 'consumer' });

export async function withProgress(ex: ThreadPoolExecutor): Promise<number> {
  const options: ProgressOptions = { label: 'double', executor: ex };
  let sum = 0;
  for await (const f of progress(asCompleted([ex.submit(remote.double, 1)]), options)) sum += await f.result();
  return sum;
}

export async function scaleOut(connection: RedisConnection): Promise<number> {
  const options: BullMQExecutorOptions = { connection, queueName: 'consumer' };
  await using ex = new BullMQExecutor(options);
  const worker: WorkerHandle = await runWorker({ connection, queueName: 'consumer', modules: [import.meta.url], concurrency: 2 } satisfies RunWorkerOptions);
  try {
    const doubled: number = await ex.submit(remote.double, 21).result();
    return doubled;
  } finally {
    await worker.close();
  }
}
