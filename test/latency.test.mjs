// stats() runTime, waitTime and utilization against tasks of known length, on every executor;
// map items counted as items (BullMQ's chunks included).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { AsyncPoolExecutor, ThreadPoolExecutor, ProcessPoolExecutor, TimeoutError, CancelledError } from 'concurrent-futures';
import { executorWithWorker, redisForTests, redisSkipReason } from './redis-server.mjs';
import { sleep, until } from './helpers.mjs';
import { tasks } from './fixtures/bullmq-tasks.mjs';
import { tracingChannel } from 'node:diagnostics_channel';

const channel = tracingChannel('concurrent-futures:task');

const TASKS = fileURLToPath(new URL('./fixtures/bullmq-tasks.mjs', import.meta.url));
const skipReason = redisSkipReason();
const redis = skipReason ? null : redisForTests(skipReason);
const bullmq = skipReason ? null : await import('concurrent-futures/bullmq');

const executors = {
  async: { make: (n) => new AsyncPoolExecutor(n) },
  thread: { make: (n) => new ThreadPoolExecutor(n) },
  process: { make: (n) => new ProcessPoolExecutor(n) },
  bullmq: {
    skip: skipReason,
    make: (n) => executorWithWorker(bullmq, redis, { modules: [TASKS], concurrency: n }),
  },
};

// Tight below (a figure too low is wrong), loose above: on a loaded machine timers fire late, so tasks do run longer.
const near = (actual, expected, slack, what) =>
  assert.ok(actual >= expected - 5 && actual <= expected + slack, `${what}: ${actual.toFixed(1)} ms, expected about ${expected}`);

for (const [kind, { make, skip }] of Object.entries(executors)) {
  const t = (title, n, fn) => test(`${kind}: ${title}`, skip ? { skip } : { timeout: 60_000 }, async () => {
    const ex = make(n);
    try {
      await ex.worker;
      // Warm: the first task on a pool waits for its worker to start.
      await ex.submit(tasks.square, 1).result();
      await fn(ex);
    } finally {
      await ex.shutdown();
    }
  });

  t('no task timed yet: counts of 0 and zeros; utilization a number in 0..1 (BullMQ: NaN)', 1, async (ex) => {
    const fresh = make(1);
    try {
      const s = fresh.stats();
      assert.deepEqual(s.runTime, { count: 0, mean: 0, p50: 0, p90: 0, p99: 0 });
      assert.deepEqual(s.waitTime, { count: 0, mean: 0, p50: 0, p90: 0, p99: 0 });
      if (kind === 'bullmq') assert.ok(Number.isNaN(s.utilization));
      else assert.equal(s.utilization, 0);
    } finally {
      await fresh.shutdown();
    }
    const s = ex.stats();
    assert.equal(s.runTime.count, 1);
  });

  t('runTime near what tasks of 50 and 100 ms took; waitTime near how long each waited for the one worker', 1, async (ex) => {
    const before = ex.stats().runTime.count;
    // One worker: the second waits ~100 ms, the third ~150 ms, the fourth ~250 ms.
    const futures = [100, 50, 100, 50].map((ms) => ex.submit(tasks.napThen, ms, ms));
    for (const f of futures) await f.result();
    const s = ex.stats();
    assert.equal(s.runTime.count, before + 4);
    assert.equal(s.completed, 5);
    // BullMQ's figures pass through a worker's thread, Redis and its events: twice the room above on a loaded machine
    // (a CI run saw the longest run at 269 ms).
    const room = kind === 'bullmq' ? 2 : 1;
    near(s.runTime.p99, 100, 150 * room, 'the longest run');
    near(s.runTime.p50, 50, 150 * room, 'the median run (of 1, 50, 50, 100, 100 ms)');
    near(s.waitTime.p99, 250, 200 * room, 'the last task\'s wait');
    near(s.waitTime.mean, (0 + 0 + 100 + 150 + 250) / 5, 150 * room, 'the mean wait');
    for (const d of [s.runTime, s.waitTime]) assert.ok(d.p50 <= d.p90 && d.p90 <= d.p99);
    if (kind !== 'bullmq') assert.ok(s.utilization > 0.3 && s.utilization <= 1, `utilization ${s.utilization}`);
  });

  t('a task interrupted by its timeout or by cancel({ interrupt: true }) is timed: its wait, and its run until then', 1, async (ex) => {
    const before = ex.stats();
    const timedOut = ex.withOptions({ timeout: 120 }).submit(tasks.napThen, 1_000, 0);
    await assert.rejects(timedOut.result(), TimeoutError);
    const afterTimeout = ex.stats();
    assert.equal(afterTimeout.failed - before.failed, 1);
    assert.equal(afterTimeout.runTime.count - before.runTime.count, 1, 'the timed-out task is timed');
    assert.equal(afterTimeout.waitTime.count - before.waitTime.count, 1);
    // The timeout counts from the task's start: it ran at least that long.
    assert.ok(afterTimeout.runTime.p99 >= 115, `the timed-out run: ${afterTimeout.runTime.p99} ms`);
    // The child ended for the timeout is replaced: warmed, so that the next task starts as it is sent (a cold
    // worker's start-up is wait, and a task sent to a child reads running at once).
    await ex.submit(tasks.square, 1).result();
    const interrupted = ex.submit(tasks.napThen, 1_000, 0);
    await until(() => interrupted.running(), 'the task to start');
    await sleep(150);
    assert.equal(interrupted.cancel({ interrupt: true }), true);
    await assert.rejects(interrupted.result(), CancelledError);
    const s = ex.stats();
    assert.equal(s.cancelled - before.cancelled, 1);
    assert.equal(s.runTime.count - before.runTime.count, 3, 'the interrupted task is timed');
    assert.equal(s.waitTime.count - before.waitTime.count, 3);
    assert.ok(s.runTime.p99 >= 145 && s.runTime.p99 < 900, `the longest run, the interrupted one: ${s.runTime.p99} ms`);
  });

  if (kind !== 'bullmq') {
    t('utilization: near 1 while every worker runs, lower once they idle', 2, async (ex) => {
      // The window starts at the first task, whose worker had to start first: the busy part outweighs that.
      await Promise.all(Array.from({ length: 16 }, () => ex.submit(tasks.napThen, 150, 0).result()));
      const busy = ex.stats().utilization;
      assert.ok(busy > 0.6, `utilization ${busy} after 1.2 s of both workers busy`);
      await new Promise((resolve) => setTimeout(resolve, 700));
      const later = ex.stats().utilization;
      assert.ok(later < busy, `utilization ${later} after idling, ${busy} before`);
    });
  }

  t('while a map runs, queued and running count its items, not its chunks', 2, async (ex) => {
    const before = ex.stats();
    const items = Array.from({ length: 60 }, (_, i) => i);
    let seen = 0;
    for await (const value of ex.map(tasks.napThen, items.map(() => 10), items, { chunksize: 10 })) {
      assert.equal(value, seen++);
      const s = ex.stats();
      const ended = s.completed - before.completed + (s.cancelled - before.cancelled);
      assert.equal(s.queued + s.running + ended, 60, `queued ${s.queued}, running ${s.running}, ended ${ended} of 60 items`);
      // One item of a chunk runs at a time. A pool's chunk runs until its answer is read (a thread may have started
      // the next one meanwhile), and a process pool marks what it has sent ahead running, as CPython's call queue.
      const most = kind === 'thread' || kind === 'process' ? 6 : 2;
      assert.ok(s.running >= 0 && s.running <= most, `running ${s.running} on 2 workers, 6 chunks`);
    }
    assert.equal(seen, 60);
    await until(() => ex.stats().queued === 0 && ex.stats().running === 0, 'the map to end');
  });

  if (kind !== 'async') {
    t('a chunk that fails at its first item times that item only: the items after it never ran', 1, async (ex) => {
      const before = ex.stats();
      await assert.rejects(async () => {
        for await (const _ of ex.map(tasks.napThenFail, Array.from({ length: 100 }, () => 80), { chunksize: 100 }));
      }, RangeError);
      await until(() => ex.stats().queued === 0 && ex.stats().running === 0, 'the map to end');
      const s = ex.stats();
      assert.equal(s.failed - before.failed, 1);
      assert.equal(s.cancelled - before.cancelled, 99);
      assert.equal(s.runTime.count - before.runTime.count, 1, 'one item ran: one is timed, not the 99 after it');
      // Its run is the chunk's whole time, not a hundredth of it.
      assert.ok(s.runTime.p99 >= 75, `the failing item's run: ${s.runTime.p99} ms`);
    });
  }

  if (kind !== 'async') {
    for (const joins of [false, true]) {
      t(`automatic chunks: an item waits from when map read it, not from when its chunk was sent${joins ? ' (a subscriber joins meanwhile)' : ''}`, 2, async (ex) => {
        const before = ex.stats().waitTime.count;
        // Ten items of 100 ms on two workers: read at once, and sent as workers free, they wait 0, 0, 100, 100, ... ms.
        const items = Array.from({ length: 10 }, () => 100);
        const listener = { start() {}, end() {}, asyncStart() {}, asyncEnd() {}, error() {} };
        try {
          for await (const _ of ex.map(tasks.napThen, items, items)) if (joins) channel.subscribe(listener);
        } finally {
          if (joins) channel.unsubscribe(listener);
        }
        const s = ex.stats().waitTime;
        assert.ok(s.count - before >= 10, `${s.count - before} items timed`);
        const expected = (0 + 0 + 100 + 100 + 200 + 200 + 300 + 300 + 400 + 400) / 10;
        // The mean of the last `count` waits includes the warm-up task's (~0 ms): a little below, never half.
        near(s.mean * s.count / (s.count - before), expected, 150 * (kind === 'bullmq' ? 2 : 1), 'the items\' mean wait');
      });
    }
  }

  t('map items count as items: 200 with chunksize 64 complete as 200, a failing item inside a chunk as one failure', 2, async (ex) => {
    const before = ex.stats();
    let n = 0;
    for await (const _ of ex.map(tasks.square, Array.from({ length: 200 }, (_, i) => i), { chunksize: 64 })) n++;
    assert.equal(n, 200);
    const after = ex.stats();
    assert.equal(after.completed - before.completed, 200);
    assert.ok(after.runTime.count > before.runTime.count, 'items are timed');
    const items = Array.from({ length: 200 }, (_, i) => i);
    await assert.rejects(async () => {
      for await (const _ of ex.map(tasks.failIf, items, items.map(() => 70), { chunksize: 64 }));
    }, RangeError);
    await until(() => ex.stats().queued === 0 && ex.stats().running === 0, 'the map to end');
    const s = ex.stats();
    assert.equal(s.failed - after.failed, 1);
    assert.equal(s.completed - after.completed + (s.cancelled - after.cancelled), 200);
  });
}

for (const [kind, Pool] of [['thread', ThreadPoolExecutor], ['process', ProcessPoolExecutor]]) {
  test(`${kind}: with tasksPerWorker, map's async chunks are timed from their start: run near their length, wait what is left`, { timeout: 60_000 }, async () => {
    const ex = new Pool({ maxWorkers: 1, tasksPerWorker: 4 });
    try {
      await ex.submit(tasks.square, 1).result();
      const items = Array.from({ length: 16 }, () => 50);
      for await (const _ of ex.map(tasks.napThen, items, items));
      const s = ex.stats();
      // A chunk fed to a worker with none unanswered, though others await there, starts at once.
      assert.ok(s.runTime.p50 >= 40, `median run ${s.runTime.p50} ms, each item naps 50 ms`);
      // Four at a time: they wait about 0, 50, 100 and 150 ms, four of each (~75 ms), plus what starting took.
      assert.ok(s.waitTime.mean >= 50, `mean wait ${s.waitTime.mean} ms`);
    } finally {
      await ex.shutdown();
    }
  });

  test(`${kind}: a cold worker's start-up is wait, not run: for its first tasks' stats(), their traces and utilization`, { timeout: 60_000 }, async (ctx) => {
    for (const perWorker of [1, 3]) {
      // A slow start-up (300 ms of initializer), so that counted as run it could not pass for a task's.
      const ex = new Pool({ maxWorkers: 1, tasksPerWorker: perWorker, initializer: () => new Promise((resolve) => setTimeout(resolve, 300)) });
      const contexts = [];
      const channel = tracingChannel('concurrent-futures:task');
      const listener = { start: (c) => c.executor === ex && contexts.push(c) };
      channel.subscribe(listener);
      try {
        const submitted = performance.now();
        // Self-contained: a module's first import in the worker is part of its task's run.
        const nap = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
        await Promise.all(Array.from({ length: 3 }, () => ex.submit(nap, 50).result()));
        const elapsed = performance.now() - submitted;
        const s = ex.stats();
        assert.ok(s.runTime.p99 < 90, `tasksPerWorker ${perWorker}: the longest run ${s.runTime.p99} ms, each naps 50 ms`);
        for (const c of contexts) assert.ok(c.endedAt - c.startedAt < 90, `tasksPerWorker ${perWorker}: a traced run of ${c.endedAt - c.startedAt} ms`);
        // Busy ~50 ms (three at once) or ~150 ms (one after another) of what start-up made longer.
        const busy = perWorker === 1 ? 150 : 50;
        assert.ok(s.utilization < (busy + 40) / elapsed, `tasksPerWorker ${perWorker}: utilization ${s.utilization} for ~${busy} ms busy of ${Math.round(elapsed)}`);
      } finally {
        channel.unsubscribe(listener);
        await ex.shutdown();
      }
    }
  });

  test(`${kind}: with tasksPerWorker, tasks awaiting together count their worker's time once: busy while they run, falling once they end`, { timeout: 60_000 }, async () => {
    const ex = new Pool({ maxWorkers: 1, tasksPerWorker: 4 });
    try {
      await ex.submit(tasks.square, 1).result();
      await sleep(300);
      const futures = Array.from({ length: 4 }, () => ex.submit(tasks.napThen, 600, 0));
      await sleep(400);
      const during = ex.stats().utilization;
      await Promise.all(futures.map((f) => f.result()));
      await sleep(400);
      const after = ex.stats().utilization;
      assert.ok(during > 0.3, `while four await: ${during} (they were counted 0)`);
      assert.ok(after < 0.85, `400 ms idle after ~600 ms of work: ${after} (four tasks' time counted as one worker's)`);
    } finally {
      await ex.shutdown();
    }
  });

  test(`${kind}: with tasksPerWorker, a task waiting in its worker for a free slot starts when one frees, not before`, { timeout: 60_000 }, async () => {
    const ex = new Pool({ maxWorkers: 1, tasksPerWorker: 4 });
    try {
      await ex.submit(tasks.square, 1).result();
      const before = ex.stats().runTime.count;
      // Four run at once; the fifth waits in the worker ~100 ms for a slot, then runs ~100 ms.
      await Promise.all(Array.from({ length: 5 }, () => ex.submit(tasks.napThen, 100, 0).result()));
      const s = ex.stats();
      assert.equal(s.runTime.count - before, 5);
      assert.ok(s.runTime.p99 < 170, `the longest run: ${s.runTime.p99} ms, each ran ~100 ms`);
      assert.ok(s.waitTime.p99 >= 85, `the fifth task's wait: ${s.waitTime.p99} ms, expected ~100`);
    } finally {
      await ex.shutdown();
    }
  });
}

test('async: a burst of submits, timed in part, reads as the whole burst: each timed task weighs what it stands for', { timeout: 60_000 }, async () => {
  const ex = new AsyncPoolExecutor(4);
  try {
    // Submitted in one loop, faster than every task can be timed: task i waits ~floor(i / 4) * 10 ms.
    const n = 600;
    const futures = Array.from({ length: n }, () => ex.submit(() => new Promise((resolve) => setTimeout(resolve, 10))));
    for (const f of futures) await f.result();
    const s = ex.stats().waitTime;
    assert.ok(s.count < n, `sampled: ${s.count} of ${n} timed`);
    const waits = Array.from({ length: n }, (_, i) => Math.floor(i / 4) * 10);
    const mean = waits.reduce((a, b) => a + b) / n;
    // Timers run late on a loaded machine: room above, little below (unweighted, the burst's first 64 made it ~200).
    assert.ok(s.mean > mean * 0.8 && s.mean < mean * 1.5, `mean wait ${s.mean} ms, the tasks' ${mean}`);
    assert.ok(s.p50 > waits[n / 2 - 1] * 0.75 && s.p50 < waits[n / 2 - 1] * 1.5, `median wait ${s.p50} ms, the tasks' ${waits[n / 2 - 1]}`);
    assert.ok(s.p90 > waits[n * 0.9 - 1] * 0.8, `p90 wait ${s.p90} ms, the tasks' ${waits[n * 0.9 - 1]}`);
  } finally {
    await ex.shutdown();
  }
});
