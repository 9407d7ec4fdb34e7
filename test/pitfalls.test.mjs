// The README's "Pitfalls", as users meet them: each says what goes wrong and what the error says.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { AsyncPoolExecutor, ProcessPoolExecutor, ThreadPoolExecutor } from 'concurrent-futures';
import { tasks } from './fixtures/tasks.mjs';
import { within, until } from './helpers.mjs';

test('a defineTasks module that is the entry module: submit fails at once, saying so, and the program runs once', { timeout: 90_000 }, () => {
  const script = fileURLToPath(new URL('./fixtures/entry-defines-tasks.mjs', import.meta.url));
  const out = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(out.status, 0, out.stderr);
  const lines = out.stdout.trim().split('\n');
  assert.equal(lines[0], 'program started');
  assert.equal(lines.length, 3, out.stdout);
  for (const line of lines.slice(1)) {
    assert.match(line, /^TypeError: task 'square' is defined in the program's entry module .*entry-defines-tasks\.mjs: a worker would import that module and run the whole program again\. Move the defineTasks\(\) call into a module of its own/);
  }
});

test('a closure sent to a worker pool fails with a ReferenceError that names the fix', { timeout: 30_000 }, async () => {
  const ex = new ThreadPoolExecutor(1);
  try {
    const factor = 3;
    const error = await within(20_000, ex.submit((n) => n * factor, 2).exception());
    assert.ok(error instanceof ReferenceError);
    assert.match(error.message, /factor/);
    assert.match(error.message, /defineTasks/);
  } finally {
    await ex.shutdown();
  }
});

test('`this` is not sent along with a method: wrap the call in a function, or pass the object as an argument', { timeout: 30_000 }, async () => {
  const counter = {
    step: 2,
    next(n) {
      return n + this.step;
    },
  };
  const io = new AsyncPoolExecutor(1);
  const threads = new ThreadPoolExecutor(1);
  try {
    // As with setTimeout(counter.next): the method runs without its object.
    assert.ok((await io.submit(counter.next, 1).exception()) instanceof TypeError);
    assert.equal(await io.submit((n) => counter.next(n), 1).result(), 3);
    // A worker gets the method's source only, and calls it as the pool here does: `this` is undefined there too.
    const error = await threads.submit(counter.next, 1).exception();
    assert.ok(error instanceof TypeError);
    assert.match(error.message, /Cannot read properties of undefined \(reading 'step'\)/);
    assert.equal(await threads.submit((c, n) => n + c.step, { step: 2 }, 1).result(), 3);
  } finally {
    await Promise.all([io.shutdown(), threads.shutdown()]);
  }
});

test('what can be cloned: plain data, Maps, Dates and typed arrays travel; a function argument fails only its own future', { timeout: 30_000 }, async () => {
  const ex = new ThreadPoolExecutor(1);
  try {
    const value = { when: new Date(0), tags: new Map([['a', 1]]), bytes: new Uint8Array([1, 2]), big: 10n };
    assert.deepEqual(await ex.submit((v) => v, value).result(), value);
    class Point {
      constructor(x) {
        this.x = x;
      }
    }
    const copy = await ex.submit((p) => p, new Point(1)).result();
    assert.deepEqual(Object.getPrototypeOf(copy), Object.prototype, 'a class instance arrives as a plain object');
    const failed = ex.submit((f) => typeof f, () => 1);
    const ok = ex.submit((x) => x + 1, 1);
    const error = await failed.exception();
    assert.equal(
      error?.message,
      'argument 1 of the task cannot be sent to a worker: () => 1 could not be cloned. ' +
        'A function does not travel: pass data instead, and define the function where the task can call it (in the task itself, or in its defineTasks module).',
    );
    assert.equal(await ok.result(), 2);
  } finally {
    await ex.shutdown();
  }
});

test('process pools: a task sent to a child counts as running, so cancel() is false; interrupt ends the child', { timeout: 60_000 }, async () => {
  const ex = new ProcessPoolExecutor(1);
  try {
    const running = ex.submit(tasks.slowDouble, 1, 60_000);
    await until(() => running.running(), 'the task to start', 30_000);
    assert.equal(running.cancel(), false);
    assert.equal(running.cancel({ interrupt: true }), true);
    assert.equal(running.cancelled(), true);
    assert.equal(await within(30_000, ex.submit(tasks.fib, 10).result()), 55);
  } finally {
    await ex.shutdown({ cancelFutures: true });
  }
});
