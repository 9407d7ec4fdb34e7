// ThreadPoolExecutor: every executor's suite, the worker pools' suite, then what only
// threads do: named threads, a shared-memory view of which task has started (so cancel()
// is exact even for tasks sent ahead), transferred buffers and a heap limit per worker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ThreadPoolExecutor, BrokenExecutorError, BrokenThreadPoolError, CancelledError, transfer } from 'concurrent-futures';
import { executorSuite } from './executor-suite.mjs';
import { workerPoolSuite } from './worker-pool-suite.mjs';
import { identity } from './worker-results-suite.mjs';
import { sleep, within, until, captureStderr, spin, use } from './helpers.mjs';

const child = {
  importLine: "import { ThreadPoolExecutor } from 'concurrent-futures';",
  construct: (n) => `new ThreadPoolExecutor(${n})`,
};
executorSuite('ThreadPoolExecutor', (n) => new ThreadPoolExecutor(n), child);
workerPoolSuite('ThreadPoolExecutor', (options) => new ThreadPoolExecutor(options), {
  Broken: BrokenThreadPoolError,
  sendsAhead: false,
  worker: 'the worker',
  maxTasksOption: 'maxTasksPerWorker',
  initializerFailed: 'A thread initializer failed, the thread pool is not usable anymore',
  exited: (code) => new RegExp(`exit code ${code}\\b`),
  argumentUnsendable: /argument 2 of the task cannot be sent to a worker: .*could not be cloned/,
  memoryLimit: {
    options: { resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 } },
    check: (e) => assert.match(e.message, /out of memory/),
  },
  child,
});


/** Every test gets a timeout and its pool shut down when it ends, passed or not. */
const t = (title, fn) => test(`ThreadPoolExecutor: ${title}`, { timeout: 30_000 }, fn);

t('threadNamePrefix names the workers', async (ctx) => {
  const ex = use(ctx, new ThreadPoolExecutor({ maxWorkers: 1, threadNamePrefix: 'crunch' }));
  const name = await ex.submit(async () => (await import('node:worker_threads')).workerData.name).result();
  assert.equal(name, 'crunch_0');
});

t('running() is true only once a worker has started the task', async (ctx) => {
  const ex = use(ctx, new ThreadPoolExecutor(1));
  const first = ex.submit(spin, 150);
  const second = ex.submit(spin, 10); // pushed ahead to the same worker
  await until(() => first.running(), 'the first task to start', 5000);
  assert.equal(second.running(), false);
  assert.equal(second.state, 'PENDING');
  await first.result();
  await second.result();
});

t('cancel() of a task pushed ahead to a worker is exact: it never runs', async (ctx) => {
  for (let round = 0; round < 5; round++) {
    const ex = use(ctx, new ThreadPoolExecutor(1));
    const first = ex.submit(spin, 30);
    const fs = Array.from({ length: 20 }, (_, i) => ex.submit(async (i) => i, i));
    // A different moment each round: before, while and after the worker takes the tasks.
    await sleep(5 + round * 7);
    const answers = fs.map((f) => f.cancel());
    await within(10_000, ex.shutdown());
    for (let i = 0; i < fs.length; i++) {
      const f = fs[i];
      if (answers[i]) {
        assert.equal(f.cancelled(), true);
        await assert.rejects(f.result(), CancelledError);
      } else {
        assert.equal(await f.result(), i); // it had started: it runs to the end
      }
    }
    const s = ex.stats();
    assert.equal(s.completed + s.cancelled, 21);
    assert.equal(s.cancelled, answers.filter(Boolean).length);
    await first.result();
  }
});

t('stats(): a thread whose only task out was withdrawn is idle, not busy (the place it leaves is no work)', async (ctx) => {
  const ex = use(ctx, new ThreadPoolExecutor(1));
  // Warm: quick tasks make the pool send the next task ahead to a busy thread.
  await Promise.all(Array.from({ length: 2000 }, () => ex.submit(spin, 0).result()));
  const slow = ex.submit(spin, 150);
  const ahead = ex.submit(spin, 0);
  await sleep(30);
  assert.equal(ahead.cancel(), true, 'sent ahead and withdrawn before it started');
  let seen;
  // As the slow task's answer is read, the withdrawn one's place is still there until the thread answers past it.
  slow.addDoneCallback(() => (seen = ex.stats()));
  await slow.result();
  assert.equal(seen.idleWorkers, 1, JSON.stringify(seen));
  assert.equal(seen.running, 0);
  assert.equal(seen.queued, 0);
});

t('stats(): a task its thread has finished, its answer not read yet, still runs (every task counts once), its thread busy only with the next', async (ctx) => {
  const ex = use(ctx, new ThreadPoolExecutor(1));
  // Warm: quick tasks make the pool send the next task ahead to a busy thread.
  await Promise.all(Array.from({ length: 2000 }, () => ex.submit(spin, 0).result()));
  const first = ex.submit(spin, 30);
  const next = ex.submit((ms) => new Promise((resolve) => setTimeout(() => resolve('next'), ms)), 300);
  await new Promise((resolve) => setImmediate(resolve)); // both sent
  // This thread does not read the first answer meanwhile: the worker has finished it and started the next.
  const end = performance.now() + 200;
  while (performance.now() < end);
  const s = ex.stats();
  assert.deepEqual({ running: s.running, queued: s.queued, idleWorkers: s.idleWorkers }, { running: 2, queued: 0, idleWorkers: 0 });
  assert.equal(await first.result(), 30);
  assert.equal(await next.result(), 'next');
  const after = ex.stats();
  assert.deepEqual({ running: after.running, queued: after.queued, completed: after.completed - s.completed }, { running: 0, queued: 0, completed: 2 });
});

t('stats(): a thread whose only task out is finished, its answer not read yet, is idle while that task still runs', async (ctx) => {
  const ex = use(ctx, new ThreadPoolExecutor(1));
  await ex.submit(spin, 0).result();
  const only = ex.submit(spin, 30);
  await new Promise((resolve) => setImmediate(resolve)); // sent
  // This thread does not read the answer meanwhile: the worker finishes the task and has nothing else.
  const end = performance.now() + 200;
  while (performance.now() < end);
  const s = ex.stats();
  assert.deepEqual({ running: s.running, queued: s.queued, idleWorkers: s.idleWorkers }, { running: 1, queued: 0, idleWorkers: 1 });
  assert.equal(await only.result(), 30);
  const after = ex.stats();
  assert.deepEqual({ running: after.running, idleWorkers: after.idleWorkers, completed: after.completed - s.completed }, { running: 0, idleWorkers: 1, completed: 1 });
});

t('transfer() moves ArrayBuffers both ways without copying', async (ctx) => {
  const ex = use(ctx, new ThreadPoolExecutor(1));
  const buffer = new ArrayBuffer(1024 * 1024);
  new Uint8Array(buffer)[0] = 7;
  const f = ex.submit(async (buf) => {
    const { transfer } = await import('concurrent-futures');
    const view = new Uint8Array(buf);
    view[1] = view[0] + 1;
    return transfer(buf);
  }, transfer(buffer));
  assert.equal(buffer.byteLength, 0, 'the argument was moved, not copied');
  const back = await f.result();
  assert.ok(back instanceof ArrayBuffer);
  assert.equal(back.byteLength, 1024 * 1024);
  assert.deepEqual([...new Uint8Array(back, 0, 2)], [7, 8]);
  const typed = new Float64Array([1.5, 2.5]);
  assert.equal(await ex.submit((t) => t[0] + t[1], transfer(typed)).result(), 4);
  assert.equal(typed.length, 0);
  assert.throws(() => transfer({ a: 1 }), /give a transferList/);
});

t('a message refused for one task\'s argument still delivers the buffers the other tasks in it transfer', async (ctx) => {
  const ex = use(ctx, new ThreadPoolExecutor(1));
  await within(20_000, Promise.all(Array.from({ length: 1000 }, (_, i) => ex.submit((x) => x, i).result())));
  const slow = ex.submit(spin, 50);
  const bytes = new Uint8Array([1, 2, 3]);
  const moved = ex.submit((b) => new Uint8Array(b).reduce((a, x) => a + x, 0), transfer(bytes.buffer));
  const bad = ex.submit((x) => x, Symbol('no'));
  const after = ex.submit((x) => x, 'after');
  await within(10_000, slow.result());
  assert.equal(await within(10_000, moved.result()), 6);
  assert.match((await bad.exception()).message, /^argument 1 of the task cannot be sent to a worker: Symbol\(no\) could not be cloned\. Only data travels/);
  assert.equal(await after.result(), 'after');
});

t('a worker whose heap is too small to start breaks the pool instead of respawning', async (ctx) => {
  // Below 4 MB Node 22 ends the whole process when the worker starts: refused at construction.
  assert.throws(() => new ThreadPoolExecutor({ resourceLimits: { maxOldGenerationSizeMb: 1 } }), { name: 'RangeError', message: /maxOldGenerationSizeMb must be at least 4, got 1/ });
  assert.throws(() => new ThreadPoolExecutor({ resourceLimits: { maxYoungGenerationSizeMb: NaN } }), { name: 'RangeError', message: /got number NaN/ });
  await captureStderr(async () => {
    const ex = new ThreadPoolExecutor({ maxWorkers: 1, resourceLimits: { maxOldGenerationSizeMb: 4, maxYoungGenerationSizeMb: 1, codeRangeSizeMb: 1 } });
    ctx.after(() => within(10_000, ex.shutdown()));
    const e = await within(15_000, ex.submit(identity, 1).exception());
    assert.ok(e instanceof BrokenExecutorError);
    await within(10_000, ex.shutdown());
  });
});

