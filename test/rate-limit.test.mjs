// rateLimit: { max, interval } — at most `max` task starts in any `interval` ms. Each task records when it
// started; the test looks at every stretch of `interval` ms between those times.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { AsyncPoolExecutor, ProcessPoolExecutor, ThreadPoolExecutor } from 'concurrent-futures';
import { rateTasks } from './fixtures/rate-tasks.mjs';
import { redisSkipReason, startRedis } from './redis-server.mjs';
import { within } from './helpers.mjs';

const RATE_TASKS = fileURLToPath(new URL('./fixtures/rate-tasks.mjs', import.meta.url));
const skipRedis = redisSkipReason();
const { BullMQExecutor, runWorker } = skipRedis ? {} : await import('concurrent-futures/bullmq');

const LIMIT = { max: 10, interval: 100 };
const startedAt = () => performance.timeOrigin + performance.now();

/** The shortest stretch that holds `count + 1` of the start times: under `interval`, some window held more than `count`. */
function tightest(starts, count) {
  const s = [...starts].sort((a, b) => a - b);
  let least = Infinity;
  for (let i = 0; i + count < s.length; i++) least = Math.min(least, s[i + count] - s[i]);
  return least;
}

// Each start counts the moment the executor calls the task (AsyncPoolExecutor) or hands it to an idle worker
// (pools, which correct it when the answer shows the task began later, unless the window has moved on by
// then). The task reads the clock a little after; on a loaded machine (load average 11 on 2 cores here) a
// thread or a child can be descheduled in between, by up to 25 ms seen here, hence the slack.
const pools = [
  { name: 'AsyncPoolExecutor', make: (options) => new AsyncPoolExecutor({ maxWorkers: 4, ...options }), slack: 25 },
  { name: 'ThreadPoolExecutor', make: (options) => new ThreadPoolExecutor({ maxWorkers: 2, ...options }), slack: 25 },
  { name: 'ProcessPoolExecutor', make: (options) => new ProcessPoolExecutor({ maxWorkers: 2, ...options }), slack: 25 },
];

for (const { name, make, slack } of pools) {
  const t = (title, fn) => test(`rateLimit, ${name}: ${title}`, { timeout: 60_000 }, async () => {
    const ex = make({ rateLimit: LIMIT });
    try {
      await fn(ex);
    } finally {
      await within(20_000, ex.shutdown({ cancelFutures: true }), 'shutdown');
    }
  });

  t('100 tasks at { max: 10, interval: 100 }: never more than 10 starts in 100 ms, about 1 s in all', async (ex) => {
    const futures = Array.from({ length: 100 }, () => ex.submit(startedAt));
    const starts = await within(20_000, Promise.all(futures.map((f) => f.result())), 'the tasks');
    const least = tightest(starts, LIMIT.max);
    assert.ok(least >= LIMIT.interval - slack, `11 starts within ${least.toFixed(2)} ms`);
    const span = Math.max(...starts) - Math.min(...starts);
    // About 1 s: each window used, none skipped (a pool's corrections err towards waiting, more so under load).
    assert.ok(span >= 9 * (LIMIT.interval - slack) && span < 2500, `100 starts over ${span.toFixed(0)} ms`);
  });

  t('map: each item is a start of its own', async (ex) => {
    const starts = [];
    for await (const at of ex.map(startedAt, Array(40).fill(0))) starts.push(at);
    assert.equal(starts.length, 40);
    const least = tightest(starts, LIMIT.max);
    assert.ok(least >= LIMIT.interval - slack, `11 starts within ${least.toFixed(2)} ms`);
  });

  test(`rateLimit, ${name}: a task cancelled while it waits for its turn takes no start; shutdown({ cancelFutures: true }) drops the rest`, { timeout: 60_000 }, async (ctx) => {
    // One worker, so that no second worker's start-up spreads the starts.
    // A window of a second, so that the test tells a start taken from a process stalled for a while.
    const ex = make({ maxWorkers: 1, rateLimit: { max: 10, interval: 1000 } });
    ctx.after(() => ex.shutdown({ cancelFutures: true }));
    // Eleven tasks, one cancelled: the other ten fit in the first window.
    const futures = Array.from({ length: 11 }, () => ex.submit(startedAt));
    assert.equal(futures[5].cancel(), true);
    const starts = await within(10_000, Promise.all(futures.filter((_, i) => i !== 5).map((f) => f.result())), 'the tasks');
    const span = Math.max(...starts) - Math.min(...starts);
    assert.ok(span < 500, `the ten starts took ${span.toFixed(1)} ms: the cancelled task took a start`);
    // Twenty more wait for later windows: a shutdown that cancels them does not wait for those windows.
    const more = Array.from({ length: 20 }, () => ex.submit(startedAt));
    const t0 = performance.now();
    await within(5000, ex.shutdown({ cancelFutures: true }), 'the shutdown');
    assert.ok(performance.now() - t0 < 500, `shutdown took ${(performance.now() - t0).toFixed(0)} ms`);
    assert.ok(more.every((f) => f.done()) && more.some((f) => f.cancelled()));
    const s = ex.stats();
    assert.equal(s.completed + s.cancelled, 31, JSON.stringify(s));
    assert.equal(s.queued, 0);
  });

  t('shutdown() waits for the tasks still waiting for their turn', async (ex) => {
    const futures = Array.from({ length: 25 }, () => ex.submit(startedAt));
    await within(10_000, ex.shutdown(), 'the shutdown');
    assert.ok(futures.every((f) => f.done() && !f.cancelled()));
    const starts = await Promise.all(futures.map((f) => f.result()));
    assert.ok(Math.max(...starts) - Math.min(...starts) >= 2 * (LIMIT.interval - slack));
  });

  test(`rateLimit, ${name}: bad values are refused at the constructor, saying what is wrong`, () => {
    const bad = [
      [5, TypeError, /rateLimit must be an object \{ max, interval \} or undefined, got number 5/],
      [null, TypeError, /rateLimit must be an object/],
      [{ interval: 100 }, TypeError, /rateLimit\.max must be a number of task starts, got undefined/],
      [{ max: 0, interval: 100 }, RangeError, /rateLimit\.max must be an integer >= 1, got number 0/],
      [{ max: 1.5, interval: 100 }, RangeError, /rateLimit\.max must be an integer >= 1, got number 1\.5/],
      [{ max: 10 }, TypeError, /rateLimit\.interval must be a number of milliseconds, got undefined/],
      [{ max: 10, interval: '100' }, TypeError, /rateLimit\.interval must be a number of milliseconds, got string "100"/],
      [{ max: 10, interval: 0 }, RangeError, /rateLimit\.interval must be a finite number of milliseconds > 0, got number 0/],
      [{ max: 10, interval: Infinity }, RangeError, /got number Infinity/],
      [{ max: 10, interval: NaN }, RangeError, /got number NaN/],
      // p-queue's names: silently ignored, they would leave a limit other than the one meant.
      [{ max: 10, interval: 100, intervalCap: 5 }, TypeError, /unknown rateLimit option 'intervalCap' \(the options are max and interval\)/],
    ];
    for (const [rateLimit, type, message] of bad) {
      assert.throws(() => make({ rateLimit }), (e) => e instanceof type && message.test(e.message) && e.message.startsWith(`new ${name}(): `), `rateLimit ${String(rateLimit)}`);
    }
  });
}

test('rateLimit on runWorker: BullMQ\'s limiter, fixed windows: 100 jobs at { max: 10, interval: 100 } take about 1 s', skipRedis ? { skip: skipRedis } : { timeout: 60_000 }, async () => {
  const { Queue } = await import('bullmq');
  const redis = await startRedis();
  const queueName = `rate${process.pid}`;
  const ex = new BullMQExecutor({ connection: redis.url, queueName });
  const queue = new Queue(queueName, { connection: { url: redis.url } });
  let worker;
  try {
    await assert.rejects(runWorker({ connection: redis.url, queueName, modules: [RATE_TASKS], rateLimit: { max: 0, interval: 100 } }), (e) => e instanceof RangeError && /^runWorker\(\): rateLimit\.max must be an integer >= 1/.test(e.message));
    await assert.rejects(runWorker({ connection: redis.url, queueName, modules: [RATE_TASKS], rateLimit: { max: 1 } }), (e) => e instanceof TypeError && /rateLimit\.interval/.test(e.message));
    worker = await runWorker({ connection: redis.url, queueName, modules: [RATE_TASKS], concurrency: 20, rateLimit: LIMIT });
    const futures = Array.from({ length: 100 }, () => ex.submit(rateTasks.startedAt));
    await within(30_000, Promise.all(futures.map((f) => f.result())), 'the jobs');
    // BullMQ's limiter counts a job when a worker takes it (the job's processedOn, whole ms); its task
    // begins once that worker's event loop gets to it, which here is shared with the executor.
    const starts = [];
    for (const f of futures) starts.push((await queue.getJob(f.jobId)).processedOn);
    const s = [...starts].sort((a, b) => a - b);
    // Each window holds at most 10: the 91st job is in the tenth, which opens 900 ms after the first or later.
    assert.ok(s[90] - s[0] >= 9 * LIMIT.interval - 2, `the 91st job started ${s[90] - s[0]} ms after the first`);
    assert.ok(s[99] - s[0] < 2500, `100 jobs over ${s[99] - s[0]} ms`);
    // A fixed window lets 10 through at its end and the next 10 at the next one's start: never more than twice that.
    const least = tightest(starts, 2 * LIMIT.max);
    assert.ok(least >= LIMIT.interval - 2, `21 starts within ${least} ms`);
  } finally {
    await ex.shutdown();
    await worker?.close();
    await queue.close();
    await redis.stop();
  }
});

test('rateLimit with tasksPerWorker: the tasks a worker awaits side by side all count, none waits for a worker of its own', { timeout: 60_000 }, async (ctx) => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 2, tasksPerWorker: 20, rateLimit: { max: 100, interval: 1000 } });
  ctx.after(() => ex.shutdown({ cancelFutures: true }));
  const nap = async () => {
    const startedAt = performance.timeOrigin + performance.now();
    await new Promise((resolve) => setTimeout(resolve, 200));
    return startedAt;
  };
  const t0 = performance.now();
  const starts = await within(20_000, Promise.all(Array.from({ length: 40 }, () => ex.submit(nap).result())), 'the tasks');
  // Two at a time, they would take 4 s.
  assert.ok(performance.now() - t0 < 2000, `40 tasks of 200 ms took ${(performance.now() - t0).toFixed(0)} ms`);
  assert.ok(tightest(starts, 100) === Infinity);
});

test('rateLimit with retries: each try is a start of its own, and a retried task leaves no room taken', { timeout: 60_000 }, async (ctx) => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 1, rateLimit: { max: 1, interval: 200 } });
  ctx.after(() => ex.shutdown({ cancelFutures: true }));
  const tries = new Int32Array(new SharedArrayBuffer(4));
  const times = new Float64Array(new SharedArrayBuffer(8 * 4));
  const failTwice = (tries, times) => {
    const n = Atomics.add(tries, 0, 1);
    times[n] = performance.timeOrigin + performance.now();
    if (n < 2) throw new Error(`try ${n + 1} failed`);
    return n + 1;
  };
  assert.equal(await within(10_000, ex.withOptions({ retries: 2 }).submit(failTwice, tries, times).result(), 'the retried task'), 3);
  assert.ok(times[1] - times[0] >= 200 - 25 && times[2] - times[1] >= 200 - 25, `tries at ${[...times.slice(0, 3)].map((t) => (t - times[0]).toFixed(0))} ms`);
  // A retried task counted twice as out would leave the one-worker pool no room: these would never start.
  const after = await within(10_000, Promise.all([ex.submit(() => 'a').result(), ex.submit(() => 'b').result()]), 'two more tasks');
  assert.deepEqual(after, ['a', 'b']);
});
