// The worker pools' suite, second part: what both pools promise about results. They come
// on time, land on their own future, and are kept when a later task on the same worker
// crashes; each case mixes task kinds on few workers. Run by workerPoolSuite().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BrokenExecutorError, FIRST_COMPLETED, wait } from 'concurrent-futures';
import { within, captureStderr, until, spin, napThen } from './helpers.mjs';

export const cyclicThrow = (message) => {
  const e = new Error(message);
  e.cause = e;
  e.code = 'E_CYCLE';
  throw e;
};
const cyclicReturn = (message) => {
  const e = new TypeError(message);
  e.cause = { note: 'wrapper', inner: e };
  e.cause.inner = e;
  return e;
};
export const identity = (x) => x;
/** A different answer for every kind of value a task may be sent bare. */
const twist = (x) => (typeof x === 'number' ? x * 2 + 1 : typeof x === 'string' ? `${x}!` : typeof x === 'boolean' ? !x : x);
/** Identity, but too slow for its result to travel bare. */
const slowIdentity = (x) => {
  const end = performance.now() + 0.05;
  while (performance.now() < end);
  return x;
};

/** When a future settled, in ms from `t0`. */
async function settledAt(future, t0) {
  await future.exception();
  return performance.now() - t0;
}

/**
 * @param {string} name
 * @param {(options?: number | object) => import('concurrent-futures').Executor} make
 */
export function workerResultsSuite(name, make) {
  test(`${name}: a result does not wait for a task that never settles after it`, { timeout: 30_000 }, async () => {
    const ex = make(1);
    try {
      const first = ex.submit(napThen, 50, 'first');
      const never = ex.submit(() => new Promise(() => {}));
      assert.equal(await within(3000, first.result(), 'the first result'), 'first');
      // The worker sends the first result before it starts the next task: it is running an instant later.
      await until(() => never.running(), 'the task after it started');
      assert.equal(never.cancel({ interrupt: true }), true);
      assert.equal(await within(10_000, ex.submit(identity, 'after').result()), 'after');
    } finally {
      await within(10_000, ex.shutdown({ cancelFutures: true }));
    }
  });

  test(`${name}: quick results arrive while a long synchronous task runs after them`, { timeout: 30_000 }, async () => {
    const ex = make(1);
    try {
      await ex.submit(identity, 'warm').result();
      // The same quick function many times first, so that the worker knows it is quick.
      await Promise.all(Array.from({ length: 50 }, (_, i) => ex.submit(identity, i).result()));
      const t0 = performance.now();
      const quick = Array.from({ length: 4 }, (_, i) => ex.submit(identity, i));
      const long = ex.submit(spin, 1500);
      const times = await within(10_000, Promise.all(quick.map((f) => settledAt(f, t0))));
      assert.ok(Math.max(...times) < 1000, `quick results came after ${times.map(Math.round)} ms, while a 1500 ms task ran`);
      assert.deepEqual(await Promise.all(quick.map((f) => f.result())), [0, 1, 2, 3]);
      assert.equal(await long.result(), 1500);
    } finally {
      await ex.shutdown();
    }
  });

  test(`${name}: wait(FIRST_COMPLETED) returns with a short task, not after long ones next to it`, { timeout: 30_000 }, async () => {
    const ex = make(2);
    try {
      await Promise.all([ex.submit(identity, 1).result(), ex.submit(identity, 2).result()]);
      const t0 = performance.now();
      const short = ex.submit(spin, 20);
      const long = Array.from({ length: 5 }, () => ex.submit(spin, 800));
      const { done } = await within(10_000, wait([short, ...long], { returnWhen: FIRST_COMPLETED }));
      const elapsed = performance.now() - t0;
      assert.ok(done.has(short), 'the short task is the first done');
      assert.ok(elapsed < 600, `wait returned after ${Math.round(elapsed)} ms`);
      await wait(long);
    } finally {
      await ex.shutdown();
    }
  });

  test(`${name}: one task at a time, functions and kinds of values mixed: each result is its own function's, exactly`, { timeout: 60_000 }, async () => {
    // The commonest round trip travels bare (a lone argument, a lone result): which function ran, and
    // what came back, must not depend on it.
    const values = [0, -0, NaN, Infinity, -1.5, 2 ** 53, '', 'text ✓', 'x'.repeat(100_000), true, false, null, undefined, 10n, { a: 1 }, [1, 2]];
    const ex = make(1);
    try {
      const fns = [identity, twist, identity, slowIdentity];
      let step = 0;
      for (let round = 0; round < 3; round++) {
        for (const value of values) {
          const fn = fns[step++ % fns.length];
          const got = await within(10_000, ex.submit(fn, value).result(), `${fn.name}(${String(value).slice(0, 20)})`);
          if (typeof value === 'object' && value !== null) assert.deepEqual(got, fn(value));
          else assert.ok(Object.is(got, fn(value)), `${fn.name}(${String(value).slice(0, 20)}) gave ${String(got).slice(0, 20)}`);
        }
      }
      // And in bursts, two functions interleaved.
      const burst = values.flatMap((v) => [ex.submit(twist, v), ex.submit(identity, v)]);
      const got = await within(10_000, Promise.all(burst.map((f) => f.result())));
      values.forEach((v, i) => {
        assert.deepEqual(got[2 * i], twist(v));
        assert.deepEqual(got[2 * i + 1], v);
      });
    } finally {
      await ex.shutdown();
    }
  });

  test(`${name}: errors with cyclic causes come back whole, and every later result lands on its own future`, { timeout: 30_000 }, async () => {
    const ex = make(1);
    try {
      const futures = [];
      for (let i = 0; i < 6; i++) {
        futures.push(ex.submit(cyclicThrow, `thrown ${i}`), ex.submit(identity, i), ex.submit(cyclicReturn, `returned ${i}`), ex.submit(identity, `s${i}`));
      }
      for (let i = 0; i < 6; i++) {
        const thrown = await within(10_000, futures[4 * i].exception());
        assert.ok(thrown instanceof Error);
        assert.equal(thrown.message, `thrown ${i}`);
        assert.equal(thrown.cause, thrown, 'the cycle is rebuilt');
        assert.equal(thrown.code, 'E_CYCLE');
        assert.equal(await futures[4 * i + 1].result(), i);
        const returned = await futures[4 * i + 2].result();
        assert.ok(returned instanceof TypeError);
        assert.equal(returned.message, `returned ${i}`);
        assert.equal(await futures[4 * i + 3].result(), `s${i}`);
      }
    } finally {
      await ex.shutdown();
    }
  });

  test(`${name}: hard-to-encode errors are the task's own: AggregateError, throwing getters, a revoked proxy`, { timeout: 30_000 }, async () => {
    const ex = make(1);
    try {
      const aggregate = ex.submit(() => {
        throw new AggregateError([new RangeError('one'), new Error('two', { cause: 'why' })], 'both');
      });
      const getter = ex.submit(() => {
        const e = new Error('has a bad getter');
        Object.defineProperty(e, 'bad', { enumerable: true, get() { throw new Error('no'); } });
        e.good = 1;
        throw e;
      });
      const proxy = ex.submit(() => {
        const { proxy, revoke } = Proxy.revocable(new Error('hidden'), {});
        revoke();
        throw proxy;
      });
      const fn = ex.submit(() => {
        throw { fn() {} };
      });
      const after = ex.submit(identity, 'after');
      const a = await within(10_000, aggregate.exception());
      assert.ok(a instanceof AggregateError);
      assert.equal(a.errors.length, 2);
      assert.ok(a.errors[0] instanceof RangeError);
      assert.equal(a.errors[1].cause, 'why');
      const g = await getter.exception();
      assert.equal(g.message, 'has a bad getter');
      assert.equal(g.good, 1);
      const p = await proxy.exception();
      assert.ok(p instanceof Error);
      assert.match(p.message, /cannot be read/);
      const f = await fn.exception();
      assert.match(f.fn, /^function fn \(cannot be copied from the worker\)$/, 'the thrown object, with what cannot be copied described');
      assert.equal(await after.result(), 'after');
    } finally {
      await ex.shutdown();
    }
  });

  test(`${name}: a crash fails only the task that was running; finished results are kept, unstarted tasks run elsewhere`, { timeout: 60_000 }, async () => {
    const ex = make(2);
    try {
      const futures = [];
      const expected = [];
      for (let i = 0; i < 120; i++) {
        if (i % 9 === 4) {
          futures.push(ex.submit((code) => process.exit(code), 3));
          expected.push('crash');
        } else if (i % 3 === 0) {
          futures.push(ex.submit(napThen, 2, i));
          expected.push(i);
        } else {
          futures.push(ex.submit(identity, i));
          expected.push(i);
        }
      }
      await within(45_000, wait(futures));
      for (let i = 0; i < futures.length; i++) {
        if (expected[i] === 'crash') {
          assert.ok((await futures[i].exception()) instanceof BrokenExecutorError, `task ${i} crashed its worker`);
        } else {
          assert.equal(futures[i].exception instanceof Function && (await futures[i].exception()), undefined, `task ${i} did not crash`);
          assert.equal(await futures[i].result(), expected[i]);
        }
      }
    } finally {
      await ex.shutdown();
    }
  });

  test(`${name}: an error thrown after its task ended is reported and fails no task`, { timeout: 30_000 }, async () => {
    const ex = make(1);
    try {
      const text = await captureStderr(async () => {
        const first = ex.submit(() => {
          setTimeout(() => {
            throw new Error('leftover timer');
          }, 30);
          return 'first';
        });
        assert.equal(await first.result(), 'first');
        const second = ex.submit(napThen, 200, 'second');
        assert.equal(await within(10_000, second.result()), 'second');
        assert.equal(await ex.submit(identity, 'third').result(), 'third');
      });
      if (name === 'ThreadPoolExecutor') assert.match(text, /leftover timer/);
      assert.equal(ex.stats().failed, 0);
    } finally {
      await ex.shutdown();
    }
  });

  test(`${name}: a worker that cannot finish starting breaks the pool; every future settles, shutdown resolves`, { timeout: 30_000 }, async (t) => {
    let ex;
    await captureStderr(async () => {
      ex = make({ maxWorkers: 2, initializer: () => process.exit(5) });
      t.after(() => within(10_000, ex.shutdown()));
      const futures = Array.from({ length: 4 }, (_, i) => ex.submit(identity, i));
      for (const f of futures) {
        const e = await within(10_000, f.exception());
        assert.ok(e instanceof BrokenExecutorError);
        assert.match(e.message, /exited with code 5 while running its initializer/);
        assert.equal(e.exitCode, 5);
      }
      assert.throws(() => ex.submit(identity, 1), BrokenExecutorError);
      await within(10_000, ex.shutdown());
    });
  });
}
