import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  ThreadPoolExecutor, BrokenThreadPoolError, CancelledError, ExecutorShutdownError, transfer, wait, taskSignal,
} from 'concurrent-futures';
import { executorSuite } from './executor-suite.mjs';
import { tasks } from './fixtures/tasks.mjs';
import { sleep, within, captureStderr } from './helpers.mjs';

executorSuite('ThreadPoolExecutor', (n) => new ThreadPoolExecutor(n), {
  importLine: "import { ThreadPoolExecutor } from 'concurrent-futures';",
  construct: (n) => `new ThreadPoolExecutor(${n})`,
});

const spin = (ms) => {
  const end = Date.now() + ms;
  while (Date.now() < end);
  return ms;
};

test('ThreadPoolExecutor: default maxWorkers is availableParallelism(); workers start lazily', async () => {
  const ex = new ThreadPoolExecutor();
  assert.equal(ex.maxWorkers, availableParallelism());
  assert.equal(ex.stats().workers, 0);
  await ex.submit((x) => x, 1).result();
  assert.equal(ex.stats().workers, 1);
  await ex.shutdown();
});

test('ThreadPoolExecutor: self-contained functions of every form', async () => {
  const ex = new ThreadPoolExecutor(2);
  const obj = { square(n) { return n * n; }, async cube(n) { return n ** 3; } };
  assert.equal(await ex.submit(function add(a, b) { return a + b; }, 1, 2).result(), 3);
  assert.equal(await ex.submit((n) => n + 1, 1).result(), 2);
  assert.equal(await ex.submit(async (n) => { await new Promise((r) => setTimeout(r, 5)); return n; }, 7).result(), 7);
  assert.equal(await ex.submit(obj.square, 5).result(), 25);
  assert.equal(await ex.submit(obj.cube, 2).result(), 8);
  assert.equal(await ex.submit(async () => (await import('node:os')).EOL.length, 0).result() > 0, true);
  assert.equal(await ex.submit(() => typeof structuredClone).result(), 'function');
  await ex.shutdown();
});

test('ThreadPoolExecutor: a captured name fails with a ReferenceError that explains the two fixes', async () => {
  const ex = new ThreadPoolExecutor(1);
  const factor = 3;
  const error = await ex.submit((n) => n * factor, 2).exception();
  assert.ok(error instanceof ReferenceError);
  assert.match(error.message, /factor is not defined/);
  assert.match(error.message, /Pass the value as an argument/);
  assert.match(error.message, /defineTasks\(import\.meta\.url/);
  await ex.shutdown();
});

test('ThreadPoolExecutor: native and bound functions are refused at submit with a TypeError', async () => {
  const ex = new ThreadPoolExecutor(1);
  assert.throws(() => ex.submit(Math.max, 1, 2), (e) => e instanceof TypeError && /native function \(max\) cannot be sent/.test(e.message));
  assert.throws(() => ex.submit(((a) => a).bind(null), 1), (e) => e instanceof TypeError && /bound function/.test(e.message));
  assert.throws(() => ex.submit(class A {}), /a class \(A\) cannot be a task/);
  assert.equal(ex.stats().queued, 0);
  await ex.shutdown();
});

test('ThreadPoolExecutor: defineTasks functions run by reference and stay callable here', async () => {
  assert.equal(tasks.fib(10), 55);
  const ex = new ThreadPoolExecutor(2);
  assert.equal(await ex.submit(tasks.fib, 20).result(), 6765);
  assert.equal(await ex.submit(tasks.slowDouble, 21, 5).result(), 42);
  const out = [];
  for await (const v of ex.map(tasks.fib, [1, 2, 3, 4, 5, 6], { chunksize: 2 })) out.push(v);
  assert.deepEqual(out, [1, 1, 2, 3, 5, 8]);
  await ex.shutdown();
});

test('ThreadPoolExecutor: defineTasks from a .ts module run with tsx', () => {
  const script = fileURLToPath(new URL('./fixtures/use-ts-tasks.ts', import.meta.url));
  const out = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(out.status, 0, out.stderr);
  assert.deepEqual(JSON.parse(out.stdout.trim()), { local: 5, remote: 10 });
});

test('ThreadPoolExecutor: a task module that cannot load in a worker fails with an error naming it', async () => {
  process.env.CF_TEST_MAIN = '1';
  const { broken } = await import('./fixtures/broken-module.mjs');
  delete process.env.CF_TEST_MAIN;
  const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
  // The worker's environment is a copy made at its start: without the variable, the module throws there.
  const error = await ex.submit(broken.never).exception();
  assert.match(error.message, /cannot load the task module file:.*broken-module\.mjs in a worker: this module refuses to load here/);
  assert.equal(await ex.submit((x) => x, 'still serving').result(), 'still serving');
  await ex.shutdown();
});

test('ThreadPoolExecutor: threadNamePrefix names the workers', async () => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 1, threadNamePrefix: 'crunch' });
  const name = await ex.submit(async () => (await import('node:worker_threads')).workerData.name).result();
  assert.equal(name, 'crunch_0');
  await ex.shutdown();
});

test('ThreadPoolExecutor: initializer and initargs run in each worker first', async () => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 2, initializer: tasks.init, initargs: ['ready'] });
  assert.equal(await ex.submit(tasks.initialized).result(), 'ready');
  await ex.shutdown();
});

test('ThreadPoolExecutor: a failing initializer breaks the pool, as in Python', async () => {
  let ex;
  let fs;
  const stderr = await captureStderr(async () => {
    ex = new ThreadPoolExecutor({ maxWorkers: 2, initializer: tasks.failInit });
    fs = [1, 2, 3].map((i) => ex.submit((x) => x, i));
    await within(10_000, wait(fs));
  });
  assert.match(stderr, /A thread initializer failed/);
  for (const f of fs) {
    const e = await f.exception();
    assert.ok(e instanceof BrokenThreadPoolError);
    assert.equal(e.message, 'A thread initializer failed, the thread pool is not usable anymore');
    assert.equal(e.cause.message, 'initializer exploded');
  }
  assert.throws(() => ex.submit((x) => x, 1), (e) => e instanceof BrokenThreadPoolError && /not usable anymore/.test(e.message));
  await within(10_000, ex.shutdown());
});

test('ThreadPoolExecutor: maxTasksPerWorker replaces the worker after N tasks', async () => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 1, maxTasksPerWorker: 2 });
  const threadId = async () => (await import('node:worker_threads')).threadId;
  const ids = [];
  for (let i = 0; i < 6; i++) ids.push(await ex.submit(threadId).result());
  assert.equal(ids[0], ids[1]);
  assert.notEqual(ids[1], ids[2]);
  assert.equal(ids[2], ids[3]);
  assert.equal(new Set(ids).size, 3);
  await ex.shutdown();
});

test('ThreadPoolExecutor: idleTimeout ends idle workers', async () => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 2, idleTimeout: 50 });
  await ex.submit((x) => x, 1).result();
  assert.equal(ex.stats().workers, 1);
  await within(5000, (async () => { while (ex.stats().workers > 0) await sleep(10); })(), 'idle worker exit');
  assert.equal(await ex.submit((x) => x, 2).result(), 2);
  await ex.shutdown();
});

test('ThreadPoolExecutor: running() is true only once a worker has started the task', async () => {
  const ex = new ThreadPoolExecutor(1);
  const first = ex.submit(spin, 150);
  const second = ex.submit(spin, 10); // pushed ahead to the same worker
  await within(5000, (async () => { while (!first.running()) await sleep(2); })());
  assert.equal(second.running(), false);
  assert.equal(second.state, 'PENDING');
  await first.result();
  await second.result();
  await ex.shutdown();
});

test('ThreadPoolExecutor: cancel() of a task pushed ahead to a worker is exact: it never runs', async () => {
  for (let round = 0; round < 5; round++) {
    const ex = new ThreadPoolExecutor(1);
    const first = ex.submit(spin, 30);
    const fs = Array.from({ length: 20 }, (_, i) => ex.submit(async (i) => i, i));
    await sleep(5 + round * 7);
    const answers = fs.map((f) => f.cancel());
    await ex.shutdown();
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

test('ThreadPoolExecutor: a task calling process.exit fails with BrokenThreadPoolError; the pool carries on', async () => {
  const ex = new ThreadPoolExecutor(1);
  const f = ex.submit(() => process.exit(7));
  const e = await within(10_000, f.exception());
  assert.ok(e instanceof BrokenThreadPoolError);
  assert.match(e.message, /exit code 7/);
  assert.equal(e.exitCode, 7);
  assert.equal(await ex.submit((x) => x * 2, 21).result(), 42);
  await ex.shutdown();
});

test('ThreadPoolExecutor: an asynchronous throw outside the task\'s promise fails only that task', async () => {
  const ex = new ThreadPoolExecutor(2);
  const bad = ex.submit(() => new Promise(() => setTimeout(() => { throw new Error('stray'); }, 5)));
  const good = ex.submit(async (ms) => { await new Promise((r) => setTimeout(r, ms)); return 'good'; }, 50);
  const e = await within(10_000, bad.exception());
  assert.ok(e instanceof BrokenThreadPoolError);
  assert.match(e.message, /stray/);
  assert.equal(await good.result(), 'good');
  assert.equal(await ex.submit((x) => x, 'after').result(), 'after');
  await ex.shutdown();
});

test('ThreadPoolExecutor: a worker out of memory fails its task; the pool replaces it', async () => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 1, resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 } });
  const hog = ex.submit(() => {
    const keep = [];
    for (;;) keep.push(new Array(100_000).fill(Math.random()));
  });
  const e = await within(30_000, hog.exception());
  assert.ok(e instanceof BrokenThreadPoolError);
  assert.match(e.message, /out of memory/);
  assert.equal(await ex.submit((x) => x, 'alive').result(), 'alive');
  await ex.shutdown();
});

test('ThreadPoolExecutor: cancel({ interrupt: true }) stops an infinite loop and the pool carries on', async () => {
  const ex = new ThreadPoolExecutor(1);
  const loop = ex.submit(() => { for (;;); });
  const queued = ex.submit((x) => x, 'queued behind the loop');
  await within(5000, (async () => { while (!loop.running()) await sleep(2); })());
  assert.equal(loop.cancel(), false);
  assert.equal(loop.cancel({ interrupt: true }), true);
  assert.equal(loop.cancelled(), true);
  await assert.rejects(loop.result(), CancelledError);
  assert.equal(await within(10_000, queued.result()), 'queued behind the loop');
  await within(10_000, ex.shutdown());
  assert.equal(ex.stats().cancelled, 1);
});

test('ThreadPoolExecutor: shutdown({ wait: false, cancelFutures: true }) aborts the running task\'s signal', async () => {
  const ex = new ThreadPoolExecutor(1);
  const f = ex.submit(async () => {
    const { taskSignal } = await import('concurrent-futures');
    const signal = taskSignal();
    if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve));
    return 'aborted';
  });
  const queued = ex.submit((x) => x, 1);
  await within(5000, (async () => { while (!f.running()) await sleep(2); })());
  await ex.shutdown({ wait: false, cancelFutures: true });
  assert.equal(await within(5000, f.result()), 'aborted');
  assert.equal(queued.cancelled(), true);
  await within(5000, ex.shutdown());
});

test('ThreadPoolExecutor: an argument that cannot be cloned fails that one future, with which and why', async () => {
  const ex = new ThreadPoolExecutor(1);
  const ok1 = ex.submit((x) => x, 1);
  const bad = ex.submit((a, b) => b, 1, () => 'a function');
  const ok2 = ex.submit((x) => x, 2);
  const e = await bad.exception();
  assert.ok(e instanceof TypeError);
  assert.match(e.message, /argument 2 of the task cannot be sent to a worker: .*could not be cloned/);
  assert.equal(await ok1.result(), 1);
  assert.equal(await ok2.result(), 2);
  await ex.shutdown();
});

test('ThreadPoolExecutor: a result that cannot be cloned fails that one future', async () => {
  const ex = new ThreadPoolExecutor(1);
  const fs = [ex.submit((x) => x, 1), ex.submit(() => () => 'a function'), ex.submit((x) => x, 3)];
  await wait(fs);
  assert.equal(await fs[0].result(), 1);
  const e = await fs[1].exception();
  assert.match(e.message, /result cannot be sent back from the worker/);
  assert.equal(await fs[2].result(), 3);
  await ex.shutdown();
});

test('ThreadPoolExecutor: errors come back with class, name, message, code, cause chain and worker stack', async () => {
  const ex = new ThreadPoolExecutor(1);
  const e = await ex.submit(function failingTask() {
    class CustomError extends Error {
      name = 'CustomError';
    }
    const inner = new RangeError('inner', { cause: new CustomError('root') });
    throw Object.assign(new TypeError('outer', { cause: inner }), { code: 'E_OUTER', detail: { n: 1 } });
  }).exception();
  assert.ok(e instanceof TypeError);
  assert.equal(e.name, 'TypeError');
  assert.equal(e.message, 'outer');
  assert.equal(e.code, 'E_OUTER');
  assert.deepEqual(e.detail, { n: 1 });
  assert.ok(e.cause instanceof RangeError);
  assert.equal(e.cause.message, 'inner');
  assert.equal(e.cause.cause.name, 'CustomError');
  assert.equal(e.cause.cause.message, 'root');
  assert.match(e.stack, /failingTask/);
  const thrownString = await ex.submit(() => { throw 'plain string'; }).exception();
  assert.equal(thrownString, 'plain string');
  await ex.shutdown();
});

test('ThreadPoolExecutor: transfer() moves ArrayBuffers both ways without copying', async () => {
  const ex = new ThreadPoolExecutor(1);
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
  await ex.shutdown();
});

test('ThreadPoolExecutor: CPU-bound tasks run in parallel across workers', async () => {
  const ex = new ThreadPoolExecutor(2);
  const ids = await Promise.all([0, 1].map(() => ex.submit(async (ms) => {
    const end = Date.now() + ms;
    while (Date.now() < end);
    return (await import('node:worker_threads')).threadId;
  }, 100).result()));
  assert.notEqual(ids[0], ids[1], 'two long tasks went to two workers');
  await ex.shutdown();
});

test('ThreadPoolExecutor: submit after shutdown, and options are checked', async () => {
  const ex = new ThreadPoolExecutor(1);
  await ex.shutdown();
  assert.throws(() => ex.submit((x) => x, 1), ExecutorShutdownError);
  assert.throws(() => new ThreadPoolExecutor({ maxTasksPerWorker: 0 }), /maxTasksPerWorker must be a positive integer/);
  assert.throws(() => new ThreadPoolExecutor({ idleTimeout: -1 }), /idleTimeout/);
  assert.throws(() => new ThreadPoolExecutor({ initializer: 5 }), /initializer must be a function/);
  assert.throws(() => new ThreadPoolExecutor({ initargs: 'x' }), /initargs must be an array/);
});
