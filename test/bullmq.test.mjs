// BullMQExecutor and its workers against a real redis-server that these tests start and stop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { CancelledError, wait } from 'concurrent-futures';
import { executorSuite } from './executor-suite.mjs';
import { executorWithWorker, redisForTests, redisSkipReason, startRedis } from './redis-server.mjs';
import { within, until } from './helpers.mjs';

const skipReason = redisSkipReason();
const TASKS = fileURLToPath(new URL('./fixtures/bullmq-tasks.mjs', import.meta.url));
const MORE = fileURLToPath(new URL('./fixtures/bullmq-more-tasks.mjs', import.meta.url));
const CLASH = fileURLToPath(new URL('./fixtures/bullmq-clash.mjs', import.meta.url));
const CONTROLS = fileURLToPath(new URL('./fixtures/control-tasks.mjs', import.meta.url));

// Loaded only when redis-server is there, so that a machine without it skips rather than fails.
const bullmq = skipReason ? null : await import('concurrent-futures/bullmq');
const { BullMQExecutor, runWorker } = bullmq ?? {};
const { tasks } = await import('./fixtures/bullmq-tasks.mjs');
const { more } = await import('./fixtures/bullmq-more-tasks.mjs');

const redis = redisForTests(skipReason);
let queues = 0;
const newQueue = () => `t${process.pid}-${++queues}`;

/** An executor with an in-process worker of `concurrency` on its own queue; shutdown closes both. */
const withWorker = (concurrency = 2, workerOptions = {}, executorOptions = {}) =>
  executorWithWorker(bullmq, redis, { modules: [TASKS, CONTROLS], concurrency, workerOptions, executorOptions });

/** Runs a command to its end without blocking this process; kills it after `timeout` ms. */
function run(command, args, timeout) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.on('exit', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

const t = (title, fn, timeout = 30_000) => test(`BullMQExecutor: ${title}`, skipReason ? { skip: skipReason } : { timeout }, fn);

if (skipReason) {
  test('BullMQExecutor: the shared executor suite', { skip: skipReason }, () => {});
} else {
  executorSuite('BullMQExecutor', (n) => {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError('maxWorkers must be greater than 0');
    return withWorker(n);
  }, null, {
    fns: tasks,
    skip: {
      'maxWorkers must be a positive integer': 'BullMQExecutor has no maxWorkers: workers, and their concurrency, are started apart (runWorker)',
      'an idle executor lets the process exit; queued work keeps it alive until done':
        'its child script submits inline functions, which BullMQExecutor refuses; tested below with task-module functions',
    },
  });
}

t('inline functions are refused at submit with a TypeError that says no code travels through Redis', async () => {
  const ex = new BullMQExecutor({ connection: redis.url, queueName: newQueue() });
  try {
    assert.throws(() => ex.submit((x) => x, 1), (e) => e instanceof TypeError && /no code travels through Redis/.test(e.message) && /defineTasks/.test(e.message));
    assert.throws(() => ex.submit(Math.max, 1), TypeError);
    assert.throws(() => ex.map((x) => x, [1]), TypeError);
    assert.equal(ex.stats().queued, 0);
  } finally {
    await ex.shutdown();
  }
});

t('tasks travel by defineTasks name; a namespace keeps two modules with the same key apart', async () => {
  const queueName = newQueue();
  const worker = await runWorker({ connection: redis.url, queueName, modules: [TASKS, MORE] });
  const ex = new BullMQExecutor({ connection: redis.url, queueName });
  try {
    assert.ok(worker.tasks.includes('square') && worker.tasks.includes('more.square'));
    assert.equal(await ex.submit(tasks.square, 6).result(), 36);
    assert.equal(await ex.submit(more.square, 6).result(), 'more:36');
  } finally {
    await ex.shutdown();
    await worker.close();
  }
});

t('a name defined twice in the worker\'s modules is an error at worker start', async () => {
  await assert.rejects(
    runWorker({ connection: redis.url, queueName: newQueue(), modules: [TASKS, CLASH] }),
    (e) => /task name 'square' is defined twice/.test(e.message) && /namespace/.test(e.message),
  );
});

t('a job naming an unknown task fails at once, without retry; __proto__, constructor and toString are not tasks', async () => {
  const queueName = newQueue();
  const worker = await runWorker({ connection: redis.url, queueName, modules: [TASKS] });
  const { Queue, QueueEvents } = await import('bullmq');
  const { Redis } = await import('ioredis');
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  const queue = new Queue(queueName, { connection });
  const eventsConnection = connection.duplicate();
  const events = new QueueEvents(queueName, { connection: eventsConnection, lastEventId: '0' });
  try {
    for (const name of ['nope', '__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      const job = await queue.add(name, { a: '' }, { attempts: 3 });
      await assert.rejects(within(10_000, job.waitUntilFinished(events)), new RegExp(`unknown task '${name.replace(/_/g, '_')}'`));
      const failed = await queue.getJob(job.id);
      assert.equal(failed.attemptsMade <= 1, true, `${name} was retried (${failed.attemptsMade} attempts)`);
    }
    // Arguments are data, never code: a job whose arguments are not ours fails, nothing is evaluated.
    const bad = await queue.add('echo', { a: 'process.exit(7)' });
    await assert.rejects(within(10_000, bad.waitUntilFinished(events)), /arguments cannot be read/);
  } finally {
    await events.close();
    await queue.close();
    connection.disconnect();
    eventsConnection.disconnect();
    await worker.close();
  }
});

t('Date, BigInt, Map, Set, undefined and typed arrays round-trip exactly; what cannot travel fails clearly', async () => {
  const ex = withWorker(2);
  try {
    const value = {
      date: new Date(1234567890123), big: 2n ** 70n, map: new Map([[1, { x: [1, 2] }]]), set: new Set(['a', 3]),
      undef: undefined, bytes: new Uint8Array([1, 2, 255]), floats: new Float64Array([0.5, -0]), nested: [undefined, null, NaN],
      regexp: /ab+c/gi,
    };
    const back = await ex.submit(tasks.echo, value).result();
    assert.deepEqual(back, value);
    assert.ok('undef' in back);
    assert.equal(await ex.submit(tasks.typeOf, new Date(0)).result(), '[object Date]');
    assert.equal(await ex.submit(tasks.typeOf, 5n).result(), '[object BigInt]');
    assert.equal(await ex.submit(tasks.typeOf, undefined).result(), '[object Undefined]');
    // Arguments: at submit, naming the argument.
    assert.throws(() => ex.submit(tasks.echo, 1, () => 2), (e) => e instanceof TypeError && /argument 2 of the task cannot be sent through Redis/.test(e.message));
    assert.throws(() => ex.submit(tasks.echo, Symbol('s')), TypeError);
    // Results: at the worker, as the task's error.
    const error = await ex.submit(tasks.returnFunction).exception();
    assert.ok(error instanceof TypeError);
    assert.match(error.message, /result cannot be sent back/);
  } finally {
    await ex.shutdown();
  }
});

t('map with chunksize: an item that cannot travel throws at its own position, after the values before it', async () => {
  const ex = withWorker(2);
  try {
    for (const bad of [357, 355]) {
      const items = Array.from({ length: 400 }, (_, i) => (i === bad ? () => i : i));
      const values = [];
      const error = await within(20_000, (async () => {
        try {
          for await (const v of ex.map(tasks.square, items, { chunksize: 5 })) values.push(v);
        } catch (e) {
          return e;
        }
      })());
      assert.equal(values.length, bad, `the values before item ${bad}`);
      assert.ok(values.every((v, i) => v === i * i));
      assert.ok(error instanceof TypeError, String(error));
      assert.match(error.message, /^argument 1 of the map item cannot be sent through Redis: .*could not be cloned\. A function does not travel/);
    }
  } finally {
    await ex.shutdown();
  }
});

t('numbers, strings, booleans and null round-trip exactly, also where JSON would change them; such jobs read as JSON', async () => {
  const ex = withWorker(2);
  const { Redis } = await import('ioredis');
  const client = new Redis(redis.url);
  try {
    const values = [
      0, -0, 1.5, -7, 2 ** 53 + 2, 5e-324, Number.MAX_VALUE, NaN, Infinity, -Infinity,
      '', 'a"b\\c\n', 'é😀', '\ud800 lone', true, false, null, undefined,
    ];
    const back = await Promise.all(values.map((v) => ex.submit(tasks.echo, v).result()));
    values.forEach((v, i) => assert.ok(Object.is(back[i], v), `${String(v)} came back as ${String(back[i])}`));
    assert.deepEqual(await ex.submit(tasks.pair, 'x', -0).result(), ['x', -0]);
    assert.deepEqual(await ex.submit(tasks.pair, 1, undefined).result(), [1, undefined]);
    // What a queue UI shows for such a job: its arguments and its result as they are.
    const job = await ex.submit(tasks.pair, 'x', 2);
    await job.result();
    const [data, returnvalue] = await client.hmget(`bull:${ex.queueName}:${ex.id}-${values.length + 3}`, 'data', 'returnvalue');
    assert.deepEqual(JSON.parse(data), { a: ['x', 2] });
    assert.equal(typeof JSON.parse(returnvalue), 'string', 'an array result travels encoded');
    assert.equal(await ex.submit(tasks.square, 12).result(), 144);
    const [squared] = await client.hmget(`bull:${ex.queueName}:${ex.id}-${values.length + 4}`, 'returnvalue');
    assert.deepEqual(JSON.parse(squared), [0, 144]);
  } finally {
    client.disconnect();
    await ex.shutdown();
  }
});

t('errors keep their class, message, own properties, cause and the worker\'s stack', async () => {
  const ex = withWorker(1);
  try {
    const range = await ex.submit(tasks.fail, 'range').exception();
    assert.ok(range instanceof RangeError);
    assert.equal(range.message, 'out of range');
    assert.ok(range.cause instanceof TypeError);
    assert.equal(range.cause.message, 'the cause');
    const custom = await ex.submit(tasks.fail, 'custom').exception();
    assert.equal(custom.name, 'CustomError');
    assert.equal(custom.code, 'E_CUSTOM');
    assert.deepEqual(custom.details, { when: new Date(0), n: 10n });
    assert.match(custom.stack, /bullmq-tasks\.mjs/);
  } finally {
    await ex.shutdown();
  }
});

t('cancel() never turns a completed future into a cancelled one', async () => {
  const ex = withWorker(1);
  try {
    const f = ex.submit(tasks.square, 9);
    assert.equal(await f.result(), 81);
    assert.equal(f.cancel(), false);
    assert.equal(f.cancelled(), false);
    assert.equal(await f.result(), 81);
    // A running one is not cancelled either (without interrupt).
    const slow = ex.submit(tasks.napThen, 400, 'slow');
    await until(() => slow.running(), 'the slow task to start');
    assert.equal(slow.cancel(), false);
    assert.equal(await slow.result(), 'slow');
    assert.equal(ex.stats().cancelled, 0);
  } finally {
    await ex.shutdown();
  }
});

t('cancel() removes a job that has not started from Redis', async () => {
  const ex = withWorker(1);
  const { Queue } = await import('bullmq');
  try {
    const blocker = ex.submit(tasks.napThen, 300, 'b');
    const queued = ex.submit(tasks.square, 4);
    await until(() => blocker.running(), 'the blocker to start');
    assert.equal(queued.cancel(), true);
    const queue = new Queue(ex.queueName, { connection: { host: '127.0.0.1', port: redis.port } });
    try {
      const jobId = `${ex.id}-2`;
      await within(5000, (async () => { while (await queue.getJob(jobId)) await new Promise((r) => setTimeout(r, 10)); })(), 'the job to be removed');
    } finally {
      await queue.close();
    }
    assert.equal(await blocker.result(), 'b');
  } finally {
    await ex.shutdown();
  }
});

for (const threads of [undefined, 0]) {
  t(`cancel({ interrupt: true }) reaches the worker and aborts the task's taskSignal() (threads: ${threads ?? 'default'})`, async () => {
    const ex = withWorker(1, { threads });
    const { Redis } = await import('ioredis');
    const client = new Redis(redis.url);
    try {
      const key = `aborted-${ex.id}`;
      const f = ex.submit(tasks.waitForAbort, key, redis.port);
      await within(10_000, (async () => { while ((await client.get(key)) !== 'started') await new Promise((r) => setTimeout(r, 10)); })(), 'the task to start');
      assert.equal(f.running(), true);
      assert.equal(f.cancel({ interrupt: true }), true);
      assert.equal(f.cancelled(), true);
      await assert.rejects(f.result(), CancelledError);
      await within(10_000, (async () => { while ((await client.get(key)) === 'started') await new Promise((r) => setTimeout(r, 20)); })(), 'the task to see its signal abort');
      assert.equal(await client.get(key), 'aborted: CancelledError');
      // The worker carries on.
      assert.equal(await ex.submit(tasks.square, 3).result(), 9);
    } finally {
      client.disconnect();
      await ex.shutdown();
    }
  });
}

t('a task whose calls prove quick runs on the worker\'s event loop; one slow call sends it back to threads', async () => {
  const ex = withWorker(1);
  try {
    const quick = () => ex.submit(tasks.placed, 0).result();
    assert.equal(await quick(), 'thread', 'a task starts on threads');
    let sentBack = false;
    // On a loaded machine a quick call may be slowed and sent back by chance: a few rounds.
    for (let calls = 0; calls < 400 && !sentBack; calls++) {
      if ((await quick()) !== 'main') continue;
      // Quick so far: a slow call is not foreseen and runs where its task runs now, but it is the last there.
      if ((await ex.submit(tasks.placed, 30).result()) !== 'main') continue;
      assert.equal(await quick(), 'thread', 'the call after a slow one runs on threads');
      sentBack = true;
    }
    assert.ok(sentBack, 'the quick task never ran on the event loop');
  } finally {
    await ex.shutdown();
  }
});

t('the worker accounts for each job wherever it runs (event loop, thread, awaiting there): stats(), one tracing context per job or map item', async () => {
  const { tracingChannel } = await import('node:diagnostics_channel');
  const ex = withWorker(4);
  const jobs = (await ex.worker)._jobs;
  const seen = [];
  const onEnd = (context) => {
    if (context.executor === jobs) seen.push(context);
  };
  const channel = tracingChannel('concurrent-futures:task');
  channel.asyncEnd.subscribe(onEnd);
  try {
    // Tasks that await on a thread: running until they end, not done when they first await.
    const naps = Array.from({ length: 4 }, (_, i) => ex.submit(tasks.napThen, 300, i));
    const deadline = Date.now() + 5000;
    while (jobs.stats().running < 4 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const mid = jobs.stats();
    assert.equal(mid.running, 4, JSON.stringify(mid));
    assert.equal(mid.completed, 0, JSON.stringify(mid));
    assert.equal(mid.idleWorkers, 0);
    assert.deepEqual(await Promise.all(naps.map((f) => f.result())), [0, 1, 2, 3]);
    assert.ok(jobs.stats().runTime.p50 >= 250, JSON.stringify(jobs.stats().runTime));
    // A task that proves quick moves to the event loop: still counted, each job once.
    let calls = 0;
    let onMain = 0;
    for (; calls < 400 && onMain < 20; calls++) if ((await ex.submit(tasks.placed, 0).result()) === 'main') onMain++;
    assert.equal(onMain, 20, 'the quick task never settled on the event loop');
    const failed = await ex.submit(tasks.failIf, 7, 7).exception();
    assert.equal(failed?.message, 'bad item 7');
    // map's chunks count item by item, on threads and on the event loop alike.
    for (let i = 0; i < 30; i++) {
      const values = [];
      for await (const value of ex.map(tasks.square, [1, 2, 3, 4], { chunksize: 2 })) values.push(value);
      assert.deepEqual(values, [1, 4, 9, 16]);
    }
    const total = 4 + calls + 1 + 30 * 4;
    const stats = jobs.stats();
    assert.equal(stats.completed, total, JSON.stringify(stats));
    assert.equal(stats.failed, 1);
    assert.equal(stats.running, 0);
    assert.equal(stats.queued, 0);
    assert.equal(stats.workers, 4, 'a slot per job the worker runs at once');
    assert.equal(seen.length, total, 'one context per job, one per map item');
    assert.ok(seen.every((c) => c.kind === 'bullmq' && typeof c.worker === 'number' && c.worker >= 0 && c.worker < 4), 'the worker of a context is its job\'s slot');
    assert.deepEqual([...new Set(seen.map((c) => c.name))].sort(), ['failIf', 'napThen', 'placed', 'square']);
    assert.deepEqual(seen.filter((c) => c.error !== undefined).map((c) => c.name), ['failIf']);
    assert.ok(seen.filter((c) => c.name === 'napThen').every((c) => c.endedAt - c.startedAt >= 250), 'an awaiting task ends when it ends');
    assert.ok(seen.every((c) => c.queuedAt <= c.startedAt && c.startedAt <= c.endedAt));
    assert.equal(jobs._workerView().length, 4);
    assert.throws(() => jobs.submit(tasks.square, 1), { name: 'TypeError', message: /submit them with a BullMQExecutor/ });
  } finally {
    channel.asyncEnd.unsubscribe(onEnd);
    await ex.shutdown();
  }
});

t('the worker\'s account agrees with the submitter\'s: a result that cannot travel, a timeout, a job it refuses, a retried try, a backlog', async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { Queue } = await import('bullmq');
  const { controls } = await import('./fixtures/control-tasks.mjs');
  const queueName = newQueue();
  const ex = new BullMQExecutor({ connection: redis.url, queueName });
  const dir = mkdtempSync(join(tmpdir(), 'cf-account-'));
  const queue = new Queue(queueName, { connection: { url: redis.url } });
  let worker;
  const { tracingChannel } = await import('node:diagnostics_channel');
  const channel = tracingChannel('concurrent-futures:task');
  const tries = [];
  const onEnd = (context) => {
    if (worker !== undefined && context.executor === worker._jobs && context.name === 'tally') tries.push(context);
  };
  channel.asyncEnd.subscribe(onEnd);
  try {
    // Queued 600 ms before the worker starts: its utilization counts from its first job, not from their submit.
    const backlog = Array.from({ length: 2 }, (_, i) => ex.submit(tasks.napThen, 800, i));
    await new Promise((resolve) => setTimeout(resolve, 600));
    worker = await runWorker({ connection: redis.url, queueName, modules: [TASKS, CONTROLS], concurrency: 2, threads: 0 });
    const jobs = worker._jobs;
    await until(() => jobs.stats().running === 2, 'both queued jobs running', 5000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const busy = jobs.stats();
    assert.ok(busy.utilization > 0.8, `both slots busy since the first job: ${JSON.stringify(busy)}`);
    assert.deepEqual(await Promise.all(backlog.map((f) => f.result())), [0, 1]);
    assert.ok(jobs.stats().waitTime.p50 >= 500, `their wait is from their submit: ${JSON.stringify(jobs.stats().waitTime)}`);
    // A value that cannot be sent back fails on both sides.
    const unsendable = await ex.submit(tasks.returnFunction).exception();
    assert.match(unsendable?.message, /cannot be sent back through Redis/);
    // A timeout fails on both sides, with TimeoutError, not as a cancel.
    const timedOut = await ex.withOptions({ timeout: 150 }).submit(tasks.napThen, 1000, 'late').exception();
    assert.equal(timedOut?.name, 'TimeoutError');
    // A retried try's wait is not the tries before it: the second try here starts at once after the first's 500 ms.
    const retried = await ex.withOptions({ retries: 1 }).submit(controls.tally, join(dir, 'tally'), 500).exception();
    assert.equal(retried?.message, 'tally failed');
    // Jobs it refuses before their task starts (another client's junk) count as failed jobs.
    await queue.add('nope', { a: [] });
    await queue.add('square', { a: 'not base64 of anything' });
    await until(() => jobs.stats().completed === 8, 'the refused jobs counted', 5000);
    const stats = jobs.stats();
    const mine = ex.stats();
    assert.equal(mine.completed, 5, JSON.stringify(mine));
    assert.equal(mine.failed, 3);
    assert.equal(stats.completed, 8, JSON.stringify(stats));
    assert.equal(stats.failed, 6, 'its 3 failures, the retried try and the 2 refused jobs');
    assert.equal(stats.cancelled, 0, 'the timeout is a failure');
    assert.equal(stats.running, 0);
    assert.equal(stats.idleWorkers, 2);
    assert.equal(tries.length, 2);
    assert.ok(tries[1].startedAt - tries[1].queuedAt < 250, `the second try waited ${tries[1].startedAt - tries[1].queuedAt} ms`);
  } finally {
    channel.asyncEnd.unsubscribe(onEnd);
    await ex.shutdown();
    await worker?.close();
    await queue.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

t('the queue\'s event stream keeps 100,000 events unless the options say otherwise (10,000 jobs at once outran 10,000)', async () => {
  const { Redis } = await import('ioredis');
  const admin = new Redis(redis.url);
  try {
    for (const [streams, kept] of [[undefined, '100000'], [{ events: { maxLen: 2000 } }, '2000']]) {
      const ex = withWorker(1, {}, streams ? { streams } : {});
      try {
        assert.equal(await ex.submit(tasks.square, 2).result(), 4);
        assert.equal(await admin.hget(`bull:${ex.queueName}:meta`, 'opts.maxLenEvents'), kept);
      } finally {
        await ex.shutdown();
      }
    }
  } finally {
    admin.disconnect();
  }
});

t('quickTasksInline: false keeps every call on threads', async () => {
  const ex = withWorker(1, { quickTasksInline: false });
  try {
    for (let i = 0; i < 40; i++) assert.equal(await ex.submit(tasks.placed, 0).result(), 'thread', `call ${i}`);
    await assert.rejects(runWorker({ connection: redis.url, queueName: newQueue(), modules: [TASKS], quickTasksInline: 'no' }), /quickTasksInline must be a boolean/);
  } finally {
    await ex.shutdown();
  }
});

t('cancel({ interrupt: true }) of a task that ignores its signal stops its thread after interruptGrace; the worker carries on', async () => {
  const ex = withWorker(1, { interruptGrace: 200 });
  try {
    const f = ex.submit(tasks.spin, 8000);
    await within(10_000, (async () => { while (!f.running()) await new Promise((r) => setTimeout(r, 5)); })(), 'the task to start');
    assert.equal(f.cancel({ interrupt: true }), true);
    await assert.rejects(f.result(), CancelledError);
    // One thread (concurrency 1): the next task runs only once the spinning one's thread was stopped and replaced.
    const started = Date.now();
    assert.equal(await within(10_000, ex.submit(tasks.square, 3).result()), 9);
    assert.ok(Date.now() - started < 6000, `the next task waited ${Date.now() - started} ms: the spinning thread was not stopped`);
  } finally {
    await ex.shutdown();
  }
});

t('two executors on one queue never see each other\'s results; shutdown touches only its own jobs', async () => {
  const queueName = newQueue();
  const worker = await runWorker({ connection: redis.url, queueName, modules: [TASKS], concurrency: 4 });
  const a = new BullMQExecutor({ connection: redis.url, queueName });
  const b = new BullMQExecutor({ connection: redis.url, queueName });
  try {
    const fa = Array.from({ length: 100 }, (_, i) => a.submit(tasks.pair, 'a', i));
    const fb = Array.from({ length: 100 }, (_, i) => b.submit(tasks.pair, 'b', i));
    // a shuts down with cancelFutures: b's jobs must all still run, and none of a's cancelled jobs is left waiting.
    await a.shutdown({ cancelFutures: true });
    const { Queue } = await import('bullmq');
    const queue = new Queue(queueName, { connection: { host: '127.0.0.1', port: redis.port } });
    try {
      const waiting = (await queue.getJobs(['waiting', 'prioritized', 'delayed'])).filter((job) => job.id.startsWith(`${a.id}-`));
      assert.deepEqual(waiting.map((job) => job.id), []);
    } finally {
      await queue.close();
    }
    const results = await Promise.all(fb.map((f) => f.result()));
    assert.deepEqual(results, fb.map((_, i) => ['b', i]));
    for (const [i, f] of fa.entries()) if (!f.cancelled()) assert.deepEqual(await f.result(), ['a', i]);
    assert.equal(a.stats().completed + a.stats().cancelled, 100);
    assert.equal(b.stats().completed, 100);
  } finally {
    await a.shutdown();
    await b.shutdown();
    await worker.close();
  }
});

/** Jobs 1..count of `ex` each started once and never stalled: none lost its lock. */
async function assertRanOnce(queueName, ex, count) {
  const { Queue } = await import('bullmq');
  const queue = new Queue(queueName, { connection: { host: '127.0.0.1', port: redis.port } });
  try {
    for (let n = 1; n <= count; n++) {
      const job = await queue.getJob(`${ex.id}-${n}`);
      assert.equal(job.attemptsStarted, 1, `job ${n} ran more than once`);
      assert.equal(job.stalledCounter ?? 0, 0, `job ${n} stalled`);
    }
  } finally {
    await queue.close();
  }
}

t('a CPU-bound task longer than the lock duration does not lose its lock (it runs once)', async () => {
  const queueName = newQueue();
  const worker = await runWorker({ connection: redis.url, queueName, modules: [TASKS], lockDuration: 1000, stalledInterval: 500 });
  const ex = new BullMQExecutor({ connection: redis.url, queueName });
  try {
    // 3 s of computing against a 1 s lock: on the worker's own event loop the lock would lapse and the job stall.
    const f = ex.submit(tasks.spin, 3000);
    assert.equal(await within(20_000, f.result()), 3000);
    await assertRanOnce(queueName, ex, 1);
  } finally {
    await ex.shutdown();
    await worker.close();
  }
});

t('a worker runs as many jobs at once as its concurrency: 40 waits of 200 ms at concurrency 20 take two rounds, not twenty', async () => {
  // On a thread per core, each wait once held its thread: on 2 cores that was 20 rounds, 4 s.
  const ex = withWorker(20);
  try {
    const started = performance.now();
    const values = await within(20_000, Promise.all(Array.from({ length: 40 }, (_, i) => ex.submit(tasks.napThen, 200, i).result())));
    const ms = performance.now() - started;
    assert.deepEqual(values, Array.from({ length: 40 }, (_, i) => i));
    assert.ok(ms < 2000, `40 waits of 200 ms at concurrency 20 took ${Math.round(ms)} ms`);
  } finally {
    await ex.shutdown();
  }
});

t('jobs of 1,200, 100 and 600 ms at concurrency 3 end in the order of their lengths, on any number of threads', async () => {
  for (const threads of [undefined, 1]) {
    const ex = withWorker(3, threads === undefined ? {} : { threads });
    try {
      const order = [];
      await within(20_000, Promise.all([1200, 100, 600].map((ms) => ex.submit(tasks.napThen, ms, ms).result().then((v) => order.push(v)))));
      assert.deepEqual(order, [100, 600, 1200], `threads: ${threads ?? 'default'}`);
    } finally {
      await ex.shutdown();
    }
  }
});

t('a CPU-bound job among 30 waiting ones at concurrency 20 keeps its lock: every job runs once, none stalls', async () => {
  const queueName = newQueue();
  const worker = await runWorker({ connection: redis.url, queueName, modules: [TASKS], concurrency: 20, lockDuration: 1000, stalledInterval: 500 });
  const ex = new BullMQExecutor({ connection: redis.url, queueName });
  try {
    const naps = Array.from({ length: 30 }, (_, i) => ex.submit(tasks.napThen, 300, i));
    // 3 s of computing against a 1 s lock: on the worker's event loop every lock there would lapse.
    const spin = ex.submit(tasks.spin, 3000);
    assert.equal(await within(30_000, spin.result()), 3000);
    assert.deepEqual(await within(30_000, Promise.all(naps.map((f) => f.result()))), naps.map((_, i) => i));
    await assertRanOnce(queueName, ex, 31);
  } finally {
    await ex.shutdown();
    await worker.close();
  }
});

t('a callback that throws while its task waits on a thread fails that job alone; the tasks waiting beside it go on', async () => {
  const ex = withWorker(4, { threads: 1 });
  try {
    const naps = [ex.submit(tasks.napThen, 500, 'a'), ex.submit(tasks.napThen, 500, 'b')];
    const thrower = ex.submit(tasks.throwLater, 300);
    const error = await within(10_000, thrower.exception());
    assert.ok(error instanceof RangeError, String(error));
    assert.equal(error.message, 'thrown by a callback of the task');
    assert.deepEqual(await within(10_000, Promise.all(naps.map((f) => f.result()))), ['a', 'b']);
  } finally {
    await ex.shutdown();
  }
});

t('a thread that ends while tasks wait on it fails them with BrokenThreadPoolError, none is left hanging; the worker goes on', async () => {
  const ex = withWorker(3, { threads: 1 });
  try {
    const waiting = ex.submit(tasks.napThen, 1500, 'w');
    const exits = ex.submit(tasks.exitAfter, 300);
    for (const [f, message] of [[exits, /This task ended its worker thread \(process\.exit\(3\)\)/], [waiting, /exited with code 3 while this task was waiting on it/]]) {
      const error = await within(10_000, f.exception());
      assert.equal(error?.name, 'BrokenThreadPoolError', String(error));
      assert.match(error.message, message);
    }
    assert.equal(await within(10_000, ex.submit(tasks.square, 5).result()), 25);
  } finally {
    await ex.shutdown();
  }
});

t('a thread ended from outside (not by process.exit) fails the tasks waiting on it with BrokenThreadPoolError; the worker goes on', async () => {
  const ex = withWorker(3, { threads: 1, quickTasksInline: false });
  try {
    const waiting = [ex.submit(tasks.napThen, 3000, 'a'), ex.submit(tasks.napThen, 3000, 'b')];
    await until(() => waiting.every((f) => f.running()), 'the waiting tasks to start');
    await new Promise((resolve) => setTimeout(resolve, 200));
    // As an out-of-memory end would: nothing runs in the thread to tell the tasks.
    const pool = (await ex.worker)._pool;
    pool.workers[0].transport.terminate();
    for (const f of waiting) {
      const error = await within(2_000, f.exception());
      assert.equal(error?.name, 'BrokenThreadPoolError', String(error));
      assert.match(error.message, /A worker thread ended while this task was waiting on it; the pool replaced it/);
    }
    assert.equal(await within(10_000, ex.submit(tasks.napThen, 10, 'c').result()), 'c');
  } finally {
    await ex.shutdown();
  }
});

t('cancel({ interrupt: true }) of a computing task leaves its thread running while other tasks wait on the threads', async () => {
  const ex = withWorker(2, { threads: 1, interruptGrace: 200 });
  try {
    const waiting = ex.submit(tasks.napThen, 1500, 'w');
    await until(() => waiting.running(), 'the waiting task to start');
    const spin = ex.submit(tasks.spin, 2500);
    await until(() => spin.running(), 'the computing task to start');
    assert.equal(spin.cancel({ interrupt: true }), true);
    await assert.rejects(spin.result(), CancelledError);
    // Stopping the one thread would have failed the task that waits there.
    assert.equal(await within(10_000, waiting.result()), 'w');
  } finally {
    await ex.shutdown();
  }
});

t('an idle executor lets the process exit; pending work keeps it alive until done', async () => {
  const queueName = newQueue();
  const worker = await runWorker({ connection: redis.url, queueName, modules: [TASKS] });
  try {
    const script = `
      import { BullMQExecutor } from 'concurrent-futures/bullmq';
      import { tasks } from ${JSON.stringify(new URL('./fixtures/bullmq-tasks.mjs', import.meta.url).href)};
      const ex = new BullMQExecutor({ connection: ${JSON.stringify(redis.url)}, queueName: ${JSON.stringify(queueName)} });
      const f = ex.submit(tasks.napThen, 300, 'done');
      f.addDoneCallback((fut) => fut.result().then((v) => console.log(v)));
    `;
    // Not spawnSync: the worker runs in this process.
    const out = await run(process.execPath, ['--input-type=module', '-e', script], 20_000);
    assert.equal(out.status, 0, out.stderr);
    assert.equal(out.stdout.trim(), 'done');
  } finally {
    await worker.close();
  }
});

t('the event stream position is pinned before the first add: a task submitted at construction is never missed', async () => {
  const queueName = newQueue();
  const worker = await runWorker({ connection: redis.url, queueName, modules: [TASKS], concurrency: 4, threads: 0 });
  try {
    // An executor that started reading at '$' when its first blocking read began would miss some of these.
    for (let i = 0; i < 15; i++) {
      const ex = new BullMQExecutor({ connection: redis.url, queueName, reconcileInterval: 60_000 });
      try {
        assert.equal(await within(5000, ex.submit(tasks.square, i).result(), `task ${i}`), i * i);
      } finally {
        await ex.shutdown();
      }
    }
  } finally {
    await worker.close();
  }
});

t('the executor\'s connections killed mid-run: it reconnects, reconciles, and every future settles', async () => {
  const queueName = newQueue();
  const worker = await runWorker({ connection: redis.url, queueName, modules: [TASKS], concurrency: 4 });
  const ex = new BullMQExecutor({ connection: redis.url, queueName, reconcileInterval: 60_000 });
  const { Redis } = await import('ioredis');
  const admin = new Redis(redis.url);
  try {
    const futures = Array.from({ length: 30 }, (_, i) => ex.submit(tasks.napThen, 100, i));
    await until(() => ex.stats().running > 0, 'a job to start');
    // Every client but this one, the worker's included; ioredis reconnects them.
    await admin.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    const values = await within(30_000, Promise.all(futures.map((f) => f.result())), 'every future to settle');
    assert.deepEqual(values, futures.map((_, i) => i));
  } finally {
    admin.disconnect();
    await ex.shutdown();
    await worker.close();
  }
});

test('defineTasks: a namespace prefixes the queue name; a bad namespace is a TypeError', async () => {
  const { defineTasks, taskRef } = await import('concurrent-futures');
  const named = defineTasks(import.meta.url, { f: () => 1 }, { namespace: 'a.b' });
  assert.deepEqual({ ...taskRef(named.f) }, { module: import.meta.url, name: 'f', namespace: 'a.b' });
  for (const namespace of ['', 'a b', 'a:b', 5, '.a']) {
    assert.throws(() => defineTasks(import.meta.url, { g: () => 1 }, { namespace }), TypeError);
  }
});
