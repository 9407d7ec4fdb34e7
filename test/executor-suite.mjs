// The executor tests every executor must pass (CPython's shared ExecutorTest,
// map and shutdown tests, with this package's precisions). Tasks here are
// self-contained so that worker executors can run them too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  wait, asCompleted, CancelledError, TimeoutError, ExecutorShutdownError, FIRST_COMPLETED,
} from 'concurrent-futures';
import { sleep, within, until, use, napThen } from './helpers.mjs';
import { controlsSuite } from './controls-suite.mjs';

export const square = (n) => n * n;
export const pair = (a, b) => [a, b];
export const napOrFail = async (n, bad) => {
  if (n === bad) throw new RangeError(`bad item ${n}`);
  await new Promise((resolve) => setTimeout(resolve, 30));
  return n;
};
export const failIf = async (n, bad) => {
  if (n === bad) throw new RangeError(`bad item ${n}`);
  return n;
};
/** What a task sees as `this` when called as a plain function. */
export const receiver = function () {
  return this === undefined ? 'undefined' : `${typeof this} ${String(this)}`;
};

/**
 * @param {string} name
 * @param {(maxWorkers?: number) => import('concurrent-futures').Executor} make
 * @param {{ importLine: string, construct: (n: number) => string }} child how a child script builds one
 * @param {{ fns?: Record<string, Function>, skip?: Record<string, string> }} [options] the suite's tasks in
 *   another form (for executors that run only named tasks), and tests that cannot apply, each with its reason
 */
export function executorSuite(name, make, child, options = {}) {
  const fns = { square, pair, napThen, napOrFail, failIf, receiver, ...options.fns };
  const skip = options.skip ?? {};
  controlsSuite(name, make, skip);
  const t = (title, fn) => test(`${name}: ${title}`, skip[title] ? { skip: skip[title] } : { timeout: 30_000 }, fn);
  // Node 20 has no \`await using\`: each test shuts its executor down when it ends.

  t('submit returns a future of the result', async (ctx) => {
    const ex = use(ctx, make(2));
    const f = ex.submit(fns.square, 8);
    assert.equal(await f.result(), 64);
    assert.equal(f.done(), true);
  });

  t('submit of a failing task fails its future with the task\'s error', async (ctx) => {
    const ex = use(ctx, make(2));
    const f = ex.submit(fns.failIf, 3, 3);
    const error = await f.exception();
    assert.ok(error instanceof RangeError);
    assert.equal(error.message, 'bad item 3');
    await assert.rejects(f.result(), RangeError);
  });

  t('a task is called with no receiver: its `this` is undefined, as in a plain call', async (ctx) => {
    const ex = use(ctx, make(2));
    assert.equal(await ex.submit(fns.receiver).result(), 'undefined');
    const out = [];
    for await (const v of ex.map(fns.receiver, [1, 2, 3], { chunksize: 2 })) out.push(v);
    assert.deepEqual(out, ['undefined', 'undefined', 'undefined']);
  });

  t('map yields in input order, zip-style over several iterables', async (ctx) => {
    const ex = use(ctx, make(3));
    const out = [];
    for await (const r of ex.map(fns.pair, ['1', '2', '3'], ['a', 'b', 'c', 'd'])) out.push(r);
    assert.deepEqual(out, [['1', 'a'], ['2', 'b'], ['3', 'c']]);
  });

  t('map keeps input order when later items finish first', async (ctx) => {
    const ex = use(ctx, make(4));
    const out = [];
    for await (const r of ex.map(fns.napThen, [80, 10, 40, 0], ['a', 'b', 'c', 'd'])) out.push(r);
    assert.deepEqual(out, ['a', 'b', 'c', 'd']);
  });

  t('map accepts async iterables', async (ctx) => {
    const ex = use(ctx, make(2));
    async function* numbers() {
      for (let i = 0; i < 5; i++) {
        await sleep(1);
        yield i;
      }
    }
    const out = [];
    for await (const r of ex.map(fns.square, numbers())) out.push(r);
    assert.deepEqual(out, [0, 1, 4, 9, 16]);
  });

  t('map submits at the call, before the first next()', async (ctx) => {
    const ex = use(ctx, make(2));
    const it = ex.map(fns.square, [1, 2, 3, 4]);
    await until(() => ex.stats().completed >= 4, 'tasks started without next()');
    const out = [];
    for await (const r of it) out.push(r);
    assert.deepEqual(out, [1, 4, 9, 16]);
  });

  t('map of nothing yields nothing', async (ctx) => {
    const ex = use(ctx, make(1));
    const out = [];
    for await (const r of ex.map(fns.square, [])) out.push(r);
    assert.deepEqual(out, []);
  });

  t('map throws a task\'s error at its position and cancels what has not started', async (ctx) => {
    const ex = use(ctx, make(1));
    const out = [];
    await assert.rejects(
      (async () => {
        for await (const r of ex.map(fns.napOrFail, [0, 1, 2, 3, 4, 5, 6, 7], Array(8).fill(2))) out.push(r);
      })(),
      /bad item 2/,
    );
    assert.deepEqual(out, [0, 1]);
    await ex.shutdown();
    const s = ex.stats();
    assert.equal(s.completed + s.cancelled, 8);
    assert.ok(s.cancelled >= 3, `cancelled ${s.cancelled}`);
  });

  t('leaving map early cancels what has not started', async (ctx) => {
    const ex = use(ctx, make(1));
    for await (const r of ex.map(fns.napThen, Array(10).fill(20), Array.from({ length: 10 }, (_, i) => i))) {
      assert.equal(r, 0);
      break;
    }
    await ex.shutdown();
    const s = ex.stats();
    assert.equal(s.completed + s.cancelled, 10);
    // Pools that send tasks ahead count those as started (the process pool, as CPython's).
    assert.ok(s.cancelled >= 5, `cancelled ${s.cancelled}`);
  });

  t('map timeout counts from the call', async (ctx) => {
    const ex = use(ctx, make(2));
    // Generous enough for a child process to start, short of the slow task.
    const it = ex.map(fns.napThen, [5, 3000], ['fast', 'slow'], { timeout: 1500 });
    assert.deepEqual(await it.next(), { value: 'fast', done: false });
    await assert.rejects(it.next(), TimeoutError);
    assert.deepEqual(await it.next(), { value: undefined, done: true });
    await ex.shutdown({ cancelFutures: true });
  });

  t('map timeout also covers an item that has not started yet', async (ctx) => {
    const ex = use(ctx, make(1));
    const blocker = ex.submit(fns.napThen, 1000, 'blocker');
    const it = ex.map(fns.napThen, [5], ['late'], { timeout: 300 });
    await assert.rejects(it.next(), TimeoutError);
    assert.deepEqual(await it.next(), { value: undefined, done: true });
    assert.equal(await blocker.result(), 'blocker');
  });

  t('map with no iterables yields nothing, as zip() of nothing', async (ctx) => {
    const ex = use(ctx, make(1));
    const out = [];
    for await (const r of ex.map(() => 1)) out.push(r);
    assert.deepEqual(out, []);
  });

  t('shutdown with cancelFutures during map: what started is yielded, then CancelledError', async (ctx) => {
    const ex = use(ctx, make(1));
    const it = ex.map(fns.napThen, [100, 100, 100, 100], [0, 1, 2, 3]);
    await until(() => ex.stats().running > 0, 'the first item to start');
    await ex.shutdown({ cancelFutures: true });
    const out = [];
    await assert.rejects(
      (async () => {
        for await (const r of it) out.push(r);
      })(),
      CancelledError,
    );
    assert.ok(out.length >= 1 && out.length < 4, `yielded ${out}`);
    assert.deepEqual(out, [0, 1, 2, 3].slice(0, out.length));
    const s = ex.stats();
    assert.equal(s.completed + s.cancelled, 4);
  });

  t('map with buffersize reads an infinite input lazily', async (ctx) => {
    const ex = use(ctx, make(2));
    let read = 0;
    function* naturals() {
      for (let i = 0; ; i++) {
        read++;
        yield i;
      }
    }
    const out = [];
    for await (const r of ex.map(fns.square, naturals(), { buffersize: 4 })) {
      out.push(r);
      if (out.length === 20) break;
    }
    assert.deepEqual(out, Array.from({ length: 20 }, (_, i) => i * i));
    assert.ok(read <= 20 + 5, `read ${read} items for 20 results`);
  });

  t('map validates its function, chunksize and buffersize at the call, with Python\'s texts', async (ctx) => {
    const ex = use(ctx, make(1));
    assert.throws(() => ex.map(fns.square, [1], { chunksize: 0 }), (e) => e instanceof RangeError && e.message === 'chunksize must be >= 1.');
    assert.throws(() => ex.map(fns.square, [1], { buffersize: 0 }), (e) => e instanceof RangeError && e.message === 'buffersize must be undefined or > 0');
    assert.throws(() => ex.map(fns.square, [1], { buffersize: 1.5 }), TypeError);
    assert.throws(() => ex.map(fns.square, [1], 5), /must be an iterable/);
    for (const input of [[1], []]) {
      assert.throws(() => ex.map(5, input), (e) => e instanceof TypeError && e.message === 'map() expects a function, got number 5');
    }
  });

  t('map with chunksize keeps order and throws a failing item at its own position', async (ctx) => {
    const ex = use(ctx, make(2));
    const items = Array.from({ length: 50 }, (_, i) => i);
    const out = [];
    for await (const r of ex.map(fns.square, items, { chunksize: 7 })) out.push(r);
    assert.deepEqual(out, items.map((i) => i * i));
    const got = [];
    await assert.rejects(
      (async () => {
        for await (const r of ex.map(fns.failIf, items, Array(50).fill(10), { chunksize: 4 })) got.push(r);
      })(),
      /bad item 10/,
    );
    assert.deepEqual(got, items.slice(0, 10));
  });

  t('submit after shutdown throws ExecutorShutdownError', async (ctx) => {
    const ex = use(ctx, make(1));
    await ex.shutdown();
    assert.throws(() => ex.submit(fns.square, 2), (e) => e instanceof ExecutorShutdownError && e.message === 'cannot schedule new futures after shutdown');
    assert.throws(() => ex.map(fns.square, [1]), ExecutorShutdownError);
  });

  t('shutdown is idempotent and waits for every task', async (ctx) => {
    const ex = use(ctx, make(2));
    const fs = [1, 2, 3, 4, 5].map((i) => ex.submit(fns.napThen, 20, i));
    await ex.shutdown();
    await ex.shutdown();
    await ex.shutdown({ wait: false });
    assert.ok(fs.every((f) => f.done() && !f.cancelled()));
  });

  t('shutdown({ cancelFutures: true }) cancels what has not started', async (ctx) => {
    const ex = use(ctx, make(1));
    const fs = Array.from({ length: 6 }, (_, i) => ex.submit(fns.napThen, 50, i));
    await until(() => fs[0].running(), 'the first task to start');
    await ex.shutdown({ cancelFutures: true });
    assert.equal(fs[0].cancelled(), false);
    assert.equal(await fs[0].result(), 0);
    assert.ok(fs.slice(2).every((f) => f.cancelled()));
    assert.ok(ex.stats().cancelled >= 4);
  });

  t('shutdown({ wait: false, cancelFutures: true }) leaves no future pending forever (seed pattern 6)', async (ctx) => {
    const ex = use(ctx, make(2));
    const fs = Array.from({ length: 10 }, (_, i) => ex.submit(fns.napThen, 30 + i * 5, i));
    const { done } = await within(5000, wait(fs, { returnWhen: FIRST_COMPLETED }));
    assert.ok(done.size >= 1);
    await ex.shutdown({ wait: false, cancelFutures: true });
    const all = await within(5000, wait(fs), 'every future ends');
    assert.equal(all.notDone.size, 0);
    await ex.shutdown();
  });

  t('Symbol.asyncDispose (await using) shuts down and waits', async (ctx) => {
    const ex = use(ctx, make(1));
    const f = ex.submit(fns.napThen, 30, 'x');
    await ex[Symbol.asyncDispose]();
    assert.equal(f.done(), true);
    assert.throws(() => ex.submit(fns.square, 1), ExecutorShutdownError);
    assert.equal(await f.result(0), 'x');
  });

  t('stats() counts queued, running, completed, failed and cancelled', async (ctx) => {
    const ex = use(ctx, make(1));
    const first = ex.submit(fns.napThen, 100, 1);
    const second = ex.submit(fns.failIf, 1, 1);
    const third = ex.submit(fns.square, 3);
    assert.equal(third.cancel(), true);
    let s = ex.stats();
    assert.equal(s.queued + s.running, 2);
    assert.equal(s.cancelled, 1);
    await until(() => first.running(), 'the first task to start', 5000);
    s = ex.stats();
    // A process pool's task sent ahead to its child is running, as in CPython: stats() agrees with running().
    assert.equal(s.running, [first, second].filter((f) => f.running()).length);
    assert.equal(s.queued, 2 - s.running);
    assert.ok(s.running >= 1);
    await wait([first, second]);
    await ex.shutdown();
    s = ex.stats();
    assert.deepEqual({ queued: s.queued, running: s.running, completed: s.completed, failed: s.failed, cancelled: s.cancelled },
      { queued: 0, running: 0, completed: 2, failed: 1, cancelled: 1 });
    assert.equal(typeof s.workers, 'number');
    assert.equal(typeof s.idleWorkers, 'number');
  });

  t('cancel() of a queued future succeeds and its task never runs', async (ctx) => {
    const ex = use(ctx, make(1));
    const blocker = ex.submit(fns.napThen, 60, 'first');
    const others = [1, 2, 3, 4].map((i) => ex.submit(fns.napThen, 0, i));
    const last = others[3];
    assert.equal(last.cancel(), true);
    assert.equal(last.cancel(), true);
    await assert.rejects(last.result(), CancelledError);
    assert.equal(await blocker.result(), 'first');
    await wait(others);
    await ex.shutdown();
    assert.equal(ex.stats().completed, 4);
    assert.equal(ex.stats().cancelled, 1);
  });

  t('asCompleted over the executor\'s futures', async (ctx) => {
    const ex = use(ctx, make(4));
    const fs = [40, 0, 20].map((ms, i) => ex.submit(fns.napThen, ms, i));
    const order = [];
    for await (const f of asCompleted(fs)) order.push(await f.result());
    assert.deepEqual(order.sort(), [0, 1, 2]);
  });

  t('maxWorkers must be a positive integer', () => {
    assert.throws(() => make(0), (e) => e instanceof RangeError && e.message === 'maxWorkers must be greater than 0');
    assert.throws(() => make(-1), RangeError);
    assert.throws(() => make(1.5), RangeError);
  });

  t('submit refuses what is not a function', (ctx) => {
    const ex = use(ctx, make(1));
    assert.throws(() => ex.submit(42), TypeError);
    assert.throws(() => ex.submit(null), TypeError);
    return ex.shutdown();
  });

  t('an idle executor lets the process exit; queued work keeps it alive until done', () => {
    const script = `
      ${child.importLine}
      const ex = ${child.construct(1)};
      const f = ex.submit(async (ms) => { await new Promise((r) => setTimeout(r, ms)); return 'done'; }, 200);
      f.addDoneCallback((fut) => fut.result().then((v) => console.log(v)));
      ex.submit((x) => x, 1);
    `;
    const t0 = performance.now();
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(out.status, 0, out.stderr);
    assert.equal(out.stdout.trim(), 'done');
    assert.ok(performance.now() - t0 < 15_000);
    const idle = spawnSync(process.execPath, ['--input-type=module', '-e', `${child.importLine}\nconst ex = ${child.construct(2)};\nawait ex.submit((x) => x, 1).result();\nconsole.log('idle');`], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(idle.status, 0, idle.stderr);
    assert.equal(idle.stdout.trim(), 'idle');
  });
}
