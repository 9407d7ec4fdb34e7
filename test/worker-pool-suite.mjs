// What the thread pool and the process pool both promise beyond every executor's
// contract (executor-suite.mjs): tasks that travel to another worker, by source or by
// reference, and come back with their errors whole; initializers, recycling, idle
// workers, workers that die, interrupts and shutdown signals; then, from
// worker-results-suite.mjs, how results come back. Each pool's test file runs this
// suite, then only what is its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CancelledError, ExecutorShutdownError, wait } from 'concurrent-futures';
import { tasks } from './fixtures/tasks.mjs';
import { workerResultsSuite } from './worker-results-suite.mjs';
import { workerControlsSuite } from './worker-controls-suite.mjs';
import { sleep, within, captureStderr, until, spin, use } from './helpers.mjs';

/** Which worker ran a task: a thread has its own threadId, a child process its own pid. */
const workerId = async () => `${process.pid}/${(await import('node:worker_threads')).threadId}`;


/**
 * @param {string} name
 * @param {(options?: number | object) => import('concurrent-futures').Executor} make
 * @param {object} pool what differs between the pools
 * @param {Function} pool.Broken the pool's BrokenExecutorError subclass
 * @param {boolean} pool.sendsAhead whether a task sent ahead to a busy worker counts as running (it cannot be cancelled)
 * @param {string} pool.worker what the pool's messages call a worker
 * @param {string} pool.maxTasksOption the option that recycles a worker after N tasks
 * @param {string} pool.initializerFailed the message of a pool broken by its initializer
 * @param {(code: number) => RegExp} pool.exited what a task's error says when its worker exits with `code`
 * @param {RegExp} pool.argumentUnsendable what an argument that cannot be sent to a worker fails with
 * @param {{ options: object, check: (error: Error) => void }} pool.memoryLimit options that give a worker a small
 *   heap, and what else the error of a task that runs out of it says
 * @param {{ importLine: string, construct: (n: number) => string }} pool.child how a child script builds one
 */
export function workerPoolSuite(name, make, pool) {
  workerControlsSuite(name, make, pool);
  const t = (title, fn, timeout = 30_000) => test(`${name}: ${title}`, { timeout }, fn);

  t('default maxWorkers is availableParallelism(); workers start lazily, in other workers', async (ctx) => {
    const ex = use(ctx, make());
    assert.equal(ex.maxWorkers, availableParallelism());
    assert.equal(ex.stats().workers, 0);
    assert.notEqual(await ex.submit(workerId).result(), await workerId());
    assert.equal(ex.stats().workers, 1);
  });

  t('self-contained functions of every form', async (ctx) => {
    const ex = use(ctx, make(2));
    const obj = { square(n) { return n * n; }, async cube(n) { return n ** 3; } };
    assert.equal(await ex.submit(function add(a, b) { return a + b; }, 1, 2).result(), 3);
    assert.equal(await ex.submit((n) => n + 1, 1).result(), 2);
    assert.equal(await ex.submit(async (n) => { await new Promise((r) => setTimeout(r, 5)); return n; }, 7).result(), 7);
    assert.equal(await ex.submit(obj.square, 5).result(), 25);
    assert.equal(await ex.submit(obj.cube, 2).result(), 8);
    assert.equal(await ex.submit(async () => (await import('node:os')).EOL.length, 0).result() > 0, true);
    assert.equal(await ex.submit(() => typeof structuredClone).result(), 'function');
  });

  t('a captured name fails with a ReferenceError that explains the two fixes', async (ctx) => {
    const ex = use(ctx, make(1));
    const factor = 3;
    const error = await ex.submit((n) => n * factor, 2).exception();
    assert.ok(error instanceof ReferenceError);
    assert.match(error.message, /factor is not defined/);
    assert.match(error.message, /Pass the value as an argument/);
    assert.match(error.message, /defineTasks\(import\.meta\.url/);
  });

  t('a task may define classes, constructors and methods that use their own `this`', async (ctx) => {
    const ex = use(ctx, make(1));
    const error = await ex.submit(() => {
      class QuotaError extends Error {
        constructor(m) {
          super(m);
          this.name = 'QuotaError';
        }
      }
      throw new QuotaError('over');
    }).exception();
    assert.equal(error.name, 'QuotaError');
    assert.equal(error.message, 'over');
    const built = await ex.submit((x) => {
      function Point(v) {
        this.v = v;
      }
      Point.prototype.twice = function () { return this.v * 2; };
      const counter = { step: 3, next(n) { return n + this.step; } };
      return counter.next(new Point(x).twice());
    }, 5).result();
    assert.equal(built, 13);
  });

  t("a task's own `this` is never the worker's global: undefined for a function, a loud error for an arrow", async (ctx) => {
    const ex = use(ctx, make(1));
    // Quotes inside regex literals once fooled a textual check into accepting this and answering 'object'.
    assert.equal(await ex.submit(function (s) { const q = /'/; const n = typeof this; const r = /'/; return n + s + q.source + r.source; }, '-').result(), "undefined-''");
    const method = { step: 2, next(n) { return n + this.step; } };
    const unbound = await ex.submit(method.next, 1).exception();
    assert.ok(unbound instanceof TypeError);
    assert.match(unbound.message, /undefined \(reading 'step'\)/);
    for (const arrow of [() => this.step, () => { this.step = 1; }, () => 'step' in this, () => `${this}`]) {
      const error = await ex.submit(arrow).exception();
      assert.ok(error instanceof TypeError, String(arrow));
      assert.equal(error.message, "a task's own `this` does not travel to a worker: pass what the task needs as an argument");
    }
    class Base { step() { return 1; } }
    class Sub extends Base { send() { return ex.submit(() => super.step()); } }
    const viaSuper = await new Sub().send().exception();
    assert.ok(viaSuper instanceof TypeError);
    assert.match(viaSuper.message, /own `this` does not travel to a worker/);
    const args = await ex.submit(() => arguments.length).exception();
    assert.ok(args instanceof SyntaxError);
    assert.match(args.message, /uses `arguments` of the scope where it was written/);
    // The pool goes on, each function compiled once per worker.
    assert.equal(await ex.submit(function (n) { return this === undefined && n; }, 4).result(), 4);
  });

  t('native and bound functions and classes are refused at submit with a TypeError', async (ctx) => {
    const ex = use(ctx, make(1));
    assert.throws(() => ex.submit(Math.max, 1, 2), (e) => e instanceof TypeError && /native function \(max\) cannot be sent/.test(e.message));
    assert.throws(() => ex.submit(((a) => a).bind(null), 1), (e) => e instanceof TypeError && /bound function/.test(e.message));
    assert.throws(() => ex.submit(class A {}), /a class \(A\) cannot be a task/);
    assert.equal(ex.stats().queued, 0);
  });

  t('defineTasks functions run by reference and stay callable here', async (ctx) => {
    assert.equal(tasks.fib(10), 55);
    const ex = use(ctx, make(2));
    assert.equal(await ex.submit(tasks.fib, 15).result(), 610);
    assert.equal(await ex.submit(tasks.fib, 20).result(), 6765);
    assert.equal(await ex.submit(tasks.slowDouble, 21, 5).result(), 42);
    const out = [];
    for await (const v of ex.map(tasks.fib, [1, 2, 3, 4, 5, 6], { chunksize: 2 })) out.push(v);
    assert.deepEqual(out, [1, 1, 2, 3, 5, 8]);
  });

  t('defineTasks from a .ts module under tsx, from a .ts program and from a JavaScript one', () => {
    const program = fileURLToPath(new URL('./fixtures/use-ts-tasks.ts', import.meta.url));
    const fromTs = spawnSync(process.execPath, ['--import', 'tsx', program, name], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(fromTs.status, 0, fromTs.stderr);
    assert.deepEqual(JSON.parse(fromTs.stdout.trim()), { local: 5, remote: 10 });
    const script = `
      ${pool.child.importLine}
      import { tsTasks } from ${JSON.stringify(fileURLToPath(new URL('./fixtures/tasks.ts', import.meta.url)))};
      const ex = ${pool.child.construct(1)};
      console.log(await ex.submit(tsTasks.norm, { x: 5, y: 12 }).result());
      await ex.shutdown();
    `;
    const fromJs = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(fromJs.status, 0, fromJs.stderr);
    assert.equal(fromJs.stdout.trim(), '13');
  }, 150_000);

  t('a task module that cannot load in a worker fails with an error naming it', async (ctx) => {
    process.env.CF_TEST_MAIN = '1';
    const { broken } = await import('./fixtures/broken-module.mjs');
    delete process.env.CF_TEST_MAIN;
    const ex = use(ctx, make({ maxWorkers: 1 }));
    // The worker's environment is a copy made at its start: without the variable, the module throws there.
    const error = await within(20_000, ex.submit(broken.never).exception());
    assert.match(error.message, /cannot load the task module file:.*broken-module\.mjs in a worker: this module refuses to load here/);
    assert.equal(await ex.submit((x) => x, 'still serving').result(), 'still serving');
  });

  t('initializer and initargs run in each worker first', async (ctx) => {
    const ex = use(ctx, make({ maxWorkers: 2, initializer: tasks.init, initargs: ['ready'] }));
    const both = [ex.submit(tasks.initialized), ex.submit(tasks.initialized)];
    assert.deepEqual(await Promise.all(both.map((f) => f.result())), ['ready', 'ready']);
  });

  t('a failing initializer breaks the pool, as in Python', async (ctx) => {
    let ex;
    let fs;
    const stderr = await captureStderr(async () => {
      ex = use(ctx, make({ maxWorkers: 2, initializer: tasks.failInit }));
      fs = [1, 2, 3].map((i) => ex.submit((x) => x, i));
      await within(20_000, wait(fs));
    });
    assert.ok(stderr.includes(pool.initializerFailed), `the failure is reported on stderr: ${stderr}`);
    for (const f of fs) {
      const e = await f.exception();
      assert.ok(e instanceof pool.Broken);
      assert.equal(e.message, pool.initializerFailed);
      assert.equal(e.cause.message, 'initializer exploded');
    }
    assert.throws(() => ex.submit((x) => x, 1), (e) => e instanceof pool.Broken && /not usable anymore/.test(e.message));
    await within(10_000, ex.shutdown());
  });

  t(`${pool.maxTasksOption} gives a fresh worker after N tasks`, async (ctx) => {
    const ex = use(ctx, make({ maxWorkers: 1, [pool.maxTasksOption]: 2 }));
    const ids = [];
    for (let i = 0; i < 6; i++) ids.push(await ex.submit(workerId).result());
    assert.equal(ids[0], ids[1]);
    assert.notEqual(ids[1], ids[2]);
    assert.equal(ids[2], ids[3]);
    assert.equal(new Set(ids).size, 3);
  });

  t('idleTimeout ends idle workers', async (ctx) => {
    const ex = use(ctx, make({ maxWorkers: 2, idleTimeout: 50 }));
    await ex.submit((x) => x, 1).result();
    assert.equal(ex.stats().workers, 1);
    await until(() => ex.stats().workers === 0, 'idle worker exit');
    assert.equal(await ex.submit((x) => x, 2).result(), 2);
  });

  t('a task calling process.exit fails with the pool\'s broken error and exit code; the pool carries on', async (ctx) => {
    const ex = use(ctx, make(1));
    const e = await within(20_000, ex.submit(() => process.exit(7)).exception());
    assert.ok(e instanceof pool.Broken);
    assert.match(e.message, pool.exited(7));
    assert.equal(e.exitCode, 7);
    assert.equal(await ex.submit((x) => x * 2, 21).result(), 42);
  });

  t('a large result is kept when the next task on its worker calls process.exit', async (ctx) => {
    const ex = use(ctx, make(1));
    for (const size of [64 * 1024, 1 << 20, 16 << 20]) {
      for (let run = 0; run < 10; run++) {
        const big = ex.submit((n) => 'x'.repeat(n), size);
        const exits = ex.submit(() => process.exit(7));
        const value = await within(20_000, big.result().catch((e) => e), `the ${size}-byte result`);
        assert.equal(typeof value, 'string', `run ${run} at ${size} bytes: ${value?.message}`);
        assert.equal(value.length, size);
        const e = await within(20_000, exits.exception());
        assert.ok(e instanceof pool.Broken);
        assert.match(e.message, pool.exited(7));
        assert.match(e.message, /while running this task/);
      }
    }
  }, 120_000);

  t('an asynchronous throw outside the task\'s promise fails only that task', async (ctx) => {
    const ex = use(ctx, make(2));
    const bad = ex.submit(() => new Promise(() => setTimeout(() => { throw new Error('stray'); }, 5)));
    const good = ex.submit(async (ms) => { await new Promise((r) => setTimeout(r, ms)); return 'good'; }, 50);
    const e = await within(20_000, bad.exception());
    assert.ok(e instanceof pool.Broken);
    assert.match(e.message, /stray/);
    assert.equal(await good.result(), 'good');
    assert.equal(await ex.submit((x) => x, 'after').result(), 'after');
  });

  t('a worker out of memory fails its task; the pool replaces it', async (ctx) => {
    const ex = use(ctx, make({ maxWorkers: 1, ...pool.memoryLimit.options }));
    // (A child process's own out-of-memory report appears on the shared stderr.)
    const e = await within(60_000, ex.submit(() => {
      const keep = [];
      for (;;) keep.push(new Array(100_000).fill(Math.random()));
    }).exception());
    assert.ok(e instanceof pool.Broken);
    pool.memoryLimit.check(e);
    assert.equal(await ex.submit((x) => x, 'replaced').result(), 'replaced');
  }, 90_000);

  t('cancel({ interrupt: true }) stops an infinite loop and the pool carries on', async (ctx) => {
    const ex = use(ctx, make(1));
    const dir = mkdtempSync(join(tmpdir(), 'cf-loop-'));
    ctx.after(() => rmSync(dir, { recursive: true, force: true }));
    const started = join(dir, 'started');
    const loop = ex.submit(async (marker) => {
      (await import('node:fs')).writeFileSync(marker, '');
      for (;;);
    }, started);
    const queued = ex.submit((x) => x, 'queued behind the loop');
    // The task itself says it runs: a child process may hold a task it has not begun, which cancel() could not tell.
    await until(() => existsSync(started), 'the loop to start');
    assert.equal(loop.cancel(), false);
    assert.equal(loop.cancel({ interrupt: true }), true);
    assert.equal(loop.cancelled(), true);
    await assert.rejects(loop.result(), CancelledError);
    assert.equal(await within(20_000, queued.result()), 'queued behind the loop');
    assert.equal(await within(20_000, ex.submit((x) => x, 'after').result()), 'after');
    await within(10_000, ex.shutdown());
    assert.equal(ex.stats().cancelled, 1);
  });

  t('shutdown({ wait: false, cancelFutures: true }) aborts the running task\'s signal', async (ctx) => {
    const ex = use(ctx, make(1));
    const dir = mkdtempSync(join(tmpdir(), 'cf-signal-'));
    ctx.after(() => rmSync(dir, { recursive: true, force: true }));
    const started = join(dir, 'started');
    const f = ex.submit(async (marker) => {
      const { taskSignal, CancelledError } = await import('concurrent-futures');
      const signal = taskSignal();
      const why = () => [signal.reason instanceof CancelledError, signal.reason?.message];
      (await import('node:fs')).writeFileSync(marker, '');
      // Bounded, so that a signal that never aborts fails the test instead of hanging its pool.
      return Promise.race([
        new Promise((resolve) => (signal.aborted ? resolve(why()) : signal.addEventListener('abort', () => resolve(why())))),
        new Promise((resolve) => setTimeout(resolve, 8000, 'never aborted')),
      ]);
    }, started);
    const queued = ex.submit((x) => x, 1);
    // The task itself says it has started: a child process may hold a task it has not begun.
    await until(() => existsSync(started) && f.running(), 'the task to start');
    await ex.shutdown({ wait: false, cancelFutures: true });
    // Its reason is a CancelledError, as on every executor.
    assert.deepEqual(await within(10_000, f.result()), [true, 'the executor was shut down']);
    await within(10_000, ex.shutdown());
    if (pool.sendsAhead) {
      // A task already sent to the child with the running one counts as running too (CPython's rule): it runs.
      assert.ok(queued.cancelled() || (await queued.result()) === 1);
    } else {
      assert.equal(queued.cancelled(), true);
    }
  });

  t('an argument that cannot be cloned fails that one future, with which and why', async (ctx) => {
    const ex = use(ctx, make(1));
    const ok1 = ex.submit((x) => x, 1);
    const bad = ex.submit((a, b) => b, 1, () => 'a function');
    const ok2 = ex.submit((x) => x, 2);
    const e = await bad.exception();
    assert.ok(e instanceof TypeError);
    assert.match(e.message, pool.argumentUnsendable);
    assert.equal(await ok1.result(), 1);
    assert.equal(await ok2.result(), 2);
  });

  t('warm, with tasks sent several to a message: an argument that cannot be sent fails only its own task', async (ctx) => {
    const ex = use(ctx, make(1));
    // Quick tasks teach the pool to send many per message; a long one lets the next ten queue up behind it.
    await within(20_000, Promise.all(Array.from({ length: 1000 }, (_, i) => ex.submit((x) => x + 1, i).result())));
    const slow = ex.submit(spin, 50);
    const kind = (x) => typeof x;
    const fs = Array.from({ length: 10 }, (_, i) => ex.submit(kind, i === 5 ? () => 1 : i));
    assert.equal(await within(10_000, slow.result()), 50);
    await within(10_000, wait(fs));
    const e = await fs[5].exception();
    assert.ok(e instanceof TypeError);
    assert.match(e.message, /^argument 1 of the task cannot be sent to a worker: \(\) => 1 could not be cloned\. A function does not travel: pass data instead, and define the function where the task can call it/);
    for (const [i, f] of fs.entries()) if (i !== 5) assert.equal(await f.result(), 'number', `task ${i}`);
    // The message that was refused carried the function's source: the worker must still be able to run it.
    assert.equal(await within(10_000, ex.submit(kind, 'x').result()), 'string');
  });

  t('warm, with many tasks to a message: one that ends its worker fails alone; those before keep their results, those after run again', async (ctx) => {
    const ex = use(ctx, make(1));
    const job = (i) => {
      if (i === 10) process.exit(3);
      return i;
    };
    // The pool learns that the task is quick: it sends many per message, and a thread holds their results briefly.
    await within(20_000, Promise.all(Array.from({ length: 1000 }, () => ex.submit(job, -1).result())));
    const slow = ex.submit(spin, 50);
    const fs = Array.from({ length: 20 }, (_, i) => ex.submit(job, i));
    await new Promise((resolve) => setImmediate(resolve));
    // Sent ahead to a thread, and taken back exactly; still queued for a child, which holds one task ahead at most.
    assert.equal(fs[15].cancel(), true);
    await within(20_000, wait([slow, ...fs]));
    assert.equal(await slow.result(), 50);
    for (const [i, f] of fs.entries()) {
      if (i === 15) assert.ok(f.cancelled(), 'the cancelled task');
      else if (i === 10) assert.ok((await f.exception()) instanceof pool.Broken, 'the task that ended its worker');
      else assert.equal(await f.result(), i, `task ${i}`);
    }
    assert.equal(await within(10_000, ex.submit(job, 'after').result()), 'after');
  });

  t('map with chunksize: an item that cannot be sent throws at its own position, after the values before it', async (ctx) => {
    const ex = use(ctx, make(1));
    for (const bad of [357, 355, 0, 399]) {
      const items = Array.from({ length: 400 }, (_, i) => (i === bad ? () => i : i));
      const values = [];
      const error = await within(20_000, (async () => {
        try {
          for await (const v of ex.map((x, y) => x * 2 + y, items, items.map(() => 1), { chunksize: 5 })) values.push(v);
        } catch (e) {
          return e;
        }
      })());
      assert.equal(values.length, bad, `the values before item ${bad}`);
      assert.ok(values.every((v, i) => v === i * 2 + 1));
      assert.ok(error instanceof TypeError, String(error));
      assert.match(error.message, /^argument 1 of the map item cannot be sent to a worker: .*could not be cloned\. A function does not travel/);
    }
    assert.equal(await within(10_000, ex.submit((x) => x, 'after').result()), 'after');
  });

  t('a result that cannot be cloned fails that one future', async (ctx) => {
    const ex = use(ctx, make(1));
    const fs = [ex.submit((x) => x, 1), ex.submit(() => () => 'a function'), ex.submit((x) => x, 3)];
    await within(20_000, wait(fs));
    assert.equal(await fs[0].result(), 1);
    const e = await fs[1].exception();
    assert.ok(e.message.startsWith(`the task's result cannot be sent back from ${pool.worker}: `), e.message);
    assert.equal(await fs[2].result(), 3);
  });

  t('errors come back with class, name, message, code, cause chain and worker stack', async (ctx) => {
    const ex = use(ctx, make(1));
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
    const plain = await ex.submit(() => {
      throw Object.assign(new RangeError('outer', { cause: new Error('root') }), { code: 'E_X' });
    }).exception();
    assert.ok(plain instanceof RangeError);
    assert.equal(plain.code, 'E_X');
    assert.equal(plain.cause.message, 'root');
    const thrownString = await ex.submit(() => { throw 'plain string'; }).exception();
    assert.equal(thrownString, 'plain string');
  });

  t('CPU-bound tasks run in parallel across workers', async (ctx) => {
    const ex = use(ctx, make(2));
    const ids = await within(20_000, Promise.all([0, 1].map(() => ex.submit(async (ms) => {
      const end = Date.now() + ms;
      while (Date.now() < end);
      return `${process.pid}/${(await import('node:worker_threads')).threadId}`;
    }, 100).result())));
    assert.notEqual(ids[0], ids[1], 'two long tasks went to two workers');
  });

  t('submit after shutdown throws; the pool options are checked', async () => {
    const ex = make(1);
    await ex.shutdown();
    assert.throws(() => ex.submit((x) => x, 1), ExecutorShutdownError);
    assert.throws(() => make({ [pool.maxTasksOption]: 0 }), new RegExp(`${pool.maxTasksOption} must be a positive integer`));
    assert.throws(() => make({ idleTimeout: -1 }), /idleTimeout/);
    assert.throws(() => make({ initializer: 5 }), /initializer must be a function/);
    assert.throws(() => make({ initargs: 'x' }), /initargs must be an array/);
  });

  workerResultsSuite(name, make);
}
