// The runtime suite: what a user does with the package, run under whichever runtime runs this file
// (node, deno or bun), through the package's public entry as a user imports it. Prints a line per
// check and exits 1 if any failed. `node test/runtimes/suite.mjs`, `bun test/runtimes/suite.mjs`,
// `deno run -A test/runtimes/suite.mjs`; test/runtimes.test.mjs runs it under each.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AsyncPoolExecutor,
  ThreadPoolExecutor,
  ProcessPoolExecutor,
  BrokenProcessPoolError,
  BrokenThreadPoolError,
  CancelledError,
  taskSignal,
} from 'concurrent-futures';
import { serveDashboard } from 'concurrent-futures/dashboard';
import { tracingChannel } from 'node:diagnostics_channel';
import { patterns } from './patterns.mjs';
import { tasks } from './tasks.mjs';

const runtime = typeof globalThis.Deno !== 'undefined' ? 'deno' : typeof globalThis.Bun !== 'undefined' ? 'bun' : 'node';
const version = runtime === 'deno' ? globalThis.Deno.version.deno : runtime === 'bun' ? globalThis.Bun.version : process.versions.node;
const path = (relative) => fileURLToPath(new URL(relative, import.meta.url));

/** The command line that runs a script under this runtime, as a user would type it. */
function command(script, flags = []) {
  return runtime === 'deno' ? [process.execPath, ['run', '-A', ...flags, script]] : [process.execPath, [...flags, script]];
}

/** What `child` writes so far (`out`), and its end with all of it (`closed`). */
function collected(child) {
  const out = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (chunk) => (out.stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk) => (out.stderr += chunk));
  const closed = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, ...out }));
  });
  return { out, closed };
}

function run(script, args, { input = '', cwd, flags } = {}) {
  const [file, head] = command(script, flags);
  const child = spawn(file, [...head, ...args], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.on('error', () => {});
  child.stdin.end(input);
  return collected(child).closed;
}

const executors = {
  async: (n) => new AsyncPoolExecutor(n),
  thread: (n) => new ThreadPoolExecutor(n),
  // Two children at most: a process per task of the notebook's ten would only time process start-up.
  process: (n) => new ProcessPoolExecutor(Math.min(n ?? 2, 2)),
};
const range = (n) => Array.from({ length: n }, (_, i) => i);

const checks = [];
const check = (name, fn) => checks.push([name, fn]);

const gettingStarted = 'fib(30) = 832040\n55\n6765\n75025\n';
check('the getting-started program (main.mjs)', async () => {
  const out = await run('main.mjs', [], { cwd: path('../../examples/getting-started/') });
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout, gettingStarted);
});
if (runtime !== 'node') {
  // Node runs it through tsx (test/package.test.mjs). Deno needs --sloppy-imports for the './tasks.js'
  // that TypeScript's nodenext resolution has main.ts write for tasks.ts (README: Runtimes).
  check('the getting-started program (main.ts)', async () => {
    const out = await run('main.ts', [], { cwd: path('../../examples/getting-started/'), flags: runtime === 'deno' ? ['--sloppy-imports'] : [] });
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout, gettingStarted);
  });
}

if (runtime !== 'node') {
  check('a TypeScript task module on the process pool', async () => {
    const { tasks: ts } = await import(path('../../examples/getting-started/tasks.ts'));
    const ex = new ProcessPoolExecutor(1);
    try {
      assert.equal(await ex.submit(ts.fib, 25).result(), 75025);
    } finally {
      await ex.shutdown();
    }
  });
}
/** Runs `script` under Deno with exactly `flags`; killed past the checks' time, so that a hung one is not left behind. */
function denoWith(flags, script, args = []) {
  const child = spawn(process.execPath, ['run', ...flags, script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
  return collected(child).closed.finally(() => clearTimeout(timer));
}

if (runtime === 'deno') {
  check('Deno without --allow-run: the process pool fails its futures, naming the flag, and the program goes on', async () => {
    const { code, stdout, stderr } = await denoWith(['--allow-read'], path('./without-run-permission.mjs'));
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^BrokenProcessPoolError: a worker could not be started \(.*--allow-(env|run).*\): the pool is not usable anymore\nthe program goes on\n$/);
  });
  const rejected = (address, allow) =>
    new RegExp(`^Error: serveDashboard\\(\\): Deno does not allow listening on ${address}: run with --allow-net \\(or --allow-net=${allow}\\)\\n2\\nthe program goes on\\n$`);
  const served = /^served\n2\nthe program goes on\n$/;
  // A name is checked with the address it resolves to, as Deno's listen checks both.
  for (const [host, flags, expected] of [
    ['127.0.0.1', [], rejected('127\\.0\\.0\\.1:0', '127\\.0\\.0\\.1')],
    ['127.0.0.1', ['--allow-net=127.0.0.1'], served],
    ['localhost', ['--allow-net=localhost'], rejected('(127\\.0\\.0\\.1|\\[::1\\]):0', 'localhost,(127\\.0\\.0\\.1|\\[::1\\])')],
    ['localhost', [], rejected('localhost:0', 'localhost and the address it resolves to')],
    ['localhost', ['--allow-net=localhost,127.0.0.1,[::1]'], served],
    ['127.0.0.1', ['--deny-net'], /^Error: serveDashboard\(\): Deno denies listening on 127\.0\.0\.1:0 \(--deny-net, or a prompt answered no\)\n2\nthe program goes on\n$/],
  ]) {
    check(`Deno with --allow-read ${flags.join(' ') || 'alone'}, host ${host}: serveDashboard() ${expected === served ? 'serves' : 'rejects, naming the flag, and the program goes on'}`, async () => {
      const { code, stdout, stderr } = await denoWith(['--allow-read', ...flags], path('./dashboard-permission.mjs'), [host]);
      assert.equal(code, 0, stderr);
      assert.match(stdout, expected);
    });
  }
}
check('a program that never shuts its pools down ends once its work is done, whatever timeouts it waited with', async () => {
  const started = performance.now();
  const out = await run(path('./no-shutdown.mjs'), []);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout, '42 42\n1 undefined\nTimeoutError\n');
  assert.ok(performance.now() - started < 30_000, 'it waited for a timeout of a wait that had ended');
});

for (const [kind, make] of Object.entries(executors)) {
  for (const [name, pattern] of Object.entries(patterns)) check(`${name} on ${kind}`, () => pattern(make));
}

for (const [kind, make] of Object.entries(executors)) {
  check(`map with chunksize on ${kind}`, async () => {
    const ex = make(2);
    try {
      const out = [];
      for await (const r of ex.map((x, y) => x * y, range(2000), range(2000), { chunksize: 64 })) out.push(r);
      assert.deepEqual(out, range(2000).map((x) => x * x));
      if (kind !== 'async') {
        const fibs = [];
        for await (const r of ex.map(tasks.fib, range(21), { chunksize: 3 })) fibs.push(r);
        assert.deepEqual(fibs.slice(-3), [2584, 4181, 6765]);
      }
    } finally {
      await ex.shutdown();
    }
  });
}

check('a child that exits fails its task with BrokenProcessPoolError, and the pool replaces it', async () => {
  const ex = new ProcessPoolExecutor(1);
  try {
    const e = await ex.submit(tasks.exit, 7).exception();
    assert.ok(e instanceof BrokenProcessPoolError, `got ${e}`);
    assert.equal(e.exitCode, 7);
    const killed = await ex.submit(() => process.kill(process.pid, 'SIGKILL')).exception();
    assert.ok(killed instanceof BrokenProcessPoolError, `got ${killed}`);
    assert.equal(killed.signal, 'SIGKILL');
    assert.equal(await ex.submit(tasks.fib, 20).result(), 6765);
  } finally {
    await ex.shutdown();
  }
});

check('a worker thread that exits fails its task with BrokenThreadPoolError, and the pool replaces it', async () => {
  const ex = new ThreadPoolExecutor(1);
  try {
    const e = await ex.submit(tasks.exit, 7).exception();
    assert.ok(e instanceof BrokenThreadPoolError, `got ${e}`);
    assert.equal(e.exitCode, 7);
    assert.equal(await ex.submit(tasks.fib, 20).result(), 6765);
  } finally {
    await ex.shutdown();
  }
});

for (const kind of ['thread', 'process']) {
  check(`an error thrown on ${kind} arrives with its class, message, properties and cause`, async () => {
    const ex = executors[kind](1);
    try {
      const e = await ex.submit(() => {
        throw Object.assign(new RangeError('too big', { cause: new Error('the cause') }), { code: 'E_BIG' });
      }).exception();
      assert.ok(e instanceof RangeError, `got ${e}`);
      assert.equal(e.message, 'too big');
      assert.equal(e.code, 'E_BIG');
      assert.equal(e.cause?.message, 'the cause');
    } finally {
      await ex.shutdown();
    }
  });
}

check('taskSignal() on AsyncPoolExecutor: cancel({ interrupt: true }) aborts it', async () => {
  const ex = new AsyncPoolExecutor(1);
  let seen = 'not started';
  const f = ex.submit(async () => {
    const signal = taskSignal();
    seen = 'started';
    await new Promise((resolve) => signal.addEventListener('abort', resolve));
    seen = 'aborted';
  });
  while (seen === 'not started') await new Promise((resolve) => setTimeout(resolve, 1));
  assert.equal(f.cancel({ interrupt: true }), true);
  await assert.rejects(f.result(), CancelledError);
  await ex.shutdown();
  assert.equal(seen, 'aborted');
});

for (const kind of ['thread', 'process']) {
  check(`taskSignal() on ${kind}: shutdown({ wait: false, cancelFutures: true }) aborts the running task's`, async () => {
    const ex = executors[kind](1);
    const f = ex.submit(tasks.untilAborted, 10_000);
    while (!f.running()) await new Promise((resolve) => setTimeout(resolve, 1));
    await ex.shutdown({ wait: false, cancelFutures: true });
    assert.equal(await f.result(), 'aborted');
    await ex.shutdown();
  });
  check(`cancel({ interrupt: true }) on ${kind} ends a task that never yields; the pool goes on`, async () => {
    const ex = executors[kind](1);
    try {
      const loop = ex.submit(() => {
        for (;;);
      });
      while (!loop.running()) await new Promise((resolve) => setTimeout(resolve, 1));
      assert.equal(loop.cancel({ interrupt: true }), true);
      await assert.rejects(loop.result(), CancelledError);
      assert.equal(await ex.submit((x) => x + 1, 41).result(), 42);
    } finally {
      await ex.shutdown();
    }
  });
}

const cli = path('../../dist/cli.js');
const fns = path('../fixtures/cli-fns.mjs');
for (const kind of ['thread', 'process', 'async']) {
  check(`the CLI: map -e ${kind}`, async () => {
    const out = await run(cli, ['map', '-e', kind, '-j', '2', '--chunksize', '4', `${fns}#square`], { input: range(50).join('\n') + '\n' });
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout, range(50).map((x) => `${x * x}\n`).join(''));
  });
}
if (runtime !== 'node') {
  // This runtime imports .ts itself: the CLI must not ask for tsx, which a Bun or Deno project does not have.
  check('the CLI: map on a TypeScript module, in a folder without tsx', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cf-runtimes-'));
    try {
      writeFileSync(join(dir, 'fns.ts'), 'export const norm = (x: number, y: number): number => Math.hypot(x, y);\n');
      for (const kind of ['thread', 'process']) {
        const out = await run(cli, ['map', '--format', 'json', '-e', kind, './fns.ts#norm'], { input: '[3, 4]\n[6, 8]\n', cwd: dir });
        assert.equal(out.code, 0, out.stderr);
        assert.equal(out.stdout, '5\n10\n');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
check('the CLI: a failing line is reported, the rest is written, exit code 1', async () => {
  const out = await run(cli, ['map', '-j', '2', `${fns}#failOnMultiplesOf3`], { input: '1\n2\n3\n4\n' });
  assert.equal(out.code, 1);
  assert.equal(out.stdout, '1\n2\n4\n');
  assert.match(out.stderr, /^concurrent-futures: line 3: RangeError: no multiples of 3: 3$/m);
});

if (runtime === 'deno') {
  check('the CLI under Deno without --allow-net: map --dashboard exits 2 with one line naming the flag', async () => {
    const { code, stdout, stderr } = await denoWith(['--allow-read', '--allow-env'], cli, ['map', '-e', 'async', '--dashboard', `${fns}#square`]);
    assert.equal(code, 2, stderr);
    assert.equal(stdout, '');
    assert.equal(stderr, 'concurrent-futures: cannot serve the dashboard on a free port: serveDashboard(): Deno does not allow listening on 127.0.0.1:0: run with --allow-net (or --allow-net=127.0.0.1)\n');
  });
  // Deno refuses before a socket opens: no Redis is needed, and none listens on the port.
  const redisPort = String(40_000 + (process.pid % 20_000));
  const bullmqTasks = path('../fixtures/bullmq-tasks.mjs');
  check('the CLI under Deno without --allow-env: worker exits 2, saying the BullMQ worker could not be loaded and why, not that it is not installed', async () => {
    const { code, stdout, stderr } = await denoWith(['--allow-read'], cli, ['worker', '--redis', `redis://127.0.0.1:${redisPort}`, '--queue', 'deno-permission', bullmqTasks]);
    assert.equal(code, 2, stderr);
    assert.equal(stdout, '');
    assert.match(stderr, /^concurrent-futures: the BullMQ worker could not be loaded: Requires env access to .*--allow-env flag\n$/);
  });
  check('the CLI under Deno without --allow-net: worker exits 1 at once, naming the flag', async () => {
    const started = performance.now();
    const { code, stdout, stderr } = await denoWith(['--allow-read', '--allow-env'], cli, ['worker', '--redis', `redis://127.0.0.1:${redisPort}`, '--queue', 'deno-permission', bullmqTasks]);
    assert.equal(code, 1, stderr);
    assert.equal(stdout, '');
    assert.equal(stderr, `concurrent-futures worker: runWorker(): Deno does not allow it: Requires net access to "127.0.0.1:${redisPort}", run again with the --allow-net flag\n`);
    assert.ok(performance.now() - started < 20_000, `${Math.round(performance.now() - started)} ms`);
  });
  check('Deno without --allow-net: a BullMQExecutor fails its futures at once, naming the flag, and the program goes on', async () => {
    const { code, stdout, stderr } = await denoWith(['--allow-read', '--allow-env'], path('./bullmq-permission.mjs'), [redisPort]);
    assert.equal(code, 0, stderr);
    assert.equal(stdout, `BrokenExecutorError: the executor cannot reach its queue: BullMQExecutor: Deno does not allow it: Requires net access to "127.0.0.1:${redisPort}", run again with the --allow-net flag\nat once\nthe program goes on\n`);
  });
}

for (const [kind, make] of Object.entries(executors)) {
  check(`tracing and the dashboard on ${kind}: a context per task and map item, state.json's counts, the page, a live message`, async () => {
    const channel = tracingChannel('concurrent-futures:task');
    const ended = [];
    const listener = { asyncEnd: (c) => ended.push(c) };
    channel.subscribe(listener);
    const ex = make(2);
    const dashboard = await serveDashboard({ work: ex });
    try {
      assert.match(dashboard.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      assert.equal(await ex.submit(tasks.square, 3).result(), 9);
      const mapped = [];
      for await (const v of ex.map(tasks.square, [1, 2, 3], { chunksize: 2 })) mapped.push(v);
      assert.deepEqual(mapped, [1, 4, 9]);
      const mine = ended.filter((c) => c.executor === ex);
      assert.equal(mine.length, 4, 'a context per task and per map item');
      for (const c of mine) {
        assert.equal(c.kind, kind);
        assert.equal(c.name, 'square');
        assert.ok(c.queuedAt <= c.startedAt && c.startedAt <= c.endedAt, `times in order: ${c.queuedAt}, ${c.startedAt}, ${c.endedAt}`);
      }
      const state = await (await fetch(`${dashboard.url}state.json`)).json();
      assert.equal(state.executors[0].name, 'work');
      assert.deepEqual(state.executors[0].tasks.square, { queued: 0, running: 0, completed: 4, failed: 0, cancelled: 0 });
      const page = await fetch(dashboard.url);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<script/);
      const events = await fetch(`${dashboard.url}events`);
      const reader = events.body.getReader();
      // Live: a message of the executor's state arrives without asking again.
      let text = '';
      const decoder = new TextDecoder();
      while (!/^data: .*\n\n/m.test(text)) {
        const { value, done } = await reader.read();
        assert.ok(!done, `the stream ended after ${JSON.stringify(text)}`);
        text += decoder.decode(value, { stream: true });
      }
      assert.match(text, /"name":"work"/);
      await reader.cancel();
    } finally {
      channel.unsubscribe(listener);
      await dashboard.close();
      await ex.shutdown();
    }
  });
}

check('concurrent-futures/progress: plain lines where asked, and the bar (cli-progress) on a terminal; every result yielded', async () => {
  const { progress } = await import('concurrent-futures/progress');
  const { Writable } = await import('node:stream');
  const ex = new AsyncPoolExecutor(4);
  const nap = async (n) => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    return n * 2;
  };
  const into = (extra = {}) => {
    const stream = Object.assign(new Writable({ write(chunk, _encoding, callback) { stream.text += chunk; callback(); } }), { text: '' }, extra);
    return stream;
  };
  try {
    const lines = into();
    const plain = [];
    for await (const value of progress(ex.map(nap, range(40)), { lines: true, stream: lines, interval: 20, label: 'doubled' })) plain.push(value);
    assert.deepEqual(plain, range(40).map((n) => n * 2));
    assert.match(lines.text, /(^|\n)doubled 40\/40 100% \| [\d.]+\/s \| ETA 0:00\n$/);
    // What cli-progress asks of a terminal; it draws with escape codes.
    const terminal = into({ isTTY: true, columns: 100, cursorTo: (x, y, cb) => (cb?.(), true), clearLine: (dir, cb) => (cb?.(), true), moveCursor: (dx, dy, cb) => (cb?.(), true), clearScreenDown: (cb) => (cb?.(), true), getWindowSize: () => [100, 30] });
    const drawn = [];
    for await (const value of progress(ex.map(nap, range(40)), { stream: terminal, interval: 20, label: 'doubled' })) drawn.push(value);
    assert.equal(drawn.length, 40);
    assert.match(terminal.text, /doubled \|#+\| 40\/40 100% \| [\d.]+\/s \| ETA 0:00\u001b\[0K\n$/);
  } finally {
    await ex.shutdown();
  }
});

// concurrent-futures/bullmq against the Redis that CF_REDIS_URL names (test/runtimes.test.mjs starts one).
/** Worker processes a check started: any still running when the suite ends (a check failed or ran out of time) are killed. */
const leftovers = new Set();
const redisUrl = process.env.CF_REDIS_URL;
if (redisUrl === undefined) console.log('skipped: the BullMQ checks (CF_REDIS_URL names no Redis)');
else {
  check('BullMQ: a worker started by the CLI runs the executor\'s tasks: submit, map with chunksize, failures, asCompleted; SIGTERM ends it with 0', async () => {
    const { BullMQExecutor } = await import('concurrent-futures/bullmq');
    const { asCompleted } = await import('concurrent-futures');
    const { tasks: jobs } = await import('../fixtures/bullmq-tasks.mjs');
    const queueName = `runtime-${runtime}-${process.pid}`;
    // Under Deno with the flags the README gives it, not -A.
    const [file, head] = runtime === 'deno' ? [process.execPath, ['run', '--allow-read', '--allow-env', '--allow-net', cli]] : command(cli);
    const worker = spawn(file, [...head, 'worker', '--redis', redisUrl, '--queue', queueName, '--concurrency', '4', path('../fixtures/bullmq-tasks.mjs')], { stdio: ['ignore', 'pipe', 'pipe'] });
    leftovers.add(worker);
    const { out, closed } = collected(worker);
    const ex = new BullMQExecutor({ connection: redisUrl, queueName });
    try {
      assert.equal(await ex.submit(jobs.square, 12).result(), 144);
      const items = range(50);
      const mapped = [];
      for await (const value of ex.map(jobs.square, items, { chunksize: 8 })) mapped.push(value);
      assert.deepEqual(mapped, items.map((n) => n * n));
      const error = await ex.submit(jobs.napOrFail, 3, 3).exception();
      assert.ok(error instanceof RangeError, String(error));
      assert.equal(error.message, 'bad item 3');
      const futures = [40, 10, 25].map((ms) => ex.submit(jobs.napThen, ms, ms));
      const order = [];
      for await (const future of asCompleted(futures)) order.push(await future.result());
      assert.deepEqual([...order].sort((a, b) => a - b), [10, 25, 40]);
      const stats = ex.stats();
      assert.equal(stats.completed, 1 + 50 + 1 + 3);
      assert.equal(stats.failed, 1);
    } finally {
      await ex.shutdown();
      // Not worker.kill(): Deno's child_process then reports the signal, not the code the worker exits with.
      process.kill(worker.pid, 'SIGTERM');
    }
    const ended = await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 15_000, null))]);
    assert.ok(ended !== null, `the worker did not exit within 15 s of SIGTERM: ${out.stdout}${out.stderr}`);
    const { code, signal, stdout, stderr } = ended;
    assert.equal(code, 0, `the worker ended with ${signal ?? code}: ${stdout}${stderr}`);
    assert.match(stdout, new RegExp(`^concurrent-futures worker: queue '${queueName}' on redis://127\\.0\\.0\\.1:\\d+, tasks [^\\n]*\\nconcurrent-futures worker: SIGTERM, finishing the running jobs\\n$`));
    assert.equal(stderr, '');
  });
  check('BullMQ: a worker thread that ends (not by process.exit) fails the tasks that await on it, and the worker goes on', async () => {
    const { BullMQExecutor, runWorker } = await import('concurrent-futures/bullmq');
    const { tasks: jobs } = await import('../fixtures/bullmq-tasks.mjs');
    const queueName = `runtime-thread-end-${runtime}-${process.pid}`;
    const worker = await runWorker({ connection: redisUrl, queueName, modules: [path('../fixtures/bullmq-tasks.mjs')], concurrency: 3, threads: 1, quickTasksInline: false });
    const ex = new BullMQExecutor({ connection: redisUrl, queueName });
    try {
      const waiting = [ex.submit(jobs.napThen, 3000, 'a'), ex.submit(jobs.napThen, 3000, 'b')];
      while (!waiting.every((f) => f.running())) await new Promise((resolve) => setTimeout(resolve, 20));
      await new Promise((resolve) => setTimeout(resolve, 200));
      // The pool's own handle on its thread (internal): ended as running out of memory would end it.
      worker._pool.workers[0].transport.terminate();
      const started = performance.now();
      for (const f of waiting) {
        const error = await f.exception();
        assert.equal(error?.name, 'BrokenThreadPoolError', String(error));
        assert.match(error.message, /A worker thread ended while this task was waiting on it/);
      }
      assert.ok(performance.now() - started < 2_000, `they failed after ${Math.round(performance.now() - started)} ms`);
      assert.equal(await ex.submit(jobs.napThen, 10, 'c').result(), 'c');
    } finally {
      await ex.shutdown();
      await worker.close();
    }
  });
}

const CHECK_MS = 60_000;
let passed = 0;
const failed = [];
const started = Date.now();
for (const [name, fn] of checks) {
  const t0 = Date.now();
  let timer;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => (timer = setTimeout(reject, CHECK_MS, new Error(`did not finish within ${CHECK_MS} ms`)))),
    ]);
    passed++;
    console.log(`ok ${name} (${Date.now() - t0} ms)`);
  } catch (error) {
    failed.push(name);
    console.log(`not ok ${name}\n  ${String(error?.stack ?? error).replaceAll('\n', '\n  ')}`);
  } finally {
    clearTimeout(timer);
  }
}
for (const child of leftovers) {
  if (child.exitCode !== null || child.signalCode !== null) continue;
  try {
    process.kill(child.pid, 'SIGKILL');
  } catch {} // gone meanwhile
}
console.log(`${runtime} ${version}: ${passed} of ${checks.length} checks passed in ${Date.now() - started} ms${failed.length ? `; failed: ${failed.join('; ')}` : ''}`);
process.exit(failed.length === 0 ? 0 : 1);
