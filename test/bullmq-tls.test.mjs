// BullMQExecutor and its workers over TLS (`rediss://`) with a password, against a redis-server that
// listens on TLS only, with a throwaway CA and certificate made here by openssl. No password is printed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { freePort, redisSkipReason, startRedis } from './redis-server.mjs';
import { captureStderr, within } from './helpers.mjs';

const TASKS = fileURLToPath(new URL('./fixtures/bullmq-tasks.mjs', import.meta.url));
const WORKER = fileURLToPath(new URL('./fixtures/bullmq-worker.mjs', import.meta.url));
const SECRET = 'Tl5-s3cret-pa55word-q7';
const WRONG = 'Wr0ng-tl5-pa55word-k2';

let skipReason = redisSkipReason();
if (!skipReason && spawnSync('sh', ['-c', 'command -v openssl']).status !== 0) {
  skipReason = 'openssl is not installed: the TLS test makes its certificates with it';
  if (process.env.CI === 'true') throw new Error(`${skipReason}; CI must have it`);
  console.error(`\n!!! SKIPPING the BullMQ TLS test: ${skipReason} !!!\n`);
}
const { BullMQExecutor, runWorker } = skipReason ? {} : await import('concurrent-futures/bullmq');
const { tasks } = await import('./fixtures/bullmq-tasks.mjs');

let dir;
let redis;
let files;
if (!skipReason) {
  // Started here, not in before(): a redis-server built without TLS must skip these tests, not fail them.
  dir = mkdtempSync(join(tmpdir(), 'cf-redis-tls-'));
  try {
    files = makeCertificates(dir);
    redis = await startRedis(['--requirepass', SECRET], { tls: files });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    const message = String(error?.message ?? error);
    if (!/tls/i.test(message)) throw error;
    skipReason = `this redis-server cannot serve TLS (${message.split('\n').find((line) => /tls/i.test(line)).trim()})`;
    if (process.env.CI === 'true') throw new Error(`${skipReason}; CI must have one that can`);
    console.error(`\n!!! SKIPPING the BullMQ TLS tests: ${skipReason} !!!\n`);
  }
  after(async () => {
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
}

/** A CA, and a certificate it signed for 127.0.0.1, valid for a day. */
function makeCertificates(where) {
  const f = (name) => join(where, name);
  const openssl = (...args) => {
    const out = spawnSync('openssl', args, { encoding: 'utf8' });
    if (out.status !== 0) throw new Error(`openssl ${args[0]} failed: ${out.stderr}`);
  };
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '1', '-subj', '/CN=concurrent-futures test CA');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('redis.key'), '-out', f('redis.csr'), '-subj', '/CN=127.0.0.1');
  spawnSync('sh', ['-c', `printf 'subjectAltName=IP:127.0.0.1\\n' > '${f('san.ext')}'`]);
  openssl('x509', '-req', '-in', f('redis.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('redis.crt'), '-days', '1', '-extfile', f('san.ext'));
  return { ca: f('ca.crt'), cert: f('redis.crt'), key: f('redis.key') };
}

/** A process that trusts the test CA, as a user's would with NODE_EXTRA_CA_CERTS. */
function trustingProcess(args) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_EXTRA_CA_CERTS: files.ca } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited, output: () => ({ stdout, stderr }) };
}

const t = (title, fn, timeout = 60_000) => test(`BullMQExecutor over TLS: ${title}`, skipReason ? { skip: skipReason } : { timeout }, fn);

t('the worker command and an executor reach Redis by rediss:// with a password; nothing prints the password', async () => {
  const queueName = `tls${process.pid}-1`;
  const url = `rediss://:${SECRET}@127.0.0.1:${redis.port}`;
  // The worker command, given a rediss:// URL: the password and TLS travel in the URL alone.
  const worker = trustingProcess([WORKER, '--redis', url, '--queue', queueName, TASKS]);
  try {
    await within(20_000, (async () => {
      while (!worker.output().stdout.includes('tasks ')) {
        if (worker.child.exitCode !== null) throw new Error(`the worker exited: ${worker.output().stderr}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    })(), 'the worker to start');
    // An executor in another process, from the same URL.
    const script = `
      import { BullMQExecutor } from 'concurrent-futures/bullmq';
      import { tasks } from ${JSON.stringify(new URL('./fixtures/bullmq-tasks.mjs', import.meta.url).href)};
      const ex = new BullMQExecutor({ connection: ${JSON.stringify(url)}, queueName: ${JSON.stringify(queueName)} });
      try {
        console.log(JSON.stringify(await Promise.all([ex.submit(tasks.square, 7).result(), ex.submit(tasks.echo, new Date(5)).result().then((d) => d.getTime())])));
      } finally {
        await ex.shutdown();
      }
    `;
    const client = trustingProcess(['--input-type=module', '-e', script]);
    const { code } = await within(30_000, client.exited, 'the executor process');
    assert.equal(code, 0, client.output().stderr);
    assert.equal(client.output().stdout.trim(), '[49,5]');
    // In this process: ioredis options with the CA, handed to ioredis unchanged.
    const ex = new BullMQExecutor({ connection: { host: '127.0.0.1', port: redis.port, password: SECRET, tls: { ca: readFileSync(files.ca) } }, queueName });
    try {
      assert.equal(await within(20_000, ex.submit(tasks.square, 8).result()), 64);
    } finally {
      await ex.shutdown();
    }
    worker.child.kill('SIGTERM');
    assert.equal((await within(20_000, worker.exited)).code, 0, worker.output().stderr);
    const { stdout, stderr } = worker.output();
    assert.match(stdout, /rediss:\/\/:\*\*\*@127\.0\.0\.1/);
    for (const text of [stdout, stderr, client.output().stdout, client.output().stderr]) assert.ok(!text.includes(SECRET), text);
  } finally {
    worker.child.kill('SIGKILL');
    await worker.exited;
  }
});

t('a wrong password over TLS, or a certificate not trusted, fails at once with a clear error that does not print the password', async () => {
  const queueName = `tls${process.pid}-2`;
  const stderr = await captureStderr(async () => {
    // runWorker: options with TLS and a wrong password; the start fails, naming no password.
    const error = await within(20_000, runWorker({
      connection: { host: '127.0.0.1', port: redis.port, password: WRONG, tls: { ca: readFileSync(files.ca) }, retryStrategy: () => null },
      queueName,
      modules: [TASKS],
    }).then(() => null, (e) => e));
    assert.ok(error instanceof Error, 'runWorker should have failed');
    assert.match(error.message, /refused the login/);
    assert.ok(!String(error.stack).includes(WRONG));
    // The executor: its future fails with BrokenExecutorError (no hang), without the password.
    const bad = new BullMQExecutor({ connection: { host: '127.0.0.1', port: redis.port, password: WRONG, tls: { ca: readFileSync(files.ca) } }, queueName });
    const why = await within(20_000, bad.submit(tasks.square, 2).exception());
    assert.equal(why?.name, 'BrokenExecutorError');
    assert.ok(!String(why.stack).includes(WRONG));
    await within(10_000, bad.shutdown());
  });
  assert.ok(!stderr.includes(WRONG) && !stderr.includes(SECRET), stderr);
  // A rediss:// URL but no trust in the test CA (this process has none): a clear error at once, no hang.
  const url = `rediss://:${SECRET}@127.0.0.1:${redis.port}`;
  const untrusting = new BullMQExecutor({ connection: url, queueName });
  const why = await within(20_000, untrusting.submit(tasks.square, 2).exception());
  assert.equal(why?.name, 'BrokenExecutorError');
  assert.match(why.message, /TLS certificate is not trusted \(SELF_SIGNED_CERT_IN_CHAIN\)/);
  assert.ok(!String(why.stack).includes(SECRET));
  await within(10_000, untrusting.shutdown());
  const cli = spawn(process.execPath, [WORKER, '--redis', url, '--queue', queueName, TASKS], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  cli.stdout.on('data', (d) => (out += d));
  cli.stderr.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => cli.on('exit', resolve));
  try {
    assert.equal(await within(20_000, exited, 'the worker command to give up'), 1, out);
    assert.match(out, /TLS certificate is not trusted/);
    assert.ok(!out.includes('tasks '), 'the worker must not start without the CA');
    assert.ok(!out.includes(SECRET), out);
  } finally {
    cli.kill('SIGKILL');
  }
});

/**
 * A TCP proxy to Redis that holds back what Redis sends on its first connection (an executor's
 * commands) until 600 ms after the later ones (its event reader, retrying) have failed six times.
 * The executor then learns of the failure while the reader waits over a second to retry (ioredis'
 * backoff) and an add waits on it (retried 500 ms after the reader's last failure), as load makes
 * it happen at random.
 */
async function skewingProxy(port) {
  const sockets = new Set();
  let connections = 0;
  let closed = 0;
  let release = () => {};
  const server = createServer((client) => {
    const n = ++connections;
    const upstream = connect(port, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    if (n === 1) release = () => upstream.pipe(client);
    else upstream.pipe(client);
    if (n > 1) client.on('close', () => ++closed === 6 && setTimeout(release, 600));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    close: () => new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(resolve);
    }),
  };
}

/**
 * Runs `body` (module code that has `connection`, and prints one line of JSON when it is done) in a
 * process of its own, which must then exit by itself: resolves to what it printed.
 */
async function failingProcess(what, connection, body) {
  const script = `
    import { BullMQExecutor, runWorker } from 'concurrent-futures/bullmq';
    import { readFileSync } from 'node:fs';
    import { tasks } from ${JSON.stringify(new URL('./fixtures/bullmq-tasks.mjs', import.meta.url).href)};
    const connection = ${connection};
    const TASKS = ${JSON.stringify(TASKS)};
    ${body}
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    await within(20_000, (async () => {
      while (!stdout.includes('\n') && child.exitCode === null) await new Promise((r) => setTimeout(r, 10));
    })(), `${what}: shutdown()`);
    // Nothing left holding the process: it ends by itself.
    const code = await within(5000, exited, `${what}: the process to exit by itself once done`);
    assert.equal(code, 0, stderr);
    for (const text of [stdout, stderr]) assert.ok(!text.includes(WRONG) && !text.includes(SECRET), text);
    return JSON.parse(stdout);
  } finally {
    child.kill('SIGKILL');
  }
}

t('an executor whose connection failed shuts down at once, its futures failed naming why, and its process then exits by itself', async () => {
  const queueName = `tls${process.pid}-3`;
  const ca = JSON.stringify(files.ca);
  // Submits, waits for shutdown(), and prints how each future ended; never calls process.exit.
  const executorBody = `
    const ex = new BullMQExecutor({ connection, queueName: ${JSON.stringify(queueName)} });
    const futures = [ex.submit(tasks.square, 2), ex.submit(tasks.square, 3)];
    const results = ex.map(tasks.square, [1, 2, 3]);
    await ex.shutdown();
    const ended = [];
    for (const f of futures) ended.push(f.done() ? { name: (await f.exception())?.name, message: (await f.exception())?.message } : 'pending');
    const mapped = await results.next().then(() => 'a value', (e) => e.message);
    console.log(JSON.stringify({ ended, mapped }));
  `;
  const port = await freePort();
  const proxy = await skewingProxy(redis.port);
  const untrustingProxy = await skewingProxy(redis.port);
  try {
    const cases = [
      ['a wrong password', `{ host: '127.0.0.1', port: ${proxy.port}, password: ${JSON.stringify(WRONG)}, tls: { ca: readFileSync(${ca}) } }`, /refused the login: WRONGPASS/],
      ['a certificate not trusted', JSON.stringify(`rediss://:${SECRET}@127.0.0.1:${untrustingProxy.port}`), /TLS certificate is not trusted \(SELF_SIGNED_CERT_IN_CHAIN\)/],
      ['a port where nothing listens', JSON.stringify(`redis://127.0.0.1:${port}`), new RegExp(`Redis could not be reached: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}`)],
      ['a host that does not exist', JSON.stringify('redis://no-such-host.invalid:6379'), /Redis could not be reached: getaddrinfo (ENOTFOUND|EAI_AGAIN) no-such-host\.invalid/],
    ];
    for (const [what, connection, why] of cases) {
      const report = await failingProcess(what, connection, executorBody);
      for (const ended of report.ended) {
        assert.equal(ended.name, 'BrokenExecutorError', `${what}: ${JSON.stringify(ended)}`);
        assert.match(ended.message, /^the executor cannot reach its queue: BullMQExecutor: /);
        assert.match(ended.message, why);
      }
      assert.match(report.mapped, why, what);
    }
    // runWorker: its start fails; nothing it opened holds the process.
    const workerBody = `
      const error = await runWorker({ connection, queueName: ${JSON.stringify(queueName)}, modules: [TASKS] }).then(() => null, (e) => e.message);
      console.log(JSON.stringify({ error }));
    `;
    const report = await failingProcess('runWorker', `{ host: '127.0.0.1', port: ${proxy.port}, password: ${JSON.stringify(WRONG)}, tls: { ca: readFileSync(${ca}) } }`, workerBody);
    assert.match(report.error, /^runWorker\(\): Redis refused the login/);
  } finally {
    await proxy.close();
    await untrustingProxy.close();
  }
}, 120_000);
