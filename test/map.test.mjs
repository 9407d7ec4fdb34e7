// What `map` promises whichever way its items reach the executor: a future per
// item (a worker pool with chunksize 1), chunks (chunksize > 1), chunks sized by
// measured time (a worker pool without chunksize) and batches (AsyncPoolExecutor). The shared executor suite covers the rest of map.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncPoolExecutor, ThreadPoolExecutor, TimeoutError } from 'concurrent-futures';
import { sleep, within, napThen } from './helpers.mjs';

const square = (n) => n * n;
const done = { value: undefined, done: true };

const strategies = [
  { name: 'a future per item', make: (n) => new ThreadPoolExecutor(n), options: { chunksize: 1 }, unit: 1 },
  { name: 'automatic chunks', make: (n) => new ThreadPoolExecutor(n), options: {}, unit: 1 },
  { name: 'chunks', make: (n) => new ThreadPoolExecutor(n), options: { chunksize: 3 }, unit: 3 },
  { name: 'batches', make: (n) => new AsyncPoolExecutor(n), options: {}, unit: 1 },
];

for (const { name, make, options, unit } of strategies) {
  const t = (title, fn) => test(`map, ${name}: ${title}`, { timeout: 30_000 }, async () => {
    const ex = make(name === 'chunks' ? 1 : 2);
    try {
      await fn(ex);
    } finally {
      await ex.shutdown({ cancelFutures: true });
    }
  });

  t('a next() waiting when return() is called ends as done; what has not started is cancelled', async (ex) => {
    const it = ex.map(napThen, Array(6).fill(100), [0, 1, 2, 3, 4, 5], options);
    const waiting = it.next();
    await it.return();
    assert.deepEqual(await within(5000, waiting, 'the waiting next()'), done);
    assert.deepEqual(await it.next(), done);
    await ex.shutdown();
    const s = ex.stats();
    assert.equal(s.completed + s.cancelled, 6);
    assert.ok(s.cancelled >= 3, `cancelled ${s.cancelled}`);
  });

  t('next() calls made at once are answered in input order', async (ex) => {
    const it = ex.map(napThen, [60, 10, 30, 0, 20], ['a', 'b', 'c', 'd', 'e'], options);
    const results = await within(10_000, Promise.all(Array.from({ length: 6 }, () => it.next())), 'six next() calls');
    assert.deepEqual(results, [...['a', 'b', 'c', 'd', 'e'].map((value) => ({ value, done: false })), done]);
  });

  t('a lazily read input that throws: the results of what was read, then the input\'s error', async (ex) => {
    function* input() {
      for (let i = 0; i < 6; i++) yield i;
      throw new RangeError('input broke');
    }
    const out = [];
    await assert.rejects(
      within(10_000, (async () => {
        for await (const r of ex.map(square, input(), { ...options, buffersize: 2 })) out.push(r);
      })(), 'the iteration'),
      /input broke/,
    );
    assert.deepEqual(out, [0, 1, 4, 9, 16, 25]);
  });

  t('an async input that throws: the results of what was read, then the input\'s error', async (ex) => {
    async function* input() {
      for (let i = 0; i < 6; i++) {
        await sleep(1);
        yield i;
      }
      throw new RangeError('input broke');
    }
    const it = ex.map(square, input(), options);
    const out = [];
    await assert.rejects(
      within(10_000, (async () => {
        for await (const r of it) out.push(r);
      })(), 'the iteration'),
      /input broke/,
    );
    assert.deepEqual(out, [0, 1, 4, 9, 16, 25]);
    assert.deepEqual(await it.next(), done);
  });

  t('an async input: every item in order, a last short chunk included', async (ex) => {
    async function* input() {
      for (let i = 0; i < 7; i++) {
        await sleep(1);
        yield i;
      }
    }
    const out = [];
    for await (const r of ex.map(square, input(), options)) out.push(r);
    assert.deepEqual(out, [0, 1, 4, 9, 16, 25, 36]);
  });

  t(`buffersize bounds the input read ahead (counted in ${unit === 1 ? 'items' : 'chunks'})`, async (ex) => {
    let read = 0;
    function* naturals() {
      for (let i = 0; ; i++) {
        read++;
        yield i;
      }
    }
    const out = [];
    for await (const r of ex.map(square, naturals(), { ...options, buffersize: 2 })) {
      out.push(r);
      if (out.length === 10) break;
    }
    assert.deepEqual(out, Array.from({ length: 10 }, (_, i) => i * i));
    // The results taken, and at most the buffer (and the one just claimed) beyond them.
    assert.ok(read <= 10 + 3 * unit, `read ${read} items for 10 results`);
  });

  t('a timeout while next() waits: TimeoutError, then done; what has not started is cancelled', async (ex) => {
    const it = ex.map(napThen, Array(6).fill(400), [0, 1, 2, 3, 4, 5], { ...options, timeout: 100 });
    await assert.rejects(within(5000, it.next(), 'the timeout'), TimeoutError);
    assert.deepEqual(await it.next(), done);
    await ex.shutdown();
    const s = ex.stats();
    assert.equal(s.completed + s.cancelled, 6);
    assert.ok(s.cancelled >= 3, `cancelled ${s.cancelled}`);
  });

  t('an eagerly read input that throws: the error at the call, and nothing runs', async (ex) => {
    function* input() {
      yield 1;
      yield 2;
      throw new RangeError('input broke');
    }
    assert.throws(() => ex.map(square, input(), options), /input broke/);
    await ex.shutdown();
    const s = ex.stats();
    assert.equal(s.queued + s.running + s.completed, 0);
  });
}
