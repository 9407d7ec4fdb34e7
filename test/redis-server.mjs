// Starts a throwaway redis-server for the BullMQ tests: 127.0.0.1, a free port,
// no persistence. Without redis-server the tests skip loudly; under CI they fail.
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { after, before } from 'node:test';

export const hasRedis = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).status === 0;

/** Why the BullMQ tests cannot run here, or false when they can (throws under CI). */
export function redisSkipReason() {
  if (hasRedis) return false;
  const message = 'redis-server is not installed: the BullMQ tests need it (apt-get install -y redis-server)';
  if (process.env.CI === 'true') throw new Error(`${message}; CI must install it`);
  console.error(`\n!!! SKIPPING the BullMQ tests: ${message} !!!\n`);
  return message;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * A running redis-server; `stop()` ends it, `restart()` starts it again on the same port (empty).
 * With `tls` ({ cert, key, ca } file paths) it listens on TLS only (`rediss://`), its plain port closed.
 */
export async function startRedis(extraArgs = [], { tls } = {}) {
  const port = await freePort();
  const listen = tls
    ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', tls.cert, '--tls-key-file', tls.key, '--tls-ca-cert-file', tls.ca, '--tls-auth-clients', 'no']
    : ['--port', String(port)];
  const args = [...listen, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs];
  let proc;
  const launch = async () => {
    proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (out += d));
    const started = Date.now();
    while (!/Ready to accept connections/i.test(out)) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited: ${out}`);
      if (Date.now() - started > 10_000) throw new Error(`redis-server did not start: ${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await launch();
  const stop = () => new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.once('exit', () => resolve());
    proc.kill('SIGKILL');
  });
  return {
    port,
    url: `${tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`,
    stop,
    async restart() {
      await stop();
      await launch();
    },
  };
}

/**
 * The redis-server of one test file: started before its first test, stopped after its last (the
 * object gets `port`, `url`, `stop`, `restart` then). Nothing is started when the tests skip.
 */
export function redisForTests(skipReason, extraArgs = []) {
  const server = {};
  if (!skipReason) {
    before(async () => Object.assign(server, await startRedis(extraArgs)));
    after(() => server.stop?.());
  }
  return server;
}

let queues = 0;

/**
 * A BullMQExecutor on a queue of its own with one in-process worker (`runWorker`) serving `modules`; its
 * shutdown closes the worker too, and `ex.worker` is the worker's handle (a promise). `bullmq` is the loaded
 * `concurrent-futures/bullmq` module: files load it only when redis-server is there.
 */
export function executorWithWorker(bullmq, redis, { modules, concurrency = 2, workerOptions = {}, executorOptions = {} }) {
  const queueName = `q${process.pid}-${++queues}`;
  const ex = new bullmq.BullMQExecutor({ connection: redis.url, queueName, ...executorOptions });
  const worker = bullmq.runWorker({ connection: redis.url, queueName, modules, concurrency, ...workerOptions });
  const shutdown = ex.shutdown.bind(ex);
  ex.shutdown = async (options) => {
    await shutdown(options);
    await (await worker).close();
  };
  ex.worker = worker;
  return ex;
}
