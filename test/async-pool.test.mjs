import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { AsyncPoolExecutor, taskSignal, CancelledError, wait } from 'concurrent-futures';
import { executorSuite } from './executor-suite.mjs';
import { sleep, within, until, use } from './helpers.mjs';

executorSuite('AsyncPoolExecutor', (n) => new AsyncPoolExecutor(n), {
  importLine: "import { AsyncPoolExecutor } from 'concurrent-futures';",
  construct: (n) => `new AsyncPoolExecutor(${n})`,
});

/** Every test gets a timeout and its executors shut down when it ends, passed or not. */
const t = (title, fn) => test(title, { timeout: 20_000 }, fn);

/** A promise the test resolves when it chooses: a task awaiting it holds its slot until then. */
function gate() {
  let open;
  const promise = new Promise((resolve) => (open = resolve));
  return { promise, open };
}

t('default maxWorkers is Python\'s thread pool default', (ctx) => {
  assert.equal(use(ctx, new AsyncPoolExecutor()).maxWorkers, Math.min(32, availableParallelism() + 4));
  assert.equal(use(ctx, new AsyncPoolExecutor({ maxWorkers: 3 })).maxWorkers, 3);
  assert.equal(use(ctx, new AsyncPoolExecutor({})).maxWorkers, Math.min(32, availableParallelism() + 4));
});

t('at most maxWorkers tasks run at once', async (ctx) => {
  const ex = use(ctx, new AsyncPoolExecutor(3));
  let now = 0;
  let peak = 0;
  const task = async () => {
    now++;
    peak = Math.max(peak, now);
    await sleep(5);
    now--;
  };
  await wait(Array.from({ length: 30 }, () => ex.submit(task)));
  assert.equal(peak, 3);
});

t('closures, sync and async functions all work', async (ctx) => {
  const ex = use(ctx, new AsyncPoolExecutor(2));
  const captured = { base: 10 };
  assert.equal(await ex.submit((n) => captured.base + n, 5).result(), 15);
  assert.equal(await ex.submit(async (n) => captured.base * n, 5).result(), 50);
  const thenable = { then: (resolve) => resolve('thenable') };
  assert.equal(await ex.submit(() => thenable).result(), 'thenable');
  await assert.rejects(ex.submit(() => { throw new SyntaxError('sync throw'); }).result(), SyntaxError);
});

t('a task never starts inside submit()', async (ctx) => {
  const ex = use(ctx, new AsyncPoolExecutor(2));
  let started = false;
  const f = ex.submit(() => { started = true; });
  assert.equal(started, false);
  assert.equal(f.running(), false);
  assert.equal(f.cancel(), true);
  // Nothing to wait for: a cancelled task must not start later either.
  await sleep(5);
  assert.equal(started, false);
});

t('running() is true while the task runs', async (ctx) => {
  const ex = use(ctx, new AsyncPoolExecutor(1));
  const hold = gate();
  let started = false;
  let seen;
  const f = ex.submit(async () => {
    started = true;
    await hold.promise;
  });
  ex.submit(() => { seen = f.done(); });
  await until(() => started, 'the task to start');
  assert.equal(f.running(), true);
  assert.equal(f.cancel(), false);
  hold.open();
  await f.result();
  await ex.shutdown();
  assert.equal(seen, true);
});

t('taskSignal() is the running task\'s signal, across awaits', async (ctx) => {
  const ex = use(ctx, new AsyncPoolExecutor(2));
  const f = ex.submit(async () => {
    const before = taskSignal();
    await sleep(1);
    return before === taskSignal() && !before.aborted;
  });
  assert.equal(await f.result(), true);
});

t('taskSignal() outside a task throws a clear error', () => {
  assert.throws(() => taskSignal(), /outside a running task/);
});

t('cancel({ interrupt: true }) aborts a running task\'s signal and cancels its future', async (ctx) => {
  const ex = use(ctx, new AsyncPoolExecutor(1));
  const hold = gate();
  let started = false;
  let reason;
  const f = ex.submit(async () => {
    started = true;
    const signal = taskSignal();
    await new Promise((resolve) => signal.addEventListener('abort', resolve));
    reason = signal.reason;
    await hold.promise; // still holding the slot after the abort
    return 'late';
  });
  const next = ex.submit(() => 'next');
  await until(() => started, 'the task to start');
  assert.equal(f.running(), true);
  assert.equal(f.cancel({ interrupt: true }), true);
  assert.equal(f.cancelled(), true);
  await assert.rejects(f.result(), CancelledError);
  await until(() => reason !== undefined, 'the task to see its signal abort');
  assert.ok(reason instanceof CancelledError);
  // The slot is freed only when the task really ends.
  assert.equal(next.running() || next.done(), false);
  assert.equal(ex.stats().idleWorkers, 0);
  hold.open();
  assert.equal(await within(2000, next.result()), 'next');
  assert.equal(f.cancelled(), true); // the late result was discarded
  await ex.shutdown();
  const s = ex.stats();
  assert.equal(s.cancelled, 1);
  assert.equal(s.completed, 1);
});

t('an interrupt before the task asks for its signal still reaches it', async (ctx) => {
  const ex = use(ctx, new AsyncPoolExecutor(1));
  const hold = gate();
  let started = false;
  let aborted;
  const f = ex.submit(async () => {
    started = true;
    await hold.promise;
    aborted = taskSignal().aborted;
  });
  await until(() => started, 'the task to start');
  f.cancel({ interrupt: true });
  hold.open();
  await ex.shutdown();
  assert.equal(aborted, true);
});

t('shutdown({ wait: false, cancelFutures: true }) aborts running tasks\' signals', async (ctx) => {
  const ex = use(ctx, new AsyncPoolExecutor(2));
  const f = ex.submit(async () => {
    const signal = taskSignal();
    await new Promise((resolve) => signal.addEventListener('abort', resolve));
    throw signal.reason;
  });
  await until(() => f.running(), 'the task to start');
  await ex.shutdown({ wait: false, cancelFutures: true });
  await assert.rejects(within(2000, f.result()), CancelledError);
});

t('stats(): workers is maxWorkers and idleWorkers the free slots', async (ctx) => {
  const ex = use(ctx, new AsyncPoolExecutor(4));
  const hold = gate();
  const f = ex.submit(() => hold.promise);
  await until(() => f.running(), 'the task to start');
  const s = ex.stats();
  assert.equal(s.workers, 4);
  assert.equal(s.idleWorkers, 3);
  assert.equal(s.running, 1);
  hold.open();
});

t('map with an infinite input and buffersize keeps memory flat', async (ctx) => {
  const ex = use(ctx, new AsyncPoolExecutor(8));
  function* forever() {
    for (let i = 0; ; i++) yield i;
  }
  let n = 0;
  let outstanding = 0;
  for await (const r of ex.map((x) => x, forever(), { buffersize: 16 })) {
    assert.equal(r, n);
    n++;
    const s = ex.stats();
    outstanding = Math.max(outstanding, s.queued + s.running);
    if (n === 200_000) break;
  }
  assert.ok(outstanding <= 17, `outstanding ${outstanding}`);
});

t('map items queue in order with submits: FIFO across both', async (ctx) => {
  const ex = use(ctx, new AsyncPoolExecutor(1));
  const started = [];
  const record = async (x) => {
    started.push(x);
    await sleep(1);
    return x;
  };
  const before = ex.submit(record, 'before');
  const it = ex.map(record, [1, 2, 3]);
  const after = ex.submit(record, 'after');
  const out = [];
  for await (const r of it) out.push(r);
  await wait([before, after]);
  assert.deepEqual(out, [1, 2, 3]);
  assert.deepEqual(started, ['before', 1, 2, 3, 'after']);
});

t('stats() counts map items as queued, running, completed and cancelled', async (ctx) => {
  const ex = use(ctx, new AsyncPoolExecutor(2));
  const hold = gate();
  const it = ex.map(async (ms) => {
    await hold.promise;
    await sleep(ms);
  }, Array(10).fill(20));
  assert.deepEqual([ex.stats().queued, ex.stats().running], [10, 0]);
  await until(() => ex.stats().running === 2, 'two items to start');
  assert.deepEqual([ex.stats().queued, ex.stats().running], [8, 2]);
  hold.open();
  await it.next();
  await it.return();
  const s = ex.stats();
  assert.equal(s.queued, 0);
  await ex.shutdown();
  const end = ex.stats();
  assert.equal(end.running, 0);
  assert.equal(end.completed + end.cancelled, 10);
  assert.ok(end.cancelled >= 6, `cancelled ${end.cancelled}`);
});

t('an input that throws while map reads it eagerly: the error at the call, nothing left queued', async (ctx) => {
  const ex = use(ctx, new AsyncPoolExecutor(2));
  function* failing() {
    yield 1;
    yield 2;
    throw new RangeError('input broke');
  }
  assert.throws(() => ex.map((x) => x, failing()), /input broke/);
  await ex.shutdown();
  const s = ex.stats();
  assert.equal(s.queued + s.running, 0);
  assert.equal(s.cancelled, 2);
});

t('taskSignal() works inside map items', async (ctx) => {
  const ex = use(ctx, new AsyncPoolExecutor(2));
  const out = [];
  for await (const aborted of ex.map(async (x) => {
    await sleep(1);
    return taskSignal().aborted;
  }, [1, 2, 3])) out.push(aborted);
  assert.deepEqual(out, [false, false, false]);
});

t('shutdown({ wait: false, cancelFutures: true }) aborts the signals of running map items', async (ctx) => {
  const ex = use(ctx, new AsyncPoolExecutor(2));
  const it = ex.map(async () => {
    const signal = taskSignal();
    await new Promise((resolve) => signal.addEventListener('abort', resolve));
    throw signal.reason;
  }, [1, 2, 3, 4]);
  await until(() => ex.stats().running === 2, 'two items to start');
  assert.equal(ex.stats().running, 2);
  await ex.shutdown({ wait: false, cancelFutures: true });
  await assert.rejects(within(2000, it.next()), (e) => e instanceof CancelledError && /shut down/.test(e.message));
  assert.deepEqual(await it.next(), { value: undefined, done: true });
  const s = ex.stats();
  assert.deepEqual([s.running, s.failed, s.cancelled], [0, 2, 2]);
});

test('new AsyncPoolExecutor(1e9) allocates nothing per slot up front', { timeout: 10_000 }, async () => {
  const ex = new AsyncPoolExecutor(1e9);
  try {
    assert.equal(ex.maxWorkers, 1e9);
    const futures = Array.from({ length: 100 }, (_, i) => ex.submit(async (x) => x, i));
    assert.equal((await Promise.all(futures.map((f) => f.result()))).length, 100);
    assert.equal(ex.stats().idleWorkers, 1e9);
  } finally {
    await ex.shutdown();
  }
});

test('shutdown() awaited inside one of its own tasks rejects at once; shutdown({ wait: false }) there works', { timeout: 10_000 }, async () => {
  const ex = new AsyncPoolExecutor(2);
  const inside = ex.submit(async () => {
    await ex.shutdown();
  });
  const error = await within(5000, inside.exception(), 'the task awaiting shutdown');
  assert.match(String(error?.message), /shutdown\(\) was awaited from one of this executor's own tasks/);
  const item = ex.map(async () => {
    await ex.shutdown({ wait: false });
    return 'ok';
  }, [1]);
  assert.deepEqual(await within(5000, item.next()), { value: 'ok', done: false });
  await within(5000, ex.shutdown());
});
