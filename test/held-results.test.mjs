// A worker thread holds a finished result while calls that have lately been quick run after
// it. When such a call proves long, or ends the worker, the held results must still reach
// their futures at once: the pool takes them from the shared memory the worker mirrors them in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ThreadPoolExecutor, BrokenThreadPoolError } from 'concurrent-futures';
import { within, captureStderr, until } from './helpers.mjs';

// Quick for most inputs, long (or fatal) for one: the pool cannot tell them apart in advance.
const mostlyQuick = (x) => {
  if (typeof x === 'number' && x >= 1000) {
    const end = Date.now() + x;
    while (Date.now() < end);
  }
  return x;
};
const mostlyQuickOrOom = (x) => {
  if (x === 'oom') {
    const hoard = [];
    for (;;) hoard.push(new Array(1e5).fill(hoard.length));
  }
  return x;
};
const values = [0.5, 'text ✓', -0, null, undefined, true, 12n, { object: [1, 2] }, new Uint8Array([1, 2, 3])];
const identityOf = (x) => x;

async function learnQuick(ex, fn, arg) {
  // Enough quick calls, in batches, for the worker to take fn as quick.
  for (let round = 0; round < 5; round++) {
    await within(10_000, Promise.all(Array.from({ length: 50 }, () => ex.submit(fn, arg).result())));
  }
}

test('ThreadPoolExecutor: results held behind a call that proves long arrive within milliseconds, of every kind', { timeout: 30_000 }, async () => {
  const ex = new ThreadPoolExecutor(1);
  try {
    await learnQuick(ex, mostlyQuick, 1);
    const started = performance.now();
    const quick = values.map((v) => ex.submit(mostlyQuick, v));
    const long = ex.submit(mostlyQuick, 2500);
    const got = await within(5000, Promise.all(quick.map((f) => f.result())));
    const ms = performance.now() - started;
    assert.deepEqual(got, values.map((v) => (typeof v === 'number' ? v : v)));
    assert.ok(Object.is(got[2], -0));
    assert.ok(ms < 1500, `the quick results took ${Math.round(ms)} ms while a 2500 ms call ran after them`);
    await until(() => long.running(), 'the long call to start');
    assert.equal(long.cancel({ interrupt: true }), true);
    // The worker was ended mid-call; the next task runs on a new one.
    assert.equal(await within(10_000, ex.submit(identityOf, 'after').result()), 'after');
  } finally {
    await ex.shutdown();
  }
});

test('ThreadPoolExecutor: results held behind a call that runs out of memory keep their values; only that call fails', { timeout: 60_000 }, async () => {
  await captureStderr(async () => {
    const ex = new ThreadPoolExecutor({ maxWorkers: 1, resourceLimits: { maxOldGenerationSizeMb: 64 } });
    try {
      await learnQuick(ex, mostlyQuickOrOom, 'warm');
      const quick = Array.from({ length: 20 }, (_, i) => ex.submit(mostlyQuickOrOom, `kept ${i}`));
      const oom = ex.submit(mostlyQuickOrOom, 'oom');
      const after = ex.submit(mostlyQuickOrOom, 'after');
      const error = await within(30_000, oom.exception());
      assert.ok(error instanceof BrokenThreadPoolError, String(error));
      for (let i = 0; i < quick.length; i++) assert.equal(await within(5000, quick[i].result()), `kept ${i}`);
      assert.equal(await within(10_000, after.result()), 'after');
    } finally {
      await ex.shutdown();
    }
  });
});

test('ThreadPoolExecutor: many results taken from shared memory while workers send others: each lands on its own future once', { timeout: 60_000 }, async () => {
  // Every 40th call is long: the results held before it are taken by the pool while the
  // worker may be sending them itself, the race the shared word decides.
  const sometimesLong = (i) => {
    if (i % 40 === 39) {
      const end = performance.now() + 12;
      while (performance.now() < end);
    }
    return i % 3 === 0 ? `s${i}` : i % 3 === 1 ? BigInt(i) : i;
  };
  const expected = (i) => (i % 3 === 0 ? `s${i}` : i % 3 === 1 ? BigInt(i) : i);
  const ex = new ThreadPoolExecutor(2);
  try {
    for (let round = 0; round < 3; round++) {
      const futures = Array.from({ length: 1500 }, (_, i) => ex.submit(sometimesLong, i));
      const got = await within(30_000, Promise.all(futures.map((f) => f.result())));
      for (let i = 0; i < got.length; i++) assert.equal(got[i], expected(i), `task ${i}`);
    }
    const { completed, failed } = ex.stats();
    assert.equal(completed, 4500);
    assert.equal(failed, 0);
  } finally {
    await ex.shutdown();
  }
});
