// stats().utilization when a pool's workers come and go: it is a share of the worker time the pool had over its
// window, so a worker ended for an interrupt, dead mid-task or retired when idle still counts what it ran, and a
// pool that grew is not measured against workers it did not have yet. An async task that ignores its interrupt
// keeps its slot busy. The rule on known times, then on real pools.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncPoolExecutor, ThreadPoolExecutor, ProcessPoolExecutor, CancelledError } from 'concurrent-futures';
import { Latency } from '../dist/latency.js';
import { tasks } from './fixtures/bullmq-tasks.mjs';
import { sleep, until } from './helpers.mjs';

const T = 100_000;

test('the rule: busy time over the worker time there was', () => {
  const l = new Latency();
  l.workers(1, T);
  l.busy(T, T + 1000, 1);
  assert.equal(l.utilization(T + 1000, 0), 1, 'one worker, busy the whole window');
  assert.equal(l.utilization(T + 2000, 0), 0.5, 'then idle as long');
  // Ended (an interrupt): the time after it is no worker's.
  l.workers(0, T + 2000);
  assert.equal(l.utilization(T + 3000, 0), 0.5);
  assert.equal(l.utilization(T + 4000, 0), 0.5, 'no workers, no time to share: the figure stands');
  // As the 5 s window slides past the work, the figure falls, never climbing back; then 0.
  let last = 1;
  for (let at = T + 5000; at <= T + 7000; at += 25) {
    const u = l.utilization(at, 0);
    assert.ok(u <= last + 1e-9, `at T+${at - T}: ${u}, after ${last}`);
    last = u;
  }
  assert.equal(last, 0);
});

test('the rule: a pool that grew or shrank inside 250 ms, all its workers busy, is fully used', () => {
  const grew = new Latency();
  grew.workers(1, T);
  grew.busy(T, T + 4240, 1);
  grew.workers(4, T + 4240);
  grew.busy(T + 4240, T + 5000, 4);
  assert.equal(grew.utilization(T + 5000, 0), 1, 'grew from one worker to four (not a quarter)');
  const shrank = new Latency();
  shrank.workers(4, T);
  shrank.busy(T, T + 10, 4);
  shrank.workers(1, T + 10);
  shrank.busy(T + 10, T + 260, 1);
  assert.equal(shrank.utilization(T + 260, 0), 1, 'four workers, then one');
  // Running tasks count what they ran so far, against the same workers.
  const m = new Latency();
  m.workers(2, T);
  m.busy(T, T + 1000, 1);
  assert.equal(m.utilization(T + 1000, 1000), 1, 'one finished, one still running, each for the whole second');
  assert.equal(m.utilization(T + 1000, 0), 0.5);
});

for (const [kind, Pool] of [['thread', ThreadPoolExecutor], ['process', ProcessPoolExecutor]]) {
  test(`${kind}: a worker ended for an interrupt, or dead mid-task, still counts what it ran`, { timeout: 30_000 }, async () => {
    const ex = new Pool(1);
    try {
      await ex.submit(tasks.spin, 1).result();
      const f = ex.submit(tasks.spin, 5_000);
      await until(() => f.running(), 'the task to start');
      await sleep(1000);
      const before = ex.stats().utilization;
      assert.equal(f.cancel({ interrupt: true }), true);
      await assert.rejects(f.result());
      // A child is ended once what it sent is read: on the next turn.
      await sleep(50);
      const after = ex.stats().utilization;
      assert.ok(before > 0.2 && after > before * 0.8, `right after its worker was ended: ${after} (before: ${before})`);
      const dies = ex.submit(tasks.exitAfter, 1000);
      await until(() => dies.running(), 'the next task to start');
      await sleep(700);
      const running = ex.stats().utilization;
      await assert.rejects(dies.result());
      const dead = ex.stats().utilization;
      assert.ok(running > 0.2 && dead > running * 0.8, `after its worker died: ${dead} (before: ${running})`);
    } finally {
      await ex.shutdown();
    }
  });

  test(`${kind}: workers retired by idleTimeout still count what they ran`, { timeout: 30_000 }, async () => {
    const ex = new Pool({ maxWorkers: 2, idleTimeout: 50 });
    try {
      await Promise.all([ex.submit(tasks.spin, 800).result(), ex.submit(tasks.spin, 800).result()]);
      const before = ex.stats().utilization;
      await until(() => ex.stats().workers === 0, 'the idle workers to retire');
      const after = ex.stats().utilization;
      assert.ok(before > 0.2 && after > before * 0.8, `after both retired: ${after} (before: ${before})`);
    } finally {
      await ex.shutdown();
    }
  });
}

test('thread: an interrupted task counts its worker\'s time once, whatever the sample it stands in', { timeout: 30_000 }, async () => {
  // After a burst, one submit in many is timed and stands for those around it: its interrupt must not count
  // its run that many times over, nor (untimed) not at all. The sampler (latency.ts) is steered to each case.
  for (const timed of [false, true]) {
    const ex = new ThreadPoolExecutor(4);
    try {
      const sampler = ex._counters.latency;
      await Promise.all([0, 1, 2, 3].map(() => ex.submit(tasks.spin, 1).result()));
      const quick = Array.from({ length: 200 }, (_, i) => ex.submit(tasks.square, i));
      // The next submit is timed when the stride's countdown is at 1, and not when it is above 2.
      const placed = () => sampler.tokens < 1 && (timed ? sampler.countdown === 1 : sampler.countdown > 2);
      while (!placed() && quick.length < 20_000) quick.push(ex.submit(tasks.square, 0));
      const f = ex.submit(tasks.spin, 4_000);
      if (timed) assert.ok(f.ticket >= 0 && sampler.weight[f.ticket & 4095] > 1, 'the long task is timed, for many');
      else assert.equal(f.ticket, -1, 'the long task is not timed');
      await Promise.all(quick.map((q) => q.result()));
      await until(() => f.running(), 'the long task to start');
      await sleep(1000);
      const before = ex.stats().utilization;
      assert.equal(f.cancel({ interrupt: true }), true);
      await assert.rejects(f.result(), CancelledError);
      const after = ex.stats().utilization;
      // One of four workers busy for a second: about a quarter, before and after.
      assert.ok(before > 0.1 && before < 0.5, `before (timed: ${timed}): ${before}`);
      assert.ok(after > before * 0.8 && after < before * 1.25 + 0.02, `after (timed: ${timed}): ${after} (before: ${before})`);
    } finally {
      await ex.shutdown();
    }
  }
});

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
