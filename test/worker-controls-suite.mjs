// Per-task options, progress and tasksPerWorker where a task runs in another worker
// (thread or child process): worker-pool-suite.mjs runs this for both pools.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controls } from './fixtures/control-tasks.mjs';
import { TimeoutError } from 'concurrent-futures';
import { sleep, within, until } from './helpers.mjs';

/**
 * @param {string} name
 * @param {(options?: number | object) => import('concurrent-futures').Executor} make
 * @param {{ Broken: Function, sendsAhead: boolean }} pool
 */
export function workerControlsSuite(name, make, pool) {
  const t = (title, fn, timeout = 30_000) => test(`${name}: ${title}`, { timeout }, fn);
  const use = (ctx, ex) => {
    ctx.after(() => within(15_000, ex.shutdown({ cancelFutures: true }), 'shutdown after the test'));
    return ex;
  };

  t('withOptions retries run again a task whose worker died under it', async (ctx) => {
    const ex = use(ctx, make(1));
    const dir = mkdtempSync(join(tmpdir(), 'cf-controls-'));
    ctx.after(() => rmSync(dir, { recursive: true, force: true }));
    assert.equal(await ex.withOptions({ retries: 1 }).submit(controls.dieFirst, join(dir, 'a')).result(), 2);
    await assert.rejects(ex.submit(controls.dieFirst, join(dir, 'b')).result(), pool.Broken);
    const s = ex.stats();
    assert.equal(s.completed, 2);
    assert.equal(s.failed, 1);
  });

  t(`withOptions priority: a task sent ahead to a busy worker ${pool.sendsAhead ? 'runs first (it cannot be taken back), then the priority holds' : 'is taken back to run after a later task of higher priority'}`, async (ctx) => {
    const ex = use(ctx, make(1));
    const order = [];
    const track = (f, label) => {
      f.addDoneCallback(() => order.push(label));
      return f;
    };
    const futures = [track(ex.submit(controls.nap, 300, 'blocker'), 'blocker')];
    for (const label of ['low1', 'low2', 'low3']) futures.push(track(ex.submit(controls.nap, 1, label), label));
    await until(() => futures[0].running(), 'the blocker to start');
    // Dispatched meanwhile: the worker holds some of them ahead, behind the blocker.
    await sleep(50);
    futures.push(track(ex.withOptions({ priority: 1 }).submit(controls.nap, 1, 'high'), 'high'));
    for (const f of futures) await f.result();
    assert.deepEqual(order, pool.sendsAhead ? ['blocker', 'low1', 'high', 'low2', 'low3'] : ['blocker', 'high', 'low1', 'low2', 'low3']);
  });

  t('reportProgress of a value that cannot be sent throws a TypeError in the task', async (ctx) => {
    const ex = use(ctx, make(1));
    assert.match(await ex.submit(controls.reportBad).result(), /^TypeError: reportProgress\(\): the value cannot be sent from the (worker|child process)/);
  });

  t('tasksPerWorker: a worker runs that many awaiting tasks at once; by default one', async (ctx) => {
    const shared = use(ctx, make({ maxWorkers: 2, tasksPerWorker: 20 }));
    await Promise.all([shared.submit(controls.nap, 50, 0).result(), shared.submit(controls.nap, 50, 0).result()]);
    const futures = Array.from({ length: 40 }, (_, i) => shared.submit(controls.nap, 1000, i));
    await until(() => shared.stats().running === 40, 'all 40 tasks to run at once');
    assert.equal(shared.stats().workers, 2);
    assert.deepEqual(await Promise.all(futures.map((f) => f.result())), Array.from({ length: 40 }, (_, i) => i));
    const single = use(ctx, make(2));
    await Promise.all([single.submit(controls.nap, 50, 0).result(), single.submit(controls.nap, 50, 0).result()]);
    // Six tasks of 100 ms, one at a time on each of 2 workers, take three rounds; two at a time would take two.
    const started = performance.now();
    await Promise.all(Array.from({ length: 6 }, () => single.submit(controls.nap, 100, 1).result()));
    const took = performance.now() - started;
    assert.ok(took >= 290, `6 tasks of 100 ms took ${took.toFixed(0)} ms on 2 workers: more than one ran at once on a worker`);
  });

  t('tasksPerWorker: progress, timeouts and failures of tasks that share a worker stay their own', async (ctx) => {
    const ex = use(ctx, make({ maxWorkers: 1, tasksPerWorker: 4 }));
    const dir = mkdtempSync(join(tmpdir(), 'cf-controls-'));
    ctx.after(() => rmSync(dir, { recursive: true, force: true }));
    const seen = [];
    const progressing = ex.submit(controls.progressing, 4, 30);
    progressing.addProgressCallback((v) => seen.push(v.done));
    const late = ex.withOptions({ timeout: 100 }).submit(controls.nap, 5000, 'late');
    const failing = ex.submit(controls.flaky, join(dir, 'f'), 1);
    const fine = ex.submit(controls.nap, 300, 'fine');
    assert.ok((await late.exception()) instanceof TimeoutError);
    assert.equal(await fine.result(), 'fine');
    assert.equal(await progressing.result(), 4);
    assert.deepEqual(seen, [1, 2, 3, 4]);
    await assert.rejects(failing.result(), /try 1 failed/);
  });

  t('tasksPerWorker: cancel({ interrupt: true }) of a task sharing its worker aborts its signal and fails no other task', async (ctx) => {
    const ex = use(ctx, make({ maxWorkers: 1, tasksPerWorker: 3 }));
    const dir = mkdtempSync(join(tmpdir(), 'cf-controls-'));
    ctx.after(() => rmSync(dir, { recursive: true, force: true }));
    const worker = await ex.submit(controls.whoami).result();
    // It stops on its signal: the worker goes on.
    const listening = ex.submit(controls.tally, join(dir, 't'), 10_000);
    const other = ex.submit(controls.nap, 600, 'other');
    await until(() => listening.running() && other.running(), 'both tasks to run');
    assert.equal(listening.cancel({ interrupt: true }), true);
    assert.equal(listening.cancelled(), true);
    assert.equal(await other.result(), 'other');
    assert.equal(await ex.submit(controls.whoami).result(), worker);
    // It ignores its signal: the worker ends only once the task beside it has ended.
    const deaf = ex.submit(controls.nap, 60_000, 'deaf');
    const beside = ex.submit(controls.nap, 1800, 'beside');
    await until(() => deaf.running() && beside.running(), 'both tasks to run');
    assert.equal(deaf.cancel({ interrupt: true }), true);
    assert.equal(await beside.result(), 'beside');
    await until(() => ex.stats().workers === 0, 'the worker to end', 5000);
    assert.notEqual(await ex.submit(controls.whoami).result(), worker);
    const s = ex.stats();
    assert.equal(s.failed, 0);
    assert.equal(s.cancelled, 2);
  });

  t('tasksPerWorker: a task awaiting alone in its worker is interrupted (and timed out) at once, as with one task per worker', async (ctx) => {
    const ex = use(ctx, make({ maxWorkers: 1, tasksPerWorker: 2 }));
    const worker = await ex.submit(controls.whoami).result();
    const alone = ex.submit(controls.nap, 60_000, 'alone');
    await until(() => alone.running(), 'the task to run');
    await sleep(50);
    assert.equal(alone.cancel({ interrupt: true }), true);
    assert.equal(alone.cancelled(), true);
    // Nothing else ran there: the worker was ended for it, not left running the task.
    assert.notEqual(await ex.submit(controls.whoami).result(), worker);
    const started = performance.now();
    const late = ex.withOptions({ timeout: 100 }).submit(controls.nap, 3000, 'late');
    assert.ok((await late.exception()) instanceof TimeoutError);
    const took = performance.now() - started;
    assert.ok(took < 2000, `timed out after ${Math.round(took)} ms, not 100`);
    assert.equal(await ex.submit(controls.nap, 1, 'next').result(), 'next');
  });

  t('tasksPerWorker: a worker that dies fails the tasks awaiting in it (or retries them), nothing else', async (ctx) => {
    const ex = use(ctx, make({ maxWorkers: 1, tasksPerWorker: 3 }));
    const dir = mkdtempSync(join(tmpdir(), 'cf-controls-'));
    ctx.after(() => rmSync(dir, { recursive: true, force: true }));
    const waiting = ex.submit(controls.nap, 2000, 'waiting');
    const retried = ex.withOptions({ retries: 1 }).submit(controls.flaky, join(dir, 'f'), 0);
    const again = ex.withOptions({ retries: 1 }).submit(controls.nap, 400, 'again');
    await until(() => waiting.running() && again.running(), 'the tasks to run');
    const exiting = ex.submit(controls.exitAfter, 100);
    await assert.rejects(exiting.result(), pool.Broken);
    await assert.rejects(waiting.result(), pool.Broken);
    assert.equal(await again.result(), 'again');
    assert.equal(await retried.result(), 1);
  });

  t('tasksPerWorker must be a positive integer', () => {
    for (const bad of [0, -1, 1.5, '2', null]) {
      assert.throws(() => make({ tasksPerWorker: bad }), (e) => e instanceof RangeError && /tasksPerWorker must be a positive integer/.test(e.message), String(bad));
    }
  });
}
