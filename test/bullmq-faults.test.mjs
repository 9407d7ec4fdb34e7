// BullMQExecutor when things go wrong: a worker killed mid-job, Redis gone for a while,
// events trimmed before they were read, a password, the worker command's own failures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { wait } from 'concurrent-futures';
import { redisForTests, redisSkipReason, startRedis } from './redis-server.mjs';
import { within, captureStderr, until } from './helpers.mjs';

const skipReason = redisSkipReason();
const TASKS = fileURLToPath(new URL('./fixtures/bullmq-tasks.mjs', import.meta.url));
const WORKER = fileURLToPath(new URL('./fixtures/bullmq-worker.mjs', import.meta.url));
const { BullMQExecutor, runWorker } = skipReason ? {} : await import('concurrent-futures/bullmq');
const { tasks } = await import('./fixtures/bullmq-tasks.mjs');

const redis = redisForTests(skipReason);
let queues = 0;
const newQueue = () => `f${process.pid}-${++queues}`;
const t = (title, fn, timeout = 60_000) => test(`BullMQExecutor faults: ${title}`, skipReason ? { skip: skipReason } : { timeout }, fn);

/** A worker process started by the worker command; `ready` resolves once it takes jobs. */
function workerProcess(args) {
  const child = spawn(process.execPath, [WORKER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const ready = within(20_000, (async () => {
    while (!stdout.includes('tasks ')) {
      if (child.exitCode !== null) throw new Error(`the worker exited: ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  })(), 'the worker to start');
  return { child, ready, exited, output: () => ({ stdout, stderr }) };
}

t('a worker SIGKILLed mid-job: another worker runs its jobs, every future settles with the right value', async () => {
  const queueName = newQueue();
  const args = ['--redis', redis.url, '--queue', queueName, '--concurrency', '4', '--lock-duration', '2000', '--stalled-interval', '1000', TASKS];
  const first = workerProcess(args);
  const ex = new BullMQExecutor({ connection: redis.url, queueName, reconcileInterval: 2000 });
  let second;
  try {
    await first.ready;
    const futures = Array.from({ length: 12 }, (_, i) => ex.submit(tasks.napThen, 400, i));
    await until(() => ex.stats().running > 0, 'a job to start');
    first.child.kill('SIGKILL');
    await first.exited;
    second = workerProcess(args);
    await second.ready;
    const values = await within(30_000, Promise.all(futures.map((f) => f.result())), 'every future to settle');
    assert.deepEqual(values, futures.map((_, i) => i));
  } finally {
    first.child.kill('SIGKILL');
    await ex.shutdown({ cancelFutures: true });
    second?.child.kill('SIGTERM');
    await second?.exited;
  }
});

t('Redis stopped for a few seconds mid-run and restarted empty: nothing hangs, nothing is lost', async () => {
  // A Redis of its own: restarting it must not disturb the other tests.
  const own = await startRedis();
  const queueName = newQueue();
  const worker = await runWorker({ connection: own.url, queueName, modules: [TASKS], concurrency: 4 });
  const ex = new BullMQExecutor({ connection: own.url, queueName, reconcileInterval: 1000 });
  try {
    const futures = Array.from({ length: 40 }, (_, i) => ex.submit(tasks.napThen, 50, i));
    await until(() => ex.stats().completed >= 5, 'some jobs to finish');
    await own.stop();
    // Submitted while Redis is away: held and added once it is back.
    const during = Array.from({ length: 5 }, (_, i) => ex.submit(tasks.square, i));
    await new Promise((r) => setTimeout(r, 2500));
    await own.restart();
    const values = await within(40_000, Promise.all(futures.map((f) => f.result())), 'every future to settle after the restart');
    assert.deepEqual(values, futures.map((_, i) => i));
    assert.deepEqual(await within(20_000, Promise.all(during.map((f) => f.result()))), [0, 1, 4, 9, 16]);
  } finally {
    await within(20_000, ex.shutdown({ cancelFutures: true }), 'shutdown');
    await within(20_000, worker.close(), 'the worker to close');
    await own.stop();
  }
});

t('events trimmed before they were read: every future still settles, from the jobs themselves', async () => {
  const queueName = newQueue();
  const worker = await runWorker({ connection: redis.url, queueName, modules: [TASKS], concurrency: 8, threads: 0 });
  // BullMQ trims the stream to about this many events: most of 600 jobs' events are gone before a read.
  const ex = new BullMQExecutor({ connection: redis.url, queueName, streams: { events: { maxLen: 1 } }, reconcileInterval: 500 });
  try {
    const futures = Array.from({ length: 600 }, (_, i) => ex.submit(tasks.square, i));
    const values = await within(40_000, Promise.all(futures.map((f) => f.result())), 'every future to settle');
    assert.deepEqual(values, futures.map((_, i) => i * i));
  } finally {
    await ex.shutdown();
    await worker.close();
  }
});

t('a password-protected Redis: options pass through; no password is printed, also not in errors', async () => {
  const secret = 'S3cret-pa55word-xyz';
  const locked = await startRedis(['--requirepass', secret]);
  const queueName = newQueue();
  const url = `redis://:${secret}@127.0.0.1:${locked.port}`;
  try {
    const stderr = await captureStderr(async () => {
      const worker = await runWorker({ connection: { host: '127.0.0.1', port: locked.port, password: secret }, queueName, modules: [TASKS] });
      const ex = new BullMQExecutor({ connection: url, queueName });
      assert.equal(await within(10_000, ex.submit(tasks.square, 5).result()), 25);
      await ex.shutdown();
      await worker.close();
      // A wrong password: the worker fails to start with an error that does not echo it.
      const wrong = 'Wr0ng-pa55word-abc';
      const error = await within(20_000, runWorker({ connection: { host: '127.0.0.1', port: locked.port, password: wrong, maxRetriesPerRequest: 1, retryStrategy: () => null }, queueName, modules: [TASKS] }).then(() => null, (e) => e));
      assert.ok(error instanceof Error);
      assert.match(error.message, /refused the login/);
      assert.ok(!String(error.message).includes(wrong) && !String(error.stack).includes(wrong));
      // The executor: its futures fail (no hang), and later submits throw, all without the password.
      const badEx = new BullMQExecutor({ connection: `redis://:${wrong}@127.0.0.1:${locked.port}`, queueName });
      const lost = badEx.submit(tasks.square, 2);
      const why = await within(10_000, lost.exception());
      assert.equal(why.name, 'BrokenExecutorError');
      assert.match(why.message, /cannot reach its queue.*refused the login/);
      assert.ok(!why.message.includes(wrong) && !String(why.stack).includes(wrong));
      assert.throws(() => badEx.submit(tasks.square, 3), (e) => e.name === 'BrokenExecutorError' && !e.message.includes(wrong));
      await within(10_000, badEx.shutdown());
    });
    assert.ok(!stderr.includes(secret), stderr);
    // The worker command prints where it connects, without the password.
    const cli = workerProcess(['--redis', url, '--queue', queueName, TASKS]);
    await cli.ready;
    cli.child.kill('SIGTERM');
    const { code } = await within(20_000, cli.exited);
    const { stdout, stderr: cliErr } = cli.output();
    assert.equal(code, 0, cliErr);
    assert.match(stdout, /redis:\/\/:\*\*\*@127\.0\.0\.1/);
    assert.ok(!stdout.includes(secret) && !cliErr.includes(secret));
    const bad = workerProcess(['--redis', `redis://:${secret}@127.0.0.1:${locked.port}`, '--queue', queueName, '--concurrency', 'lots', TASKS]);
    bad.ready.catch(() => {});
    const result = await within(20_000, bad.exited);
    assert.equal(result.code, 2);
    assert.ok(!bad.output().stderr.includes(secret));
  } finally {
    await locked.stop();
  }
});

t('the worker command: bad usage is one clear line and exit code 2; SIGTERM and SIGINT stop it gracefully (exit 0)', async () => {
  for (const [args, pattern] of [
    [[], /--redis URL is required/],
    [['--redis', redis.url], /--queue NAME is required/],
    [['--redis', redis.url, '--queue', 'q'], /at least one task MODULE/],
    [['--redis', 'http://x', '--queue', 'q', TASKS], /redis:\/\/ or rediss:\/\//],
    [['--redis', redis.url, '--queue', 'q', '--concurrency', '0', TASKS], /--concurrency must be a positive integer/],
    [['--redis', redis.url, '--queue', 'q', '--bogus', TASKS], /Unknown option '--bogus'/],
  ]) {
    const p = workerProcess(args);
    p.ready.catch(() => {});
    const { code } = await within(20_000, p.exited);
    assert.equal(code, 2, `${args.join(' ')}: ${p.output().stderr}`);
    assert.match(p.output().stderr.split('\n')[0], pattern);
  }
  const queueName = newQueue();
  const ex = new BullMQExecutor({ connection: redis.url, queueName });
  try {
    for (const signal of ['SIGTERM', 'SIGINT']) {
      const w = workerProcess(['--redis', redis.url, '--queue', queueName, TASKS]);
      await w.ready;
      const f = ex.submit(tasks.napThen, 600, signal);
      await until(() => f.running(), 'the task to start');
      w.child.kill(signal);
      // The running job finishes before the worker exits.
      assert.equal(await within(10_000, f.result()), signal);
      const { code } = await within(20_000, w.exited);
      assert.equal(code, 0, w.output().stderr);
    }
  } finally {
    await ex.shutdown();
  }
});

t('the worker command: quick tasks move to its event loop, unless --no-quick-inline', async () => {
  const queueName = newQueue();
  const ex = new BullMQExecutor({ connection: redis.url, queueName });
  for (const flags of [[], ['--no-quick-inline']]) {
    const w = workerProcess(['--redis', redis.url, '--queue', queueName, ...flags, TASKS]);
    try {
      await w.ready;
      const where = [];
      for (let i = 0; i < 60; i++) where.push(await within(10_000, ex.submit(tasks.placed, 0).result()));
      if (flags.length === 0) assert.ok(where.includes('main'), `never on the event loop: ${where}`);
      else assert.deepEqual(new Set(where), new Set(['thread']));
    } finally {
      w.child.kill('SIGTERM');
      await within(20_000, w.exited);
    }
  }
  await ex.shutdown();
});

t('the worker command runs .ts task modules under tsx, and says so when started without it', async () => {
  const queueName = newQueue();
  const ts = fileURLToPath(new URL('./fixtures/bullmq-tasks-ts.ts', import.meta.url));
  // Node 22.18+ and 24 strip types themselves (process.features.typescript): there a .ts module needs no tsx.
  if (typeof process.features?.typescript !== 'string') {
    const plain = workerProcess(['--redis', redis.url, '--queue', queueName, ts]);
    plain.ready.catch(() => {});
    const { code } = await within(20_000, plain.exited);
    assert.equal(code, 1);
    assert.match(plain.output().stderr, /TypeScript module: start the worker under tsx/);
  }
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, '--redis', redis.url, '--queue', queueName, ts], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  const ex = new BullMQExecutor({ connection: redis.url, queueName });
  try {
    await within(30_000, (async () => { while (!stdout.includes('tasks ')) { if (child.exitCode !== null) throw new Error(stderr); await new Promise((r) => setTimeout(r, 20)); } })(), 'the worker to start');
    const { tsTasks } = await import('./fixtures/bullmq-tasks-ts-names.mjs');
    assert.equal(await within(20_000, ex.submit(tsTasks.shout, 'hi').result()), 'HI!');
  } finally {
    await ex.shutdown({ cancelFutures: true });
    child.kill('SIGTERM');
    await exited;
  }
});

t('a malformed job written by another client fails alone, once, without retry; the worker keeps serving', async () => {
  const { serialize } = await import('node:v8');
  const { Queue } = await import('bullmq');
  const v8 = (value) => serialize(value).toString('base64');
  const sparse = (length, ...elements) => Object.assign([...elements], { length });
  const settled = async (job, state, what) => {
    const end = Date.now() + 15_000;
    while ((await job.getState()) !== state) {
      if (Date.now() > end) throw new Error(`${what} did not happen within 15 s; the worker ${w.child.exitCode === null ? 'runs' : `exited (${w.child.exitCode ?? w.child.signalCode})`}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const queueName = newQueue();
  const w = workerProcess(['--redis', redis.url, '--queue', queueName, '--concurrency', '4', TASKS]);
  const queue = new Queue(queueName, { connection: { host: '127.0.0.1', port: redis.port } });
  try {
    await w.ready;
    const bad = [
      [{ a: [0, 1, 2], c: 1 }, /arity .* must be an integer from 1 to 65536, got number 0/],
      [{ a: v8(sparse(2 ** 32 - 1)) }, /sparse array of length 4294967295/],
      [{ a: v8(sparse(2 ** 32 - 1, 1)), c: 1 }, /sparse array of length 4294967295/],
      [{ a: v8(sparse(2 ** 31, 1, 5)), c: 1 }, /sparse array of length 2147483648/],
      [{ a: [-1, 1, 2], c: 1 }, /arity .* got number -1/],
      [{ a: [1.5, 1, 2], c: 1 }, /arity .* got number 1\.5/],
      [{ a: v8([NaN, 1]), c: 1 }, /arity .* got number NaN/],
      [{ a: [null, 1], c: 1 }, /arity .* got null/],
      [{ a: ['2', 1, 2], c: 1 }, /arity .* got string "2"/],
      [{ a: [1e9, 1], c: 1 }, /arity .* got number 1000000000/],
      [{ a: [2, 1, 2, 3], c: 1 }, /3 arguments after its arity, which is not a positive multiple of 2/],
      [{ a: [1], c: 1 }, /0 arguments after its arity/],
      [{ a: [1, 2], c: 2 }, /chunk mark 'c' must be 1 or absent, got number 2/],
      [{ a: new Array(70_000).fill(0) }, /70000 arguments, more than the 65536/],
      [{ a: v8({ 0: 1, length: 2 ** 32 - 1 }) }, /arguments are not an array/],
      [{ a: 'not base64 at all!' }, /cannot be read/],
      [{ a: 1 }, /no encoded arguments/],
    ];
    const jobs = await Promise.all(bad.map(([data]) => queue.add('square', data, { attempts: 3 })));
    for (const [i, job] of jobs.entries()) {
      const label = JSON.stringify(bad[i][0]).slice(0, 60);
      await settled(job, 'failed', `the job ${label} to fail`);
      const failed = await queue.getJob(job.id);
      assert.equal(failed.attemptsMade, 1, `${label} was retried`);
      assert.match(failed.failedReason, /^the job's arguments cannot be read: /, label);
      assert.match(failed.failedReason, bad[i][1], label);
    }
    // Data that is valid, however odd: a sparse array as an argument, which the task gets as it is.
    const odd = await queue.add('typeOf', { a: v8([sparse(2 ** 32 - 1)]) });
    const good = await queue.add('square', { a: [7] });
    for (const job of [odd, good]) await settled(job, 'completed', `job ${job.name} to complete`);
    assert.deepEqual((await queue.getJob(good.id)).returnvalue, [0, 49]);
    assert.deepEqual((await queue.getJob(odd.id)).returnvalue, [0, '[object Array]']);
    assert.equal(w.child.exitCode, null, w.output().stderr);
  } finally {
    await queue.close();
    w.child.kill('SIGKILL');
    await w.exited;
  }
});

t('a job its worker ends as interrupted, which the executor never cancelled, fails its future, naming the job, rather than leave it pending', async () => {
  // A worker of another build (or one at fault) answering every job so; this executor asked for no interrupt.
  const { Worker } = await import('bullmq');
  const { encodeOutcome, INTERRUPTED } = await import('../dist/bullmq/envelope.js');
  const queueName = newQueue();
  const connection = { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null };
  const worker = new Worker(queueName, async () => encodeOutcome(INTERRUPTED, null), { connection });
  const ex = new BullMQExecutor({ connection: redis.url, queueName });
  try {
    const future = ex.submit(tasks.square, 3);
    const error = await within(10_000, future.exception(), 'the future to settle');
    assert.match(String(error), new RegExp(`^Error: job ${future.jobId ?? '\\S+'}: its worker ended it as interrupted, which this executor did not ask for$`));
    assert.equal(ex.stats().failed, 1);
    // The executor goes on: a real outcome still settles.
    const { encodeOutcome: encode, VALUE } = await import('../dist/bullmq/envelope.js');
    await worker.close();
    const answering = new Worker(queueName, async () => encode(VALUE, 9), { connection });
    try {
      assert.equal(await within(10_000, ex.submit(tasks.square, 3).result(), 'the next future'), 9);
    } finally {
      await answering.close();
    }
  } finally {
    await ex.shutdown();
    await worker.close();
  }
});

t('a fault inside the worker that is not a cancel reaches the submitter as the task\'s failure, not as an interrupt', async () => {
  // Fault injection: the worker's thread pool hands back futures whose outcome cannot be read.
  const { ThreadPoolExecutor } = await import('concurrent-futures');
  const submit = ThreadPoolExecutor.prototype.submit;
  ThreadPoolExecutor.prototype.submit = function (...args) {
    const future = submit.apply(this, args);
    future.exception = () => Promise.reject(new TypeError('injected: the outcome cannot be read'));
    return future;
  };
  const queueName = newQueue();
  const worker = await runWorker({ connection: redis.url, queueName, modules: [TASKS], concurrency: 2, quickTasksInline: false });
  const ex = new BullMQExecutor({ connection: redis.url, queueName });
  try {
    const error = await within(10_000, ex.submit(tasks.napThen, 5, 'x').exception(), 'the future to settle');
    assert.ok(error instanceof TypeError, String(error));
    assert.equal(error.message, 'injected: the outcome cannot be read');
  } finally {
    ThreadPoolExecutor.prototype.submit = submit;
    await ex.shutdown();
    await worker.close();
  }
});
