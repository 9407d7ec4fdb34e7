// Per-task options (executor.withOptions) and progress from tasks, on every executor:
// executor-suite.mjs runs this for each. The tasks are defineTasks functions
// (fixtures/control-tasks.mjs), so that worker pools and BullMQ workers run them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getEventListeners } from 'node:events';
import { CancelledError, ExecutorShutdownError, TimeoutError, reportProgress } from 'concurrent-futures';
import { controls } from './fixtures/control-tasks.mjs';
import { sleep, within, until } from './helpers.mjs';

/** A folder for the tries a task counts, removed when the test ends. */
function counterDir(ctx) {
  const dir = mkdtempSync(join(tmpdir(), 'cf-controls-'));
  ctx.after(() => rmSync(dir, { recursive: true, force: true }));
  return (name) => join(dir, name);
}

function count(path) {
  try {
    return Number(readFileSync(path, 'utf8'));
  } catch {
    return 0;
  }
}

/**
 * @param {string} name
 * @param {(maxWorkers: number) => import('concurrent-futures').Executor} make
 * @param {Record<string, string>} skip tests that cannot apply, each with its reason
 */
export function controlsSuite(name, make, skip = {}) {
  const t = (title, fn) => test(`${name}: ${title}`, skip[title] ? { skip: skip[title] } : { timeout: 30_000 }, fn);
  const use = (ctx, ex) => {
    ctx.after(() => within(15_000, ex.shutdown({ cancelFutures: true }), 'shutdown after the test'));
    return ex;
  };

  t('withOptions priority: queued tasks run highest first, FIFO within one priority', async (ctx) => {
    const ex = use(ctx, make(1));
    const blocker = ex.submit(controls.nap, 300, 'blocker');
    await until(() => blocker.running(), 'the blocker to start');
    const order = [];
    const futures = [[0, 'a'], [1, 'b'], [-1, 'c'], [5, 'd'], [1, 'e'], [0, 'f']].map(([priority, label]) => {
      const f = ex.withOptions({ priority }).submit(controls.nap, 1, label);
      f.addDoneCallback(() => order.push(label));
      return f;
    });
    await blocker.result();
    for (const f of futures) await f.result();
    assert.deepEqual(order, ['d', 'b', 'e', 'a', 'f', 'c']);
  });

  t('withOptions timeout counts from the start, then fails the future with TimeoutError (not cancelled)', async (ctx) => {
    const ex = use(ctx, make(1));
    const blocker = ex.submit(controls.nap, 500, 'blocker');
    // Queued behind 500 ms of work: a timeout counted from submit would end it.
    const inTime = ex.withOptions({ timeout: 400 }).submit(controls.nap, 50, 'in time');
    const late = ex.withOptions({ timeout: 150 }).submit(controls.nap, 10_000, 'late');
    assert.equal(await blocker.result(), 'blocker');
    assert.equal(await inTime.result(), 'in time');
    const t0 = performance.now();
    const error = await late.exception();
    const waited = performance.now() - t0;
    assert.ok(error instanceof TimeoutError, `got ${error}`);
    assert.match(error.message, /timed out after 150 ms/);
    assert.equal(late.cancelled(), false);
    assert.ok(waited < 5000, `the timeout took ${waited} ms`);
    await assert.rejects(late.result(), TimeoutError);
    await until(() => ex.stats().failed === 1 && ex.stats().completed === 3, 'the stats to count the timeout as a failure');
    assert.equal(ex.stats().cancelled, 0);
  });

  t('withOptions retries: a throwing task runs again after a doubling backoff; the future fails with the last error', async (ctx) => {
    const ex = use(ctx, make(2));
    const file = counterDir(ctx);
    const t0 = performance.now();
    assert.equal(await ex.withOptions({ retries: { attempts: 2, backoff: 40 } }).submit(controls.flaky, file('a'), 2).result(), 3);
    const took = performance.now() - t0;
    assert.ok(took >= 110, `two retries waited 40 + 80 ms, took ${took} ms`);
    const error = await ex.withOptions({ retries: 1 }).submit(controls.flaky, file('b'), 5).exception();
    assert.ok(error instanceof RangeError, `got ${error}`);
    assert.equal(error.message, 'try 2 failed');
    assert.equal(count(file('b')), 2);
    // Without retries a failure is final.
    await assert.rejects(ex.submit(controls.flaky, file('c'), 1).result(), /try 1 failed/);
    const s = ex.stats();
    assert.equal(s.completed, 3);
    assert.equal(s.failed, 2);
  });

  t('withOptions retries: a backoff past Node\'s timer limit (2^31 ms) waits, rather than retrying at once', async (ctx) => {
    const ex = use(ctx, make(1));
    const file = counterDir(ctx);
    const f = ex.withOptions({ retries: { attempts: 3, backoff: 2 ** 31 } }).submit(controls.flaky, file('l'), 9);
    await until(() => count(file('l')) === 1, 'the first try');
    await sleep(300);
    assert.equal(count(file('l')), 1);
    assert.equal(f.done(), false);
    assert.equal(f.cancel(), true);
  });

  t('withOptions retries never run a cancelled task again', async (ctx) => {
    const ex = use(ctx, make(1));
    const file = counterDir(ctx);
    const f = ex.withOptions({ retries: 3 }).submit(controls.tally, file('t'), 300);
    await until(() => count(file('t')) === 1 && f.running(), 'the task to start');
    assert.equal(f.cancel({ interrupt: true }), true);
    // Long enough for the interrupted try to throw and for any retry to start.
    await sleep(700);
    assert.equal(count(file('t')), 1);
    assert.equal(f.cancelled(), true);
  });

  t('withOptions signal: aborting it cancels, interrupting, each task of the view', async (ctx) => {
    const ex = use(ctx, make(2));
    const controller = new AbortController();
    const view = ex.withOptions({ signal: controller.signal });
    const running = view.submit(controls.nap, 10_000, 'running');
    await until(() => running.running(), 'the task to start');
    controller.abort();
    assert.equal(running.cancelled(), true);
    await assert.rejects(running.result(), CancelledError);
    const after = view.submit(controls.nap, 1, 'after');
    assert.equal(after.cancelled(), true);
    assert.equal(await ex.submit(controls.nap, 1, 'other').result(), 'other');
  });

  t('withOptions signal shared by many tasks and views: no listener pile-up (no MaxListenersExceededWarning), none left once they are done', async (ctx) => {
    const ex = use(ctx, make(2));
    const warnings = [];
    const onWarning = (w) => warnings.push(w.name);
    process.on('warning', onWarning);
    ctx.after(() => process.off('warning', onWarning));
    const controller = new AbortController();
    const view = ex.withOptions({ signal: controller.signal });
    const futures = Array.from({ length: 15 }, (_, i) => view.submit(controls.nap, 10_000, i));
    for (let i = 0; i < 15; i++) futures.push(ex.withOptions({ signal: controller.signal, priority: 1 }).submit(controls.nap, 10_000, i));
    assert.ok(getEventListeners(controller.signal, 'abort').length <= 1, `${getEventListeners(controller.signal, 'abort').length} abort listeners`);
    controller.abort();
    assert.ok(futures.every((f) => f.cancelled()));
    const other = new AbortController();
    const done = Array.from({ length: 12 }, (_, i) => ex.withOptions({ signal: other.signal }).submit(controls.nap, 1, i));
    assert.deepEqual(await Promise.all(done.map((f) => f.result())), Array.from({ length: 12 }, (_, i) => i));
    assert.equal(getEventListeners(other.signal, 'abort').length, 0);
    await sleep(10); // a warning is emitted on a later tick
    assert.deepEqual(warnings.filter((w) => w === 'MaxListenersExceededWarning'), []);
  });

  t('withOptions views nest (the latest wins per key), map through them, and share the executor\'s stats and shutdown', async (ctx) => {
    const ex = use(ctx, make(2));
    assert.equal(await ex.withOptions({ timeout: 50 }).withOptions({ timeout: 5000 }).submit(controls.nap, 200, 'kept').result(), 'kept');
    await assert.rejects(ex.withOptions({ timeout: 5000, priority: 1 }).withOptions({ timeout: 50 }).submit(controls.nap, 5000, 'x').result(), TimeoutError);
    const view = ex.withOptions({ priority: 2, retries: 1 });
    const out = [];
    for await (const v of view.map(controls.nap, [5, 0, 1], ['a', 'b', 'c'])) out.push(v);
    assert.deepEqual(out, ['a', 'b', 'c']);
    await until(() => ex.stats().running === 0, 'the executor to be idle');
    // utilization is over a window that ends at the call: the rest is the same snapshot.
    const { utilization: _a, ...seen } = view.stats();
    const { utilization: _b, ...own } = ex.stats();
    assert.deepEqual(seen, own);
    await view.shutdown();
    assert.throws(() => ex.submit(controls.nap, 1, 1), ExecutorShutdownError);
    assert.throws(() => view.submit(controls.nap, 1, 1), ExecutorShutdownError);
  });

  t('withOptions refuses bad options with errors that name them', (ctx) => {
    const ex = use(ctx, make(1));
    const bad = (options, type, pattern) => assert.throws(() => ex.withOptions(options), (e) => e instanceof type && pattern.test(e.message), JSON.stringify(options));
    bad(null, TypeError, /expects an options object, got null/);
    bad({ prio: 1 }, TypeError, /unknown option 'prio'/);
    bad({ priority: 'high' }, TypeError, /priority must be a finite number, got string "high"/);
    bad({ priority: NaN }, TypeError, /priority must be a finite number/);
    bad({ timeout: '1s' }, TypeError, /timeout must be a number of milliseconds/);
    bad({ timeout: 0 }, RangeError, /timeout must be a positive number/);
    bad({ retries: -1 }, RangeError, /retries must be an integer >= 0/);
    bad({ retries: 1.5 }, TypeError, /retries must be an integer >= 0/);
    bad({ retries: { attempts: 1, backoff: -5 } }, RangeError, /retries.backoff must be a number of milliseconds >= 0/);
    bad({ retries: { attempts: 1, delay: 5 } }, TypeError, /unknown retries option 'delay'/);
    bad({ retries: 'twice' }, TypeError, /retries must be a number or \{ attempts, backoff \}/);
    bad({ signal: {} }, TypeError, /signal must be an AbortSignal/);
    assert.throws(() => ex.withOptions({ priority: 1 }).withOptions({ timeout: -1 }), RangeError);
    return ex.shutdown();
  });

  t('reportProgress: values reach the progress callbacks in order, all before the future is done, none after', async (ctx) => {
    const ex = use(ctx, make(2));
    const seen = [];
    const f = ex.submit(controls.progressing, 5, 20);
    let doneAt = -1;
    f.addProgressCallback((value) => seen.push({ value, done: f.done() }));
    f.addDoneCallback(() => (doneAt = seen.length));
    assert.equal(await f.result(), 5);
    assert.deepEqual(seen.map((s) => s.value), [1, 2, 3, 4, 5].map((done) => ({ done, total: 5 })));
    assert.ok(seen.every((s) => !s.done), 'a value came after the future was done');
    assert.equal(doneAt, 5);
    // A task that reports and returns at once: its values still come first.
    const quick = [];
    const g = ex.submit(controls.countTo, 50);
    g.addProgressCallback((value) => quick.push(value));
    assert.equal(await g.result(), 50);
    assert.deepEqual(quick, Array.from({ length: 50 }, (_, i) => i + 1));
    // A callback added to a done future is never called; one that throws stops nothing.
    g.addProgressCallback(() => assert.fail('called after done'));
    const h = ex.withOptions({ priority: 1 }).submit(controls.countTo, 3);
    const got = [];
    h.addProgressCallback(() => {
      throw new Error('a failing progress callback');
    });
    h.addProgressCallback((v) => got.push(v));
    const original = console.error;
    console.error = () => {};
    try {
      assert.equal(await h.result(), 3);
    } finally {
      console.error = original;
    }
    assert.deepEqual(got, [1, 2, 3]);
    assert.throws(() => h.addProgressCallback(42), TypeError);
  });

  t('reportProgress outside a running task throws an Error that says so', () => {
    assert.throws(() => reportProgress(1), (e) => e instanceof Error && /reportProgress\(\) was called outside a running task/.test(e.message));
  });
}
