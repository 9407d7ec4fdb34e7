// Compile-time checks of concurrent-futures/bullmq's public types.
import { defineTasks, type Future } from 'concurrent-futures';
import { BullMQExecutor, runWorker, type WorkerHandle } from 'concurrent-futures/bullmq';

const tasks = defineTasks(import.meta.url, {
  add(a: number, b: number): number {
    return a + b;
  },
}, { namespace: 'types' });

export async function check(): Promise<void> {
  await using ex = new BullMQExecutor({ connection: 'redis://127.0.0.1:6379', queueName: 'q', prefix: 'bull' });
  const f: Future<number> = ex.submit(tasks.add, 1, 2);
  // @ts-expect-error wrong argument type
  ex.submit(tasks.add, 1, 'x');
  for await (const n of ex.map(tasks.add, [1], [2], { chunksize: 256 })) {
    const v: number = n;
    void v;
  }
  const worker: WorkerHandle = await runWorker({ connection: { host: '127.0.0.1', port: 6379 }, queueName: 'q', modules: [new URL(import.meta.url)], concurrency: 4, lockDuration: 5000, stalledInterval: 2000, rateLimit: { max: 100, interval: 1000 } });
  const names: readonly string[] = worker.tasks;
  void names;
  await worker.close();
  void f;
}
