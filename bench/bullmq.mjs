// BullMQ suite: concurrent-futures' BullMQExecutor against BullMQ used directly
// (a Queue, a Worker in another process, QueueEvents for the results).
//   node bench/bullmq.mjs --list
//   node bench/bullmq.mjs <contender> <workload> <redis url>   (one measurement, one JSON line)
// Workloads: W1 submit + wait of 10,000 tiny tasks; W2 one task at a time (ms per round trip);
// W1-map: map over 100,000 items with chunksize 256 ('BullMQExecutor, no chunksize': the same map with
// automatic chunks). One worker process each, concurrency CONCURRENCY;
// ours with its defaults (a task that proves quick on the worker's event loop, others on threads), and with
// `threads: 0` (every task on the worker's event loop, as raw BullMQ runs them).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { report } from './harness.mjs';

export const CONCURRENCY = 8;
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
export const contenders = {
  'BullMQExecutor': ours,
  'BullMQExecutor, threads: 0': ours,
  'BullMQExecutor, no chunksize': (workload, url, queueName) => ours(workload, url, queueName, { mapOptions: {} }),
  'raw BullMQ': raw,
};
/** How each contender's worker process runs its tasks. */
export const workers = {
  'BullMQExecutor': ['ours', 'default'],
  'BullMQExecutor, threads: 0': ['ours', '0'],
  'BullMQExecutor, no chunksize': ['ours', 'default'],
  'raw BullMQ': ['raw', '-'],
};

if (process.argv[2] === '--list') {
  console.log(JSON.stringify(Object.keys(contenders)));
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [name, workload, url] = process.argv.slice(2);
  const queueName = `bench-${process.pid}`;
  const worker = await startWorker(...workers[name], url, queueName);
  try {
    report(await contenders[name](workload, url, queueName));
  } finally {
    worker.kill('SIGTERM');
  }
  process.exit(0);
}

export function startWorker(kind, threads, url, queueName) {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./bullmq-worker.mjs', import.meta.url)), kind, url, queueName, String(CONCURRENCY), threads], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => String(d).includes('ready') && resolve(child));
    child.on('exit', (code) => reject(new Error(`worker exited with ${code}`)));
  });
}


async function ours(workload, url, queueName, { n = 10_000, timed, mapOptions = { chunksize: 256 } } = {}) {
  const { BullMQExecutor } = await import('concurrent-futures/bullmq');
  const { tasks } = await import('./bullmq-tasks.mjs');
  const ex = new BullMQExecutor({ connection: url, queueName });
  try {
    // Warm-up: connections, scripts, the worker's thread.
    await Promise.all(Array.from({ length: 50 }, (_, i) => ex.submit(tasks.tiny, i).result()));
    if (workload === 'W1') {
      await timed?.start();
      const t0 = performance.now();
      const fs = Array.from({ length: n }, (_, i) => ex.submit(tasks.tiny, i));
      for (const f of fs) await f.result();
      const rate = n / ((performance.now() - t0) / 1000);
      await timed?.stop();
      return rate;
    }
    if (workload === 'W2') {
      const times = [];
      for (let i = 0; i < 300; i++) {
        const t0 = performance.now();
        await ex.submit(tasks.tiny, i).result();
        times.push(performance.now() - t0);
      }
      return median(times);
    }
    if (workload === 'W1-map') {
      const n = 100_000;
      const t0 = performance.now();
      let count = 0;
      for await (const _ of ex.map(tasks.tiny, Array.from({ length: n }, (_, i) => i), mapOptions)) count++;
      if (count !== n) throw new Error(`map yielded ${count}`);
      return n / ((performance.now() - t0) / 1000);
    }
    throw new Error(`unknown workload ${workload}`);
  } finally {
    await ex.shutdown();
  }
}

async function raw(workload, url, queueName, { n = 10_000, timed } = {}) {
  const { Queue, QueueEvents } = await import('bullmq');
  const { Redis } = await import('ioredis');
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  // 10,000 jobs make ~30,000 events: past BullMQ's default stream length (10,000) QueueEvents misses some.
  const queue = new Queue(queueName, { connection, streams: { events: { maxLen: 100_000 } } });
  queue.setMaxListeners(0);
  const eventsConnection = new Redis(url, { maxRetriesPerRequest: null });
  // Read from the stream's start: at '$' (the default) the first events can be missed before the first read.
  const queueEvents = new QueueEvents(queueName, { connection: eventsConnection, lastEventId: '0' });
  await queueEvents.waitUntilReady();
  // One 'completed' listener and a map of waiters: cheaper than a listener pair per job.
  // The event may come before add() resolves: it is kept until its waiter arrives.
  const waiters = new Map();
  const early = new Map();
  queueEvents.on('completed', ({ jobId, returnvalue }) => {
    const resolve = waiters.get(jobId);
    if (resolve) {
      waiters.delete(jobId);
      resolve(returnvalue);
    } else early.set(jobId, returnvalue);
  });
  const run = async (x) => {
    const job = await queue.add('tiny', { x }, { removeOnComplete: { age: 3600, count: 10_000 } });
    if (early.has(job.id)) {
      const value = early.get(job.id);
      early.delete(job.id);
      return value;
    }
    return new Promise((resolve) => waiters.set(job.id, resolve));
  };
  try {
    await Promise.all(Array.from({ length: 50 }, (_, i) => queue.add('tiny', { x: i }).then((job) => job.waitUntilFinished(queueEvents))));
    if (workload === 'W1') {
      await timed?.start();
      const t0 = performance.now();
      await Promise.all(Array.from({ length: n }, (_, i) => run(i)));
      const rate = n / ((performance.now() - t0) / 1000);
      await timed?.stop();
      return rate;
    }
    if (workload === 'W2') {
      const times = [];
      for (let i = 0; i < 300; i++) {
        const t0 = performance.now();
        const job = await queue.add('tiny', { x: i });
        await job.waitUntilFinished(queueEvents);
        times.push(performance.now() - t0);
      }
      return median(times);
    }
    throw new Error(`unknown workload ${workload}`);
  } finally {
    await queueEvents.close();
    await queue.close();
    connection.disconnect();
    eventsConnection.disconnect();
  }
}
