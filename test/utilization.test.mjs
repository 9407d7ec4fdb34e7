// stats().utilization when a pool's workers come and go: it is a share of the workers the pool had over its
// window, so a worker ended for an interrupt or retired when idle still counts what it ran, and a pool that grew
// is not measured against workers it did not have yet. An async task that ignores its interrupt keeps its slot busy. The rule on known times, then on real pools.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncPoolExecutor, ThreadPoolExecutor, ProcessPoolExecutor, CancelledError } from 'concurrent-futures';
import { Latency } from '../dist/latency.js';
import { tasks } from './fixtures/bullmq-tasks.mjs';
import { sleep, until } from './helpers.mjs';

const T = 100_000;

test('the rule: busy time over the time of the workers there were, each 250 ms counted for the most it had', () => {
  const l = new Latency();
  l.workers(1, T);
  l.busy(T, T + 1000, 1);
  assert.equal(l.utilization(T + 1000, 0), 1, 'one worker, busy the whole window');
  assert.equal(l.utilization(T + 2000, 0), 0.5, 'then idle as long');
  // Ended (an interrupt): its bucket counts it, the time after it does not.
  l.workers(0, T + 2000);
  const ended = l.utilization(T + 3000, 0);
  assert.ok(ended >= 0.4 && ended <= 0.5, `after its worker was ended: ${ended}`);
  assert.equal(l.utilization(T + 4000, 0), ended, 'no workers, no time to share: the figure stands');
  // Past the 5 s window, nothing ran and nothing could: 0.
  assert.equal(l.utilization(T + 12_000, 0), 0);
});

test('the rule: a pool that grew from one worker to four, all busy, is fully used (not a quarter)', () => {
  const l = new Latency();
  l.workers(1, T);
  l.busy(T, T + 4000, 1);
  l.workers(4, T + 4000);
  l.busy(T + 4000, T + 5000, 4);
  assert.equal(l.utilization(T + 5000, 0), 1);
  // Running tasks count what they ran so far, against the same workers.
  const m = new Latency();
  m.workers(2, T);
  m.busy(T, T + 1000, 1);
  assert.equal(m.utilization(T + 1000, 1000), 1, 'one finished, one still running, each for the whole second');
  assert.equal(m.utilization(T + 1000, 0), 0.5);
});

for (const [kind, Pool] of [['thread', ThreadPoolExecutor], ['process', ProcessPoolExecutor]]) {
  test(`${kind}: a worker ended for an interrupt still counts what it ran`, { timeout: 30_000 }, async () => {
    const ex = new Pool(1);
    try {
      await ex.submit(tasks.spin, 1).result();
      const f = ex.submit(tasks.spin, 5_000);
      await until(() => f.running(), 'the task to start');
      await sleep(600);
      const before = ex.stats().utilization;
      assert.ok(before > 0.5, `while it runs: ${before}`);
      assert.equal(f.cancel({ interrupt: true }), true);
      await assert.rejects(f.result());
      // A child is ended once what it sent is read: on the next turn.
      await sleep(50);
      const after = ex.stats().utilization;
      assert.ok(after > 0.5, `right after its worker was ended: ${after} (before: ${before})`);
    } finally {
      await ex.shutdown();
    }
  });

  test(`${kind}: workers retired by idleTimeout still count what they ran`, { timeout: 30_000 }, async () => {
    const ex = new Pool({ maxWorkers: 2, idleTimeout: 50 });
    try {
      await Promise.all([ex.submit(tasks.spin, 500).result(), ex.submit(tasks.spin, 500).result()]);
      await until(() => ex.stats().workers === 0, 'the idle workers to retire');
      const s = ex.stats();
      assert.ok(s.utilization > 0.3, `after both retired: ${s.utilization}`);
    } finally {
      await ex.shutdown();
    }
  });
}

test('async: an interrupted task that ignores its signal keeps its slot busy until it ends', { timeout: 30_000 }, async () => {
  const ex = new AsyncPoolExecutor(1);
  try {
    let ended = false;
    const f = ex.submit(() => sleep(900).then(() => (ended = true)));
    await sleep(100);
    assert.equal(f.cancel({ interrupt: true }), true);
    await assert.rejects(f.result(), CancelledError);
    await sleep(400);
    const s = ex.stats();
    assert.equal(ended, false);
    assert.equal(s.idleWorkers, 0, 'its slot is taken');
    assert.equal(s.running, 0, 'its future is done');
    assert.ok(s.utilization > 0.9, `the slot has been busy all along: ${s.utilization}`);
    await until(() => ended && ex.stats().idleWorkers === 1, 'the task to end');
    await sleep(300);
    const after = ex.stats().utilization;
    assert.ok(after > 0.6 && after < 0.95, `busy 0.9 s of about 1.2: ${after}`);
  } finally {
    await ex.shutdown();
  }
});
