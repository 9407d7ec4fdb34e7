// A soak run bounded in time: random work, faults, cancels and interrupts on
// the worker pools for a few seconds; every future must end and the counts add up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ThreadPoolExecutor, ProcessPoolExecutor, wait } from 'concurrent-futures';
import { within } from './helpers.mjs';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 4);

const jobs = {
  value: (x) => x,
  async: async (x) => {
    await new Promise((r) => setTimeout(r, x % 5));
    return x;
  },
  throws: (x) => {
    throw new RangeError(`job ${x}`);
  },
  exits: () => process.exit(3),
  spins: (ms) => {
    const end = Date.now() + (ms % 3);
    while (Date.now() < end);
    return ms;
  },
};

for (const [name, make] of [
  ['ThreadPoolExecutor', () => new ThreadPoolExecutor(2)],
  ['ProcessPoolExecutor', () => new ProcessPoolExecutor(2)],
]) {
  test(`${name}: soak with faults for ${SECONDS}s`, { timeout: (SECONDS + 60) * 1000 }, async (t) => {
    const ex = make();
    // Also when an assertion fails: every worker is stopped before the test ends.
    t.after(() => within(30_000, ex.shutdown({ cancelFutures: true }), 'shutdown after the test'));
    const futures = [];
    // Worker deaths are rarer than the rest: each one costs a worker start.
    const kinds = fc.sample(
      fc.oneof(
        { weight: 30, arbitrary: fc.constantFrom('value', 'async', 'throws', 'spins', 'cancel') },
        { weight: 1, arbitrary: fc.constantFrom('exits', 'interrupt') },
      ),
      100_000,
    );
    const end = Date.now() + SECONDS * 1000;
    let i = 0;
    while (Date.now() < end) {
      for (let k = 0; k < 10; k++, i++) {
        const kind = kinds[i % kinds.length];
        if (kind === 'cancel' && futures.length > 0) futures[futures.length - 1].f.cancel();
        else if (kind === 'interrupt' && futures.length > 0) futures[(i * 7) % futures.length].f.cancel({ interrupt: true });
        else if (kind !== 'cancel' && kind !== 'interrupt') futures.push({ kind, x: i, f: ex.submit(jobs[kind], i) });
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const { notDone } = await within(60_000, wait(futures.map((e) => e.f)), 'every future ends');
    assert.equal(notDone.size, 0);
    for (const { kind, x, f } of futures) {
      if (f.cancelled()) continue;
      const error = await f.exception();
      if (kind === 'value' || kind === 'async') {
        if (error !== undefined) assert.match(error.name, /Broken(Thread|Process)PoolError/, `${kind} failed with ${error}`);
        else assert.equal(await f.result(), x);
      } else if (kind === 'throws') {
        assert.ok(error instanceof RangeError || /Broken/.test(error?.name), String(error));
      } else if (kind === 'exits') {
        assert.match(error.name, /Broken(Thread|Process)PoolError/);
      }
    }
    await within(30_000, ex.shutdown(), 'shutdown');
    const s = ex.stats();
    assert.equal(s.queued + s.running, 0);
    assert.equal(s.completed + s.cancelled, futures.length);
    assert.equal(s.workers, 0);
  });
}
