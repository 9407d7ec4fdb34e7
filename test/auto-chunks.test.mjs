// map without chunksize on the executors that run chunks (threads, processes, BullMQ): chunks cut by
// measured time. Items of one chunk run as one task, so they share its taskSignal(): `fresh` tells.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { CancelledError, ProcessPoolExecutor, ThreadPoolExecutor } from 'concurrent-futures';
import { chunkTasks } from './fixtures/chunk-tasks.mjs';
import { executorWithWorker, redisForTests, redisSkipReason } from './redis-server.mjs';
import { within } from './helpers.mjs';

const CHUNK_TASKS = fileURLToPath(new URL('./fixtures/chunk-tasks.mjs', import.meta.url));
const skipRedis = redisSkipReason();
const bullmq = skipRedis ? null : await import('concurrent-futures/bullmq');

const redis = redisForTests(skipRedis);
const bullmqExecutor = (concurrency) => executorWithWorker(bullmq, redis, { modules: [CHUNK_TASKS], concurrency });

const executors = [
  // chunksOut: the chunks a worker may hold at once (README: two per thread, sent ahead; one per child process).
  { name: 'ThreadPoolExecutor', make: (n) => new ThreadPoolExecutor(n), countsItems: true, chunksOut: 2 },
  { name: 'ProcessPoolExecutor', make: (n) => new ProcessPoolExecutor(n), countsItems: true, chunksOut: 1 },
  // Its worker takes jobs itself, as many as its concurrency; items the map never sent are not its to count.
  { name: 'BullMQExecutor', make: (n) => bullmqExecutor(n), skip: skipRedis, countsItems: false, chunksOut: 1 },
];

const collect = async (iterator) => {
  const out = [];
  for await (const value of iterator) out.push(value);
  return out;
};

for (const { name, make, skip, countsItems, chunksOut } of executors) {
  const t = (title, fn) => test(`automatic chunks, ${name}: ${title}`, skip ? { skip } : { timeout: 60_000 }, async () => {
    const ex = make(2);
    try {
      await fn(ex);
    } finally {
      await within(20_000, ex.shutdown({ cancelFutures: true }), 'shutdown');
    }
  });

  t('quick items share chunks; every result comes in input order', async (ex) => {
    const n = 20_000;
    const out = await within(30_000, collect(ex.map(chunkTasks.fresh, Array.from({ length: n }, (_, i) => i))), 'the map');
    assert.deepEqual(out.map(([x]) => x), Array.from({ length: n }, (_, i) => i));
    const shared = out.filter(([, fresh]) => !fresh).length;
    // One task per item would make every item fresh.
    assert.ok(shared > n / 2, `${shared} of ${n} items ran in a task an earlier item ran in`);
    if (countsItems) assert.equal(ex.stats().completed, n, 'stats() counts items, not chunks');
  });

  t('a failing item throws at its own position, after every value before it', async (ex) => {
    const out = [];
    await assert.rejects(
      within(30_000, (async () => {
        for await (const value of ex.map(chunkTasks.failAt, Array.from({ length: 5000 }, (_, i) => i), Array(5000).fill(3000))) out.push(value);
      })(), 'the map'),
      (error) => error instanceof RangeError && error.message === 'bad item 3000',
    );
    assert.deepEqual(out, Array.from({ length: 3000 }, (_, i) => i * 2));
  });

  t('slow items stay one per chunk: each runs as its own task, its result yielded as it ends', async (ex) => {
    const items = Array.from({ length: 12 }, (_, i) => i);
    const yieldedAt = [];
    const out = [];
    for await (const value of ex.map(chunkTasks.slowFresh, items, Array(12).fill(100))) {
      yieldedAt.push(performance.timeOrigin + performance.now());
      out.push(value);
    }
    assert.deepEqual(out.map(([x]) => x), items);
    assert.deepEqual(out.map(([, fresh]) => fresh), Array(12).fill(true));
    // In a chunk of two, the first would wait for the second: 100 ms more.
    for (let i = 0; i < out.length; i++) {
      const ready = Math.max(...out.slice(0, i + 1).map(([, , endedAt]) => endedAt));
      assert.ok(yieldedAt[i] - ready < 90, `item ${i} was yielded ${(yieldedAt[i] - ready).toFixed(1)} ms after it was ready`);
    }
  });

  t('chunksize: 1 keeps one task per item', async (ex) => {
    const out = await within(30_000, collect(ex.map(chunkTasks.fresh, Array.from({ length: 300 }, (_, i) => i), { chunksize: 1 })), 'the map');
    assert.deepEqual(out, Array.from({ length: 300 }, (_, i) => [i, true]));
  });

  t('leaving the loop early cancels the chunks not started and drops the items not sent', async (ex) => {
    const n = 200_000;
    let atBreak = 0;
    for await (const _ of ex.map(chunkTasks.fresh, Array.from({ length: n }, (_, i) => i))) {
      atBreak = ex.stats().completed;
      break;
    }
    await ex.shutdown();
    const s = ex.stats();
    assert.equal(s.queued, 0);
    if (countsItems) assert.equal(s.completed + s.cancelled, n, JSON.stringify(s));
    // What ends after the break is what a worker had already taken: the chunk it ran, and on threads the one
    // sent ahead, which a worker that has just finished takes before the cancel reaches it (a chunk holds at
    // most 4096 items; on BullMQ 16,384, and its worker runs 2 jobs at once).
    const bound = countsItems ? 2 * chunksOut * 4096 : 2 * 16_384;
    assert.ok(s.completed - atBreak <= bound, `${s.completed - atBreak} items ended after the loop was left`);
  });

  t('buffersize still bounds the results outstanding, counted in items', async (ex) => {
    let read = 0;
    function* naturals() {
      for (let i = 0; ; i++) {
        read++;
        yield i;
      }
    }
    const out = [];
    for await (const value of ex.map(chunkTasks.failAt, naturals(), (function* () {
      for (;;) yield -1;
    })(), { buffersize: 5 })) {
      out.push(value);
      if (out.length === 50) break;
    }
    assert.deepEqual(out, Array.from({ length: 50 }, (_, i) => i * 2));
    assert.ok(read <= 50 + 6, `read ${read} items for 50 results`);
  });

  t('a shutdown right after map: the items not sent yet still run, as when all were submitted at the call', async (ex) => {
    const n = 5000;
    const it = ex.map(chunkTasks.failAt, Array.from({ length: n }, (_, i) => i), Array(n).fill(-1));
    assert.equal(ex.stats().queued, n, 'items waiting in map count as queued');
    await within(30_000, ex.shutdown(), 'the shutdown');
    const out = await collect(it);
    assert.equal(out.length, n);
    assert.deepEqual(out.slice(-3), [2 * (n - 3), 2 * (n - 2), 2 * (n - 1)]);
  });

  t('shutdown({ cancelFutures: true }) cancels the items not sent yet too', async (ex) => {
    const n = 5000;
    const it = ex.map(chunkTasks.failAt, Array.from({ length: n }, (_, i) => i), Array(n).fill(-1));
    await within(30_000, ex.shutdown({ cancelFutures: true }), 'the shutdown');
    const out = [];
    await assert.rejects((async () => {
      for await (const value of it) out.push(value);
    })(), CancelledError);
    assert.ok(out.length < n);
    const s = ex.stats();
    if (countsItems) assert.equal(s.completed + s.cancelled, n, JSON.stringify(s));
  });
}

test('automatic chunks, ThreadPoolExecutor: leaving the loop early lets only the chunk each worker runs finish', { timeout: 60_000 }, async () => {
  const ex = new ThreadPoolExecutor(2);
  try {
    const counter = new Int32Array(new SharedArrayBuffer(4));
    const n = 200_000;
    let seen = 0;
    let ranAtBreak = 0;
    for await (const _ of ex.map(chunkTasks.counted, Array.from({ length: n }, (_, i) => i), Array(n).fill(counter))) {
      // Past the first chunks, once they have grown.
      if (++seen === 50_000) {
        ranAtBreak = Atomics.load(counter, 0);
        break;
      }
    }
    await ex.shutdown();
    const ran = Atomics.load(counter, 0);
    const s = ex.stats();
    assert.equal(s.completed, ran, 'every item that ran counts as completed');
    assert.equal(s.completed + s.cancelled, n);
    // A chunk holds at most 4096 items: what runs after the break is the rest of one chunk per worker (2).
    assert.ok(ran - ranAtBreak <= 2 * 4096, `${ran - ranAtBreak} items ran after the loop was left`);
  } finally {
    await ex.shutdown({ cancelFutures: true });
  }
});
