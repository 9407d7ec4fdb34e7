// ProcessPoolExecutor: every executor's suite, the worker pools' suite, then what only
// child processes do: their own env, Node flags and stdio, death by a signal, children
// that never start, no child outliving a killed parent, results that cannot cross a
// process boundary, and the one task a child holds beyond the one it runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessPoolExecutor, BrokenProcessPoolError, BrokenExecutorError } from 'concurrent-futures';
import { executorSuite } from './executor-suite.mjs';
import { workerPoolSuite } from './worker-pool-suite.mjs';
import { cyclicThrow, identity } from './worker-results-suite.mjs';
import { sleep, within, until, captureStderr, use, napThen } from './helpers.mjs';

const child = {
  importLine: "import { ProcessPoolExecutor } from 'concurrent-futures';",
  construct: (n) => `new ProcessPoolExecutor(${n})`,
};
executorSuite('ProcessPoolExecutor', (n) => new ProcessPoolExecutor(n), child);
workerPoolSuite('ProcessPoolExecutor', (options) => new ProcessPoolExecutor(options), {
  Broken: BrokenProcessPoolError,
  sendsAhead: true,
  worker: 'the child process',
  maxTasksOption: 'maxTasksPerChild',
  initializerFailed: 'A process initializer failed, the process pool is not usable anymore',
  exited: (code) => new RegExp(`exited with code ${code}\\b`),
  argumentUnsendable: /argument 2 of the task cannot be sent to a worker: .*could not be cloned/,
  memoryLimit: {
    options: { execArgv: ['--max-old-space-size=24'] },
    check: (e) => assert.ok(e.exitCode !== 0 || e.signal !== null, e.message),
  },
  child,
});

/** Every test gets a timeout and its pool shut down when it ends, passed or not. */
const t = (title, fn, timeout = 30_000) => test(`ProcessPoolExecutor: ${title}`, { timeout }, fn);

t('env and execArgv reach the children', async (ctx) => {
  const ex = use(ctx, new ProcessPoolExecutor({ maxWorkers: 1, env: { ...process.env, CF_CHILD: 'yes' }, execArgv: ['--max-old-space-size=100'] }));
  assert.equal(await ex.submit(() => process.env.CF_CHILD).result(), 'yes');
  assert.deepEqual(await ex.submit(() => process.execArgv).result(), ['--max-old-space-size=100']);
  assert.throws(() => new ProcessPoolExecutor({ execArgv: '--x' }), /execArgv must be an array of strings/);
});

t('the children\'s stdout and stderr reach the parent\'s', () => {
  const script = `
    import { ProcessPoolExecutor } from 'concurrent-futures';
    const ex = new ProcessPoolExecutor(1);
    try {
      await ex.submit(() => { console.log('out from child'); console.error('err from child'); }).result();
    } finally {
      await ex.shutdown();
    }
  `;
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(out.status, 0, out.stderr);
  assert.match(out.stdout, /out from child/);
  assert.match(out.stderr, /err from child/);
});

t('a child killed by a signal fails its task with the signal', async (ctx) => {
  const ex = use(ctx, new ProcessPoolExecutor(1));
  const e = await within(20_000, ex.submit(() => process.kill(process.pid, 'SIGKILL')).exception());
  assert.ok(e instanceof BrokenProcessPoolError);
  assert.equal(e.signal, 'SIGKILL');
  assert.match(e.message, /killed by SIGKILL/);
  assert.equal(await ex.submit((x) => x * 2, 4).result(), 8);
});

t('when the parent is killed, no child is left running', async (ctx) => {
  const script = `
    import { ProcessPoolExecutor } from 'concurrent-futures';
    const ex = new ProcessPoolExecutor(2);
    const pids = await Promise.all([0, 1].map(() => ex.submit(async () => { await new Promise((r) => setTimeout(r, 300)); return process.pid; }).result()));
    const loops = [ex.submit(() => { for (;;); }), ex.submit(() => { for (;;); })];
    // Reported once both children are busy in their endless loops.
    while (!loops.every((f) => f.running())) await new Promise((r) => setTimeout(r, 10));
    console.log(JSON.stringify(pids));
    setInterval(() => {}, 1000);
  `;
  const parent = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  // Whatever happens below, the parent does not outlive the test.
  ctx.after(() => parent.kill('SIGKILL'));
  let text = '';
  await within(20_000, (async () => {
    for await (const chunk of parent.stdout) {
      text += chunk;
      if (text.includes('\n')) break;
    }
  })(), 'the parent to report its children');
  const pids = JSON.parse(text);
  assert.equal(new Set(pids).size, 2);
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
  await until(() => !pids.some(alive), 'children gone after the parent was killed');
});

t('a worker that never reports is replaced and its tasks run elsewhere', async () => {
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
    await within(15_000, ex.shutdown());
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

t('a result that cannot be sent back fails only its task; cyclic causes do not crash the parent', async () => {
  const ex = new ProcessPoolExecutor(1);
  try {
    const futures = [
      ex.submit(identity, 1),
      ex.submit(() => new SharedArrayBuffer(8)),
      ex.submit(identity, 2),
      ex.submit(cyclicThrow, 'cycle'),
      ex.submit(() => ({ f() {} })),
      ex.submit(identity, 3),
    ];
    assert.equal(await within(10_000, futures[0].result()), 1);
    const sab = await futures[1].exception();
    assert.ok(sab instanceof TypeError);
    assert.match(sab.message, /cannot be sent back from the child process.*SharedArrayBuffer/);
    assert.equal(await futures[2].result(), 2);
    assert.equal((await futures[3].exception()).message, 'cycle');
    assert.match((await futures[4].exception()).message, /cannot be sent back/);
    assert.equal(await futures[5].result(), 3);
    assert.equal(ex.stats().workers, 1, 'the child survived');
  } finally {
    await ex.shutdown();
  }
});


t('a child that cannot start (a bad Node flag) breaks the pool instead of hanging', async (ctx) => {
  await captureStderr(async () => {
    const ex = new ProcessPoolExecutor({ maxWorkers: 2, execArgv: ['--bogus-flag'] });
    ctx.after(() => within(10_000, ex.shutdown()));
    const futures = Array.from({ length: 3 }, (_, i) => ex.submit(identity, i));
    for (const f of futures) {
      const e = await within(10_000, f.exception());
      assert.ok(e instanceof BrokenExecutorError);
      assert.match(e.message, /before it was up/);
      assert.doesNotMatch(e.message, /initializer failed/);
      // Node ends on a bad flag with exit code 9: the error carries it, not only its message.
      assert.equal(e.exitCode, 9);
      assert.equal(e.signal, null);
    }
    await within(10_000, ex.shutdown());
  });
});


t('cancel() leaves at most one task per child uncancellable; interrupting one fails no other', async () => {
  const ex = new ProcessPoolExecutor(1);
  try {
    const long = ex.submit(napThen, 300, 'long');
    const rest = Array.from({ length: 20 }, (_, i) => ex.submit(identity, i));
    await until(() => long.running(), 'the long task to start', 5000);
    const refused = rest.filter((f) => !f.cancel());
    assert.ok(refused.length <= 1, `${refused.length} tasks could not be cancelled`);
    assert.equal(ex.stats().running, [long, ...rest].filter((f) => f.running()).length);
    assert.equal(await within(10_000, long.result()), 'long');
    for (const f of refused) assert.equal(typeof (await f.result()), 'number');

    const victim = ex.submit(() => new Promise(() => {}));
    const behind = ex.submit(identity, 'behind');
    await until(() => victim.running(), 'the victim to start', 5000);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(victim.cancel({ interrupt: true }), true);
    assert.equal(await within(10_000, behind.result()), 'behind');
  } finally {
    await ex.shutdown();
  }
});
