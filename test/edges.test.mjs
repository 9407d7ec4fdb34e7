// Values at the edges: timeouts past Node's timer limit, many timed-out waits on one future, and
// the messages that timeouts and bad values get. (Concurrent next() calls of asCompleted are in
// waiting.test.mjs; a huge AsyncPoolExecutor and shutdown from inside a task in async-pool.test.mjs.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AsyncPoolExecutor, ThreadPoolExecutor, ProcessPoolExecutor, Future, TimeoutError, asCompleted, wait,
} from 'concurrent-futures';
import { sleep, within, until } from './helpers.mjs';

const LONG = 2 ** 31 + 1000; // past Node's timer limit, which would fire after 1 ms

test('timeouts past 2^31-1 ms wait as long as asked: result, exception, wait, asCompleted, map', { timeout: 10_000 }, async (t) => {
  const f = new Future();
  let settled = false;
  const r = f.result(LONG).then(() => (settled = true), () => (settled = true));
  const e = f.exception(LONG).then(() => (settled = true), () => (settled = true));
  const w = wait([f], { timeout: LONG }).then(() => (settled = true));
  const it = asCompleted([f], { timeout: LONG });
  const n = it.next().then(() => (settled = true), () => (settled = true));
  const io = new AsyncPoolExecutor(1);
  t.after(() => io.shutdown());
  const m = io.map(() => sleep(400).then(() => 'mapped'), [1], { timeout: LONG });
  const mn = m.next().then((r) => ((settled = true), r));
  await sleep(200);
  assert.equal(settled, false, 'nothing timed out early');
  f.setResult('late');
  await Promise.all([r, e, w, n]);
  assert.deepEqual(await mn, { value: 'mapped', done: false });
  await io.shutdown();
});

test('an idleTimeout past 2^31-1 ms keeps the idle worker', { timeout: 20_000 }, async () => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 1, idleTimeout: LONG });
  const control = new ThreadPoolExecutor({ maxWorkers: 1, idleTimeout: 1 });
  try {
    await ex.submit((x) => x, 1).result();
    // A timer past the limit would fire after 1 ms: by the time a worker that went idle later
    // with a real 1 ms timeout has ended, the long one would have ended first.
    await control.submit((x) => x, 1).result();
    await until(() => control.stats().workers === 0, 'the control pool\'s idle worker to end');
    assert.equal(ex.stats().workers, 1);
  } finally {
    await Promise.all([ex.shutdown(), control.shutdown()]);
  }
});

test('200,000 timed-out result() calls on one future settle without blocking the event loop for long', { timeout: 30_000 }, async () => {
  const f = new Future();
  const calls = Array.from({ length: 200_000 }, () => f.result(20).catch((e) => e));
  const errors = await within(20_000, Promise.all(calls), 'the timeouts');
  assert.ok(errors.every((e) => e instanceof TimeoutError));
  f.setResult(1);
  assert.equal(await f.result(), 1);
});

test('TimeoutError says what timed out after how long; without a wait, with the caller in its stack', { timeout: 10_000 }, async () => {
  const error = await new Future().result(30).catch((e) => e);
  assert.ok(error instanceof TimeoutError);
  assert.equal(error.message, 'result() timed out after 30 ms');
  assert.match((await new Future().result(0).catch((e) => e)).stack, /edges\.test\.mjs/);
  assert.equal((await new Future().exception(0).catch((e) => e)).message, 'exception() timed out after 0 ms');
  const io = new AsyncPoolExecutor(1);
  try {
    const mapped = io.map(() => sleep(200), [1], { timeout: 20 });
    assert.match((await mapped.next().catch((e) => e)).message, /map\(\) timed out.*within 20 ms/);
  } finally {
    await io.shutdown();
  }
});

test('bad values get messages that name them', { timeout: 10_000 }, async () => {
  await assert.rejects(new Future().result(NaN), { name: 'TypeError', message: 'timeout must be a number of milliseconds or undefined, got number NaN' });
  assert.throws(() => new AsyncPoolExecutor(Infinity), { name: 'RangeError', message: 'maxWorkers must be greater than 0 and a whole number, got number Infinity' });
  assert.throws(() => new ThreadPoolExecutor(1.5), { name: 'RangeError', message: 'maxWorkers must be greater than 0 and a whole number, got number 1.5' });
  assert.throws(() => new ProcessPoolExecutor(0), { name: 'RangeError', message: 'maxWorkers must be greater than 0' });
  const ex = new AsyncPoolExecutor(1);
  try {
    await assert.rejects(ex.shutdown(null), { name: 'TypeError', message: 'shutdown(): options must be an object or undefined, got null' });
  } finally {
    await ex.shutdown();
  }
});

test('a misspelt option is refused naming it and the real ones, not ignored for a default', { timeout: 10_000 }, async () => {
  assert.throws(() => new ThreadPoolExecutor({ maxworkers: 2 }), {
    name: 'TypeError',
    message: /^new ThreadPoolExecutor\(\): unknown option 'maxworkers' \(the options are maxWorkers, .*resourceLimits\)$/,
  });
  assert.throws(() => new ProcessPoolExecutor({ maxTasksPerWorker: 5 }), { name: 'TypeError', message: /unknown option 'maxTasksPerWorker' .*maxTasksPerChild/ });
  assert.throws(() => new AsyncPoolExecutor({ concurrency: 5 }), { name: 'TypeError', message: "new AsyncPoolExecutor(): unknown option 'concurrency' (the options are maxWorkers, rateLimit)" });
  assert.throws(() => new ThreadPoolExecutor([2]), { name: 'TypeError', message: /^new ThreadPoolExecutor\(\): options must be an object/ });
  const ex = new AsyncPoolExecutor(1);
  try {
    assert.throws(() => ex.withOptions([]), { name: 'TypeError', message: /^withOptions\(\) expects an options object/ });
    await assert.rejects(ex.shutdown({ cancel_futures: true }), { name: 'TypeError', message: "shutdown(): unknown option 'cancel_futures' (the options are wait, cancelFutures)" });
    // Every documented option is still taken, and the executor still works after the refusals.
    assert.equal(await ex.submit(() => 7).result(), 7);
  } finally {
    await ex.shutdown();
  }
  const full = new ThreadPoolExecutor({
    maxWorkers: 1, threadNamePrefix: 'edge', initializer: () => {}, initargs: [], maxTasksPerWorker: 10,
    tasksPerWorker: 1, idleTimeout: 1000, rateLimit: { max: 100, interval: 100 }, resourceLimits: {},
  });
  const child = new ProcessPoolExecutor({
    maxWorkers: 1, initializer: () => {}, initargs: [], maxTasksPerChild: 10, tasksPerWorker: 1,
    idleTimeout: 1000, rateLimit: { max: 100, interval: 100 }, env: process.env, execArgv: [],
  });
  try {
    assert.equal(await full.submit((x) => x + 1, 1).result(), 2);
    assert.equal(await child.submit((x) => x + 1, 2).result(), 3);
  } finally {
    await Promise.all([full.shutdown(), child.shutdown()]);
  }
});

test('the closure hint appears once, in the message and in the stack', { timeout: 20_000 }, async () => {
  const ex = new ThreadPoolExecutor(1);
  try {
    const factor = 3;
    const error = await ex.submit((n) => n * factor, 2).exception();
    assert.equal(error.message.split('Pass the value as an argument').length, 2);
    assert.equal(error.stack.split('Pass the value as an argument').length, 2);
  } finally {
    await ex.shutdown();
  }
});

for (const [name, make] of [['ThreadPoolExecutor', (n) => new ThreadPoolExecutor(n)], ['ProcessPoolExecutor', (n) => new ProcessPoolExecutor(n)]]) {
  test(`${name}: stats() of a chunked map counts items`, { timeout: 30_000 }, async () => {
    const ex = make(1);
    try {
      const results = [];
      for await (const r of ex.map((x) => x * 2, Array.from({ length: 10 }, (_, i) => i), { chunksize: 5 })) results.push(r);
      assert.equal(results.length, 10);
      let s = ex.stats();
      assert.deepEqual({ completed: s.completed, failed: s.failed, cancelled: s.cancelled }, { completed: 10, failed: 0, cancelled: 0 });
      const it = ex.map((x) => { if (x === 7) throw new Error('seven'); return x; }, Array.from({ length: 10 }, (_, i) => i), { chunksize: 5 });
      await assert.rejects(async () => { for await (const _ of it); }, /seven/);
      s = ex.stats();
      // Items 0-6 ran, 7 failed, 8 and 9 never ran.
      assert.deepEqual({ completed: s.completed, failed: s.failed, cancelled: s.cancelled }, { completed: 18, failed: 1, cancelled: 2 });
    } finally {
      await ex.shutdown();
    }
  });
}

test('a task that returns what cannot be asked whether it is a promise (a revoked proxy) ends; the pool and its other tasks go on', { timeout: 10_000 }, async () => {
  const ex = new AsyncPoolExecutor(4);
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  const throwingThen = { get then() { throw new Error('then cannot be read'); } };
  const uncaught = [];
  const onUncaught = (e) => uncaught.push(e);
  process.on('uncaughtException', onUncaught);
  try {
    // Among a thousand queued tasks, and inside a map.
    const before = Array.from({ length: 500 }, (_, i) => ex.submit((x) => x * 2, i));
    const odd = [ex.submit(() => proxy), ex.submit(() => throwingThen), ex.submit(async () => proxy)];
    const after = Array.from({ length: 500 }, (_, i) => ex.submit(async (x) => x + 1, i));
    const mapped = [];
    for await (const v of ex.map((i) => (i === 3 ? proxy : i), [0, 1, 2, 3, 4, 5])) mapped.push(v);
    assert.deepEqual(mapped, [0, 1, 2, proxy, 4, 5]);
    await wait([...before, ...odd, ...after]);
    assert.deepEqual(await Promise.all(before.map((f) => f.result())), before.map((_, i) => i * 2));
    assert.deepEqual(await Promise.all(after.map((f) => f.result())), after.map((_, i) => i + 1));
    // A plain function's value is the value, as Python's would be; a promise of it cannot be made, and says why.
    assert.equal(await odd[0].exception(), undefined);
    await assert.rejects(odd[0].result(), /proxy that has been revoked/);
    assert.equal(await odd[1].exception(), undefined);
    await assert.rejects(odd[1].result(), /then cannot be read/);
    // An async function's: its own promise rejects, so the task failed.
    assert.match(String(await odd[2].exception()), /proxy that has been revoked/);
    assert.deepEqual(uncaught, []);
    assert.equal(ex.stats().running, 0);
  } finally {
    process.off('uncaughtException', onUncaught);
    await ex.shutdown();
  }
});
