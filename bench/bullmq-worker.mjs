// One worker process of the BullMQ benchmark: raw BullMQ's Worker, or runWorker.
// Prints 'ready' once it takes jobs; SIGTERM stops it.
import { fileURLToPath } from 'node:url';

const [kind, url, queueName, concurrency, threads] = process.argv.slice(2);
let close;
if (kind === 'raw') {
  const { Worker } = await import('bullmq');
  const { Redis } = await import('ioredis');
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const worker = new Worker(queueName, async (job) => job.data.x + 1, { connection, concurrency: Number(concurrency) });
  await worker.waitUntilReady();
  close = async () => {
    await worker.close();
    connection.disconnect();
  };
} else {
  const { runWorker } = await import('concurrent-futures/bullmq');
  const handle = await runWorker({
    connection: url, queueName, concurrency: Number(concurrency), threads: threads === 'default' ? undefined : Number(threads), modules: [fileURLToPath(new URL('./bullmq-tasks.mjs', import.meta.url))],
  });
  close = () => handle.close();
}
process.on('SIGTERM', () => close().then(() => process.exit(0)));
console.log('ready');
