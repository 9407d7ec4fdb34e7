import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessPoolExecutor, BrokenProcessPoolError, CancelledError, wait } from 'concurrent-futures';
import { executorSuite } from './executor-suite.mjs';
import { tasks } from './fixtures/tasks.mjs';
import { sleep, within, captureStderr } from './helpers.mjs';

executorSuite('ProcessPoolExecutor', (n) => new ProcessPoolExecutor(n), {
  importLine: "import { ProcessPoolExecutor } from 'concurrent-futures';",
  construct: (n) => `new ProcessPoolExecutor(${n})`,
});

const pid = () => process.pid;

test('ProcessPoolExecutor: tasks run in other processes; default maxWorkers is availableParallelism()', async () => {
  const ex = new ProcessPoolExecutor();
  assert.equal(ex.maxWorkers, availableParallelism());
  const child = await ex.submit(pid).result();
  assert.notEqual(child, process.pid);
  assert.equal(await ex.submit(tasks.fib, 15).result(), 610);
  await ex.shutdown();
});

test('ProcessPoolExecutor: maxTasksPerChild gives a fresh process after N tasks', async () => {
  const ex = new ProcessPoolExecutor({ maxWorkers: 1, maxTasksPerChild: 2 });
  const pids = [];
  for (let i = 0; i < 6; i++) pids.push(await ex.submit(pid).result());
  assert.equal(pids[0], pids[1]);
  assert.notEqual(pids[1], pids[2]);
  assert.equal(pids[2], pids[3]);
  assert.equal(new Set(pids).size, 3);
  await ex.shutdown();
});

test('ProcessPoolExecutor: env and execArgv reach the children', async () => {
  const ex = new ProcessPoolExecutor({ maxWorkers: 1, env: { ...process.env, CF_CHILD: 'yes' }, execArgv: ['--max-old-space-size=100'] });
  assert.equal(await ex.submit(() => process.env.CF_CHILD).result(), 'yes');
  assert.deepEqual(await ex.submit(() => process.execArgv).result(), ['--max-old-space-size=100']);
  await ex.shutdown();
  assert.throws(() => new ProcessPoolExecutor({ execArgv: '--x' }), /execArgv must be an array of strings/);
});

test('ProcessPoolExecutor: the children\'s stdout and stderr reach the parent\'s', () => {
  const script = `
    import { ProcessPoolExecutor } from 'concurrent-futures';
    const ex = new ProcessPoolExecutor(1);
    await ex.submit(() => { console.log('out from child'); console.error('err from child'); }).result();
    await ex.shutdown();
  `;
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(out.status, 0, out.stderr);
  assert.match(out.stdout, /out from child/);
  assert.match(out.stderr, /err from child/);
});

test('ProcessPoolExecutor: a child that exits fails its task with the exit code; the pool carries on', async () => {
  const ex = new ProcessPoolExecutor(1);
  const e = await within(20_000, ex.submit(() => process.exit(9)).exception());
  assert.ok(e instanceof BrokenProcessPoolError);
  assert.equal(e.exitCode, 9);
  assert.match(e.message, /exited with code 9/);
  assert.equal(await ex.submit((x) => x, 'alive').result(), 'alive');
  await ex.shutdown();
});

test('ProcessPoolExecutor: a child killed by a signal fails its task with the signal', async () => {
  const ex = new ProcessPoolExecutor(1);
  const e = await within(20_000, ex.submit(() => process.kill(process.pid, 'SIGKILL')).exception());
  assert.ok(e instanceof BrokenProcessPoolError);
  assert.equal(e.signal, 'SIGKILL');
  assert.match(e.message, /killed by SIGKILL/);
  assert.equal(await ex.submit((x) => x * 2, 4).result(), 8);
  await ex.shutdown();
});

test('ProcessPoolExecutor: a child out of memory fails its task; the pool replaces it', async () => {
  const ex = new ProcessPoolExecutor({ maxWorkers: 1, execArgv: ['--max-old-space-size=24'] });
  // (The child's own out-of-memory report appears on the shared stderr.)
  const e = await within(60_000, ex.submit(() => {
    const keep = [];
    for (;;) keep.push(new Array(100_000).fill(Math.random()));
  }).exception());
  assert.ok(e instanceof BrokenProcessPoolError);
  assert.ok(e.exitCode !== 0 || e.signal !== null, e.message);
  assert.equal(await ex.submit((x) => x, 'replaced').result(), 'replaced');
  await ex.shutdown();
});

test('ProcessPoolExecutor: cancel({ interrupt: true }) kills the child running the task', async () => {
  const ex = new ProcessPoolExecutor(1);
  const loop = ex.submit(() => { for (;;); });
  await within(10_000, (async () => { while (!loop.running()) await sleep(5); })());
  await sleep(200);
  assert.equal(loop.cancel({ interrupt: true }), true);
  await assert.rejects(loop.result(), CancelledError);
  assert.equal(await within(20_000, ex.submit((x) => x, 'after').result()), 'after');
  await ex.shutdown();
});

test('ProcessPoolExecutor: a failing initializer breaks the pool, as in Python', async () => {
  let ex;
  let fs;
  const stderr = await captureStderr(async () => {
    ex = new ProcessPoolExecutor({ maxWorkers: 1, initializer: tasks.failInit });
    fs = [1, 2].map((i) => ex.submit((x) => x, i));
    await within(20_000, wait(fs));
  });
  assert.match(stderr, /initializer failed/);
  for (const f of fs) assert.ok((await f.exception()) instanceof BrokenProcessPoolError);
  assert.throws(() => ex.submit((x) => x, 1), BrokenProcessPoolError);
  await within(10_000, ex.shutdown());
});

test('ProcessPoolExecutor: initializer and initargs run in each child', async () => {
  const ex = new ProcessPoolExecutor({ maxWorkers: 1, initializer: tasks.init, initargs: ['child ready'] });
  assert.equal(await ex.submit(tasks.initialized).result(), 'child ready');
  await ex.shutdown();
});

test('ProcessPoolExecutor: errors keep class, code and cause across processes', async () => {
  const ex = new ProcessPoolExecutor(1);
  const e = await ex.submit(() => {
    throw Object.assign(new RangeError('outer', { cause: new Error('root') }), { code: 'E_X' });
  }).exception();
  assert.ok(e instanceof RangeError);
  assert.equal(e.code, 'E_X');
  assert.equal(e.cause.message, 'root');
  await ex.shutdown();
});

test('ProcessPoolExecutor: defineTasks from a .ts module under tsx', () => {
  const script = `
    import { ProcessPoolExecutor } from 'concurrent-futures';
    import { tsTasks } from ${JSON.stringify(fileURLToPath(new URL('./fixtures/tasks.ts', import.meta.url)))};
    const ex = new ProcessPoolExecutor(1);
    console.log(await ex.submit(tsTasks.norm, { x: 5, y: 12 }).result());
    await ex.shutdown();
  `;
  const out = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(out.status, 0, out.stderr);
  assert.equal(out.stdout.trim(), '13');
});

test('ProcessPoolExecutor: when the parent is killed, no child is left running', async () => {
  const script = `
    import { ProcessPoolExecutor } from 'concurrent-futures';
    const ex = new ProcessPoolExecutor(2);
    const pids = await Promise.all([0, 1].map(() => ex.submit(async () => { await new Promise((r) => setTimeout(r, 300)); return process.pid; }).result()));
    ex.submit(() => { for (;;); });
    ex.submit(() => { for (;;); });
    console.log(JSON.stringify(pids));
    setInterval(() => {}, 1000);
  `;
  const parent = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  for await (const chunk of parent.stdout) {
    text += chunk;
    if (text.includes('\n')) break;
  }
  const pids = JSON.parse(text);
  assert.equal(new Set(pids).size, 2);
  await sleep(300); // the children are in their endless loops now
  for (const p of pids) assert.doesNotThrow(() => process.kill(p, 0), 'child alive before');
  parent.kill('SIGKILL');
  const alive = (p) => {
    try {
      process.kill(p, 0);
      return true;
    } catch {
      return false;
    }
  };
  await within(10_000, (async () => { while (pids.some(alive)) await sleep(100); })(), 'children gone after the parent was killed');
});

test('ProcessPoolExecutor: a worker that never reports is replaced and its tasks run elsewhere', { timeout: 60_000 }, async () => {
  // The first child hangs in a preload, before the pool's code runs (as Node 20
  // sometimes leaves a worker that never starts); later children start normally.
  const dir = mkdtempSync(join(tmpdir(), 'cf-stall-'));
  const marker = join(dir, 'stalled');
  const preload = `import fs from 'node:fs';
    if (!fs.existsSync(${JSON.stringify(marker)})) { fs.writeFileSync(${JSON.stringify(marker)}, ''); setInterval(() => {}, 1e9); await new Promise(() => {}); }`;
  const ex = new ProcessPoolExecutor({ maxWorkers: 1, execArgv: ['--import', `data:text/javascript,${encodeURIComponent(preload)}`] });
  try {
    const f = ex.submit((x) => x * 2, 21);
    assert.equal(await within(30_000, f.result(), 'the task, after the stalled child was replaced'), 42);
    assert.equal(existsSync(marker), true, 'the first child did stall');
    assert.equal(ex.stats().failed, 0);
  } finally {
    await ex.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
});
