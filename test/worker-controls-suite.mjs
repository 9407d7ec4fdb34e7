// Per-task options, progress and tasksPerWorker where a task runs in another worker
// (thread or child process): worker-pool-suite.mjs runs this for both pools.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controls } from './fixtures/control-tasks.mjs';
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
}
