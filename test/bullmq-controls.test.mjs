// BullMQ: the per-task options as BullMQ's own job options (so that a queue's dashboard
// shows them), and a task's progress as its job's. The shared behaviour of both is in
// controls-suite.mjs, which bullmq.test.mjs runs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { redisSkipReason, startRedis } from './redis-server.mjs';
import { controls } from './fixtures/control-tasks.mjs';
import { until } from './helpers.mjs';

const skipReason = redisSkipReason();
const CONTROLS = fileURLToPath(new URL('./fixtures/control-tasks.mjs', import.meta.url));
const { BullMQExecutor, runWorker } = skipReason ? {} : await import('concurrent-futures/bullmq');
const t = (title, fn) => test(`BullMQExecutor controls: ${title}`, skipReason ? { skip: skipReason } : { timeout: 60_000 }, fn);

let redis;
let queues = 0;
if (!skipReason) {
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis?.stop());
}

async function setUp(ctx) {
  const queueName = `c${process.pid}-${++queues}`;
  const worker = await runWorker({ connection: redis.url, queueName, modules: [CONTROLS], concurrency: 2 });
  const ex = new BullMQExecutor({ connection: redis.url, queueName });
  const { Queue } = await import('bullmq');
  const { Redis } = await import('ioredis');
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  const queue = new Queue(queueName, { connection });
  ctx.after(async () => {
    await ex.shutdown({ cancelFutures: true });
    await worker.close();
    await queue.close();
    connection.disconnect();
  });
  return { ex, queue };
}

t('priority, retries and backoff are the job\'s own priority, attempts and backoff', async (ctx) => {
  const { ex, queue } = await setUp(ctx);
  const f = ex.withOptions({ priority: 3, retries: { attempts: 2, backoff: 100 } }).submit(controls.nap, 300, 'done');
  await until(() => f.running(), 'the job to start');
  const job = await queue.getJob(f.jobId);
  assert.equal(job.opts.priority, 2 ** 20 - 3);
  assert.equal(job.opts.attempts, 3);
  assert.deepEqual(job.opts.backoff, { type: 'exponential', delay: 100 });
  assert.equal(await f.result(), 'done');
  const plain = ex.submit(controls.nap, 1, 'plain');
  assert.equal(await plain.result(), 'plain');
  const standard = await queue.getJob(plain.jobId);
  assert.equal(standard.opts.priority ?? 0, 0);
  assert.equal(standard.opts.attempts, 1);
});

t('a retried job shows its attempts; the last error keeps its class', async (ctx) => {
  const { ex, queue } = await setUp(ctx);
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'cf-controls-'));
  ctx.after(() => rmSync(dir, { recursive: true, force: true }));
  const f = ex.withOptions({ retries: 2 }).submit(controls.flaky, join(dir, 'a'), 2);
  assert.equal(await f.result(), 3);
  const job = await queue.getJob(f.jobId);
  assert.equal(job.attemptsMade >= 2, true, `attemptsMade ${job.attemptsMade}`);
  const g = ex.withOptions({ retries: 1 }).submit(controls.flaky, join(dir, 'b'), 9);
  const error = await g.exception();
  assert.ok(error instanceof RangeError);
  assert.equal(error.message, 'try 2 failed');
});

t('a task\'s progress is its job\'s progress', async (ctx) => {
  const { ex, queue } = await setUp(ctx);
  const seen = [];
  const f = ex.submit(controls.progressing, 3, 10);
  f.addProgressCallback((v) => seen.push(v));
  assert.equal(await f.result(), 3);
  assert.deepEqual(seen, [1, 2, 3].map((done) => ({ done, total: 3 })));
  assert.deepEqual((await queue.getJob(f.jobId)).progress, { done: 3, total: 3 });
});

t('a priority BullMQ cannot hold is refused at submit', async (ctx) => {
  const { ex } = await setUp(ctx);
  assert.throws(() => ex.withOptions({ priority: 1.5 }).submit(controls.nap, 1, 1), (e) => e instanceof RangeError && /priority must be an integer between/.test(e.message));
  assert.throws(() => ex.withOptions({ priority: 2 ** 20 }).submit(controls.nap, 1, 1), RangeError);
  assert.equal(ex.stats().queued, 0);
});
