// A property over both worker pools: random mixes of task kinds on one or two workers,
// with random cancels, interrupts and a shutdown at a random point. Every future settles
// once, every task that completed has its own value, and no result arrives long after its
// task ended.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ThreadPoolExecutor, ProcessPoolExecutor, BrokenExecutorError, CancelledError, wait } from 'concurrent-futures';
import { within } from './helpers.mjs';

// Each task returns [its index, Date.now() when it ended]: the value says whose it is and when it was ready.
const kinds = {
  quick: (i) => [i, Date.now()],
  // One number in, one number out: the commonest round trip, which travels bare (protocol.ts).
  bare: (i) => i,
  spin: (i, ms) => {
    const end = Date.now() + ms;
    while (Date.now() < end);
    return [i, Date.now()];
  },
  nap: async (i, ms) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return [i, Date.now()];
  },
  never: () => new Promise(() => {}),
  crash: () => process.exit(3),
  oom: () => {
    const hoard = [];
    for (;;) hoard.push(new Array(1e5).fill(hoard.length));
  },
  cyclic: (i) => {
    const e = new Error(`cyclic ${i}`);
    e.cause = e;
    throw e;
  },
  proxy: () => {
    const { proxy, revoke } = Proxy.revocable(new Error('gone'), {});
    revoke();
    throw proxy;
  },
  unsendable: () => () => 'a function cannot be sent back',
};

const taskArb = fc.record({
  kind: fc.constantFrom(...Object.keys(kinds), 'quick', 'bare', 'bare', 'nap', 'spin'),
  ms: fc.integer({ min: 0, max: 25 }),
  cancel: fc.constantFrom('no', 'no', 'no', 'at-once', 'interrupt-later'),
});
// Where a shutdown comes (before the task at that index is submitted), or none.
const shutdownArb = fc.option(
  fc.record({ at: fc.integer({ min: 0, max: 12 }), wait: fc.boolean(), cancelFutures: fc.boolean() }),
  { freq: 2 },
);

/** How long a result may take to reach its future after its task ended (ms): generous, for a loaded machine. */
const LATE_MS = 400;

async function runMix(make, workers, plan, shutdown) {
  const ex = make(workers);
  const settledAt = new Map();
  const futures = [];
  let shuttingDown;
  try {
    // Warm up, so that the workers know `quick` is quick and hold its results briefly.
    await Promise.all(Array.from({ length: 40 * workers }, () => ex.submit(kinds.quick, -1).result()));
    for (let i = 0; i < plan.length; i++) {
      if (shutdown?.at === i) shuttingDown = ex.shutdown({ wait: shutdown.wait, cancelFutures: shutdown.cancelFutures });
      const { kind, ms, cancel } = plan[i];
      if (shuttingDown) {
        assert.throws(() => ex.submit(kinds[kind], i, ms), /cannot schedule new futures after shutdown/);
        futures.push(undefined);
        continue;
      }
      const f = kind === 'bare' ? ex.submit(kinds.bare, i) : ex.submit(kinds[kind], i, ms);
      let count = 0;
      f.addDoneCallback(() => {
        count++;
        settledAt.set(i, { at: Date.now(), count });
      });
      futures.push(f);
      if (cancel === 'at-once') f.cancel();
    }
    // Interrupts while things run, then every task that would never end.
    await new Promise((resolve) => setTimeout(resolve, 15));
    const submitted = futures.filter(Boolean);
    for (let i = 0; i < plan.length; i++) if (plan[i].cancel === 'interrupt-later') futures[i]?.cancel({ interrupt: true });
    const deadline = Date.now() + 15_000;
    while (submitted.some((f) => !f.done()) && Date.now() < deadline) {
      for (let i = 0; i < plan.length; i++) if (plan[i].kind === 'never' && futures[i]?.running()) futures[i].cancel({ interrupt: true });
      await wait(submitted, { timeout: 20 });
    }
    // Every task ended, so a shutdown (waiting or not) has nothing left to wait for.
    if (shuttingDown) await within(10_000, shuttingDown, 'the shutdown begun mid-run');
    for (let i = 0; i < plan.length; i++) {
      const f = futures[i];
      if (!f) continue;
      assert.ok(f.done(), `task ${i} (${plan[i].kind}) settled`);
      assert.equal(settledAt.get(i)?.count, 1, `task ${i} settled once`);
      if (f.cancelled()) {
        // Only a cancel of its own or a shutdown that cancels pending futures may cancel a task.
        assert.ok(plan[i].cancel !== 'no' || plan[i].kind === 'never' || shutdown?.cancelFutures, `task ${i} (${plan[i].kind}) was cancelled by nobody`);
        continue;
      }
      const error = await f.exception();
      const { kind } = plan[i];
      if (kind === 'quick' || kind === 'spin' || kind === 'nap') {
        if (error !== undefined) {
          // Only a crash next door may take a task with it, and only while that task ran... which a
          // healthy task never does: it must have its value.
          assert.fail(`task ${i} (${kind}) failed: ${error}`);
        }
        const [index, endedAt] = await f.result();
        assert.equal(index, i, `task ${i} got its own value`);
        const late = settledAt.get(i).at - endedAt;
        assert.ok(late < LATE_MS, `task ${i} (${kind}) result arrived ${late} ms after it ended`);
      } else if (kind === 'bare') {
        assert.equal(error, undefined, `task ${i} (bare) failed: ${error}`);
        assert.equal(await f.result(), i, `task ${i} got its own value`);
      } else if (kind === 'crash' || kind === 'oom') {
        assert.ok(error instanceof BrokenExecutorError, `task ${i} (${kind}) ended its worker: ${error}`);
      } else if (kind === 'cyclic') {
        assert.equal(error.message, `cyclic ${i}`);
        assert.equal(error.cause, error);
      } else if (kind === 'proxy' || kind === 'unsendable') {
        assert.ok(error instanceof Error, `task ${i} (${kind}) failed with an error of its own: ${error}`);
      } else if (kind === 'never') {
        assert.fail(`task ${i} never ends, so it must be cancelled`);
      }
    }
  } finally {
    for (const f of futures) if (f && !f.done()) f.cancel({ interrupt: true });
    await within(15_000, ex.shutdown({ cancelFutures: true }), 'shutdown');
  }
}

for (const [name, make, runs] of [
  // A small heap, so that an `oom` task ends its worker quickly.
  ['ThreadPoolExecutor', (n) => new ThreadPoolExecutor({ maxWorkers: n, resourceLimits: { maxOldGenerationSizeMb: 48 } }), 60],
  ['ProcessPoolExecutor', (n) => new ProcessPoolExecutor({ maxWorkers: n, execArgv: ['--max-old-space-size=48'] }), 25],
]) {
  test(`${name}: random mixes of tasks on few workers lose, misplace and delay no result`, { timeout: 300_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 }), fc.array(taskArb, { minLength: 1, maxLength: 12 }), shutdownArb, (workers, plan, shutdown) => runMix(make, workers, plan, shutdown)),
      // A run that hangs fails with its seed (timeout) instead of running into the test's timeout.
      { numRuns: runs, timeout: 60_000, interruptAfterTimeLimit: 180_000, markInterruptAsFailure: false, verbose: 1 },
    );
  });
}

test('CancelledError is what a cancelled pool task raises', { timeout: 30_000 }, async () => {
  const ex = new ThreadPoolExecutor(1);
  try {
    const blocker = ex.submit(kinds.nap, 0, 50);
    const f = ex.submit(kinds.quick, 1);
    f.cancel();
    await assert.rejects(f.result(), CancelledError);
    await blocker.result();
  } finally {
    await ex.shutdown();
  }
});
