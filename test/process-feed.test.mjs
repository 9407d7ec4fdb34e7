// How far ahead a child process is fed: submitted tasks at most one beyond the running one
// (so cancel() misses at most one per child), map chunks by time (so map keeps children busy
// and leaving its loop leaves a bounded amount of work behind).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProcessPoolExecutor } from 'concurrent-futures';
import { within, spin, napThen } from './helpers.mjs';

const identity = (x) => x;
const range = (n) => Array.from({ length: n }, (_, i) => i);
const collect = async (it) => {
  const out = [];
  for await (const x of it) out.push(x);
  return out;
};

test('ProcessPoolExecutor: map chunks queued in a child never make more than one submitted task uncancellable', { timeout: 60_000 }, async () => {
  const ex = new ProcessPoolExecutor(1);
  try {
    // Quick chunks teach the pool that a chunk takes little time: it then feeds many ahead.
    assert.deepEqual(await within(20_000, collect(ex.map(identity, range(400), { chunksize: 8 }))), range(400));
    const long = ex.submit(napThen, 300, 'long');
    const mapped = collect(ex.map(identity, range(2000), { chunksize: 8 }));
    const rest = Array.from({ length: 20 }, (_, i) => ex.submit(identity, i));
    await within(5000, (async () => { while (!long.running()) await new Promise((r) => setTimeout(r, 2)); })());
    const refused = rest.filter((f) => !f.cancel());
    assert.ok(refused.length <= 1, `${refused.length} submitted tasks could not be cancelled`);
    assert.equal(await within(10_000, long.result()), 'long');
    assert.deepEqual(await within(20_000, mapped), range(2000));
    for (const f of refused) assert.equal(typeof (await within(10_000, f.result())), 'number');
  } finally {
    await ex.shutdown();
  }
});

test('ProcessPoolExecutor: leaving a chunked map early leaves only a few milliseconds of its work running', { timeout: 60_000 }, async () => {
  const ex = new ProcessPoolExecutor(1);
  try {
    await within(10_000, ex.submit(identity, 0).result());
    const total = 2000;
    // 0.2 ms items, two per chunk: fed ahead by time, the child holds about 4 ms (some 20 items) at a time.
    for await (const x of ex.map(spin, Array(total).fill(0.2), { chunksize: 2 })) {
      assert.equal(x, 0.2);
      break;
    }
    await within(20_000, ex.shutdown());
    const { completed, cancelled } = ex.stats();
    assert.ok(completed <= 200, `${completed} items ran after the loop was left`);
    assert.equal(completed + cancelled, total + 1);
  } finally {
    await ex.shutdown();
  }
});

test('ProcessPoolExecutor: shutdown({ wait: false, cancelFutures: true }) aborts a task sent to a child that has yet to start there', { timeout: 30_000 }, async () => {
  const waitForAbort = async () => {
    const { taskSignal } = await import('concurrent-futures');
    const signal = taskSignal();
    return Promise.race([
      new Promise((resolve) => (signal.aborted ? resolve('aborted') : signal.addEventListener('abort', () => resolve('aborted')))),
      new Promise((resolve) => setTimeout(resolve, 5000, 'not aborted')),
    ]);
  };
  for (const pause of [0, 300]) {
    const ex = new ProcessPoolExecutor(1);
    try {
      const f = ex.submit(waitForAbort);
      // Counted as running once sent; with no pause the child may not have started it yet.
      await within(10_000, (async () => { while (!f.running()) await new Promise((r) => setTimeout(r, 1)); })());
      await new Promise((r) => setTimeout(r, pause));
      await within(10_000, ex.shutdown({ wait: false, cancelFutures: true }));
      assert.equal(await within(10_000, f.result()), 'aborted', `after a ${pause} ms pause`);
    } finally {
      await ex.shutdown();
    }
  }
});

test('ProcessPoolExecutor: interrupting a task that has just ended does not end the child running the next one', { timeout: 30_000 }, async () => {
  const ex = new ProcessPoolExecutor(1);
  try {
    await within(10_000, ex.submit(identity, 0).result());
    for (let round = 0; round < 3; round++) {
      const x = ex.submit(identity, 'x');
      const y = ex.submit(spin, 300);
      await new Promise((resolve) => setImmediate(resolve));
      // The child ends x and starts y while this thread is too busy to read x's answer.
      const end = Date.now() + 150;
      while (Date.now() < end);
      assert.equal(x.cancel({ interrupt: true }), true);
      assert.equal(await within(10_000, y.result()), 300, `round ${round}`);
    }
  } finally {
    await ex.shutdown();
  }
});
