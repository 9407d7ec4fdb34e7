// Where W1's time goes, per job, for each contender of the BullMQ suite: Redis commands and their Redis
// CPU time (INFO commandstats), bytes in and out of Redis (INFO stats), CPU time of the executor process,
// of the worker process and of redis-server, each over W1's timed part; then, with MONITOR on, which
// commands each side sends for a few jobs (scripts by name) and how many bytes they carry.
//   node bench/bullmq-breakdown.mjs [rounds] [jobs]     (starts its own redis-server)
// Rounds run the contenders in rotated order, each in a fresh process; medians are printed.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createConnection } from 'node:net';

const self = fileURLToPath(import.meta.url);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

if (process.argv[2] === '--one') {
  const [name, url, jobs, monitorJobs] = process.argv.slice(3);
  console.log(JSON.stringify(await one(name, url, Number(jobs), Number(monitorJobs))));
  process.exit(0);
} else {
  await main(Number(process.argv[2] ?? 5), Number(process.argv[3] ?? 10_000));
}

async function main(rounds, jobs) {
  const { startRedis } = await import('../test/redis-server.mjs');
  const { contenders } = await import('./bullmq.mjs');
  const names = Object.keys(contenders);
  const redis = await startRedis();
  const results = new Map(names.map((n) => [n, []]));
  try {
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < names.length; i++) {
        const name = names[(i + round) % names.length];
        // MONITOR slows Redis for everyone: only in the first round, after the timed part.
        const out = execFileSync(process.execPath, [self, '--one', name, redis.url, String(jobs), round === 0 ? '100' : '0'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
        results.get(name).push(JSON.parse(out.trim().split('\n').pop()));
      }
    }
  } finally {
    await redis.stop();
  }
  print(results, rounds, jobs);
}

function print(results, rounds, jobs) {
  const rows = [
    ['jobs/s', (r) => r.rate, 0],
    ['executor CPU µs/job', (r) => r.cpu.executor, 1],
    ['worker CPU µs/job', (r) => r.cpu.worker, 1],
    ['redis-server CPU µs/job', (r) => r.cpu.redis, 1],
    ['executor CPU % of wall', (r) => r.busy.executor, 0],
    ['worker CPU % of wall', (r) => r.busy.worker, 0],
    ['redis-server CPU % of wall', (r) => r.busy.redis, 0],
    ['Redis commands/job', (r) => r.commands, 2],
    ['Redis command time µs/job', (r) => r.commandUsec, 1],
    ['bytes into Redis/job', (r) => r.netIn, 0],
    ['bytes out of Redis/job', (r) => r.netOut, 0],
  ];
  const names = [...results.keys()];
  console.log(`\n## W1 breakdown, ${jobs} jobs, ${rounds} rounds, medians (node ${process.version})`);
  console.log(`| per job | ${names.join(' | ')} |`);
  console.log(`|---|${names.map(() => '---:').join('|')}|`);
  for (const [label, get, digits] of rows) console.log(`| ${label} | ${names.map((n) => median(results.get(n).map(get)).toFixed(digits)).join(' | ')} |`);
  for (const name of names) {
    const first = results.get(name)[0];
    console.log(`\n### ${name}: commands per job by type (timed run of round 1; Redis µs per call)`);
    console.log(Object.entries(first.commandstats).sort((a, b) => b[1].calls - a[1].calls).map(([c, s]) => `${c} ${(s.calls / jobs).toFixed(2)} (${s.usecPerCall} µs)`).join(', '));
    if (first.monitor) {
      console.log(`MONITOR of ${first.monitor.jobs} jobs, per job: command count and request bytes by side`);
      for (const [side, byCommand] of Object.entries(first.monitor.sides)) {
        console.log(`- ${side}: ${Object.entries(byCommand).sort((a, b) => b[1].n - a[1].n).map(([c, s]) => `${c} ${(s.n / first.monitor.jobs).toFixed(2)} × ${Math.round(s.bytes / s.n)} B`).join(', ')}`);
      }
      console.log(`- a job's hash: ${first.jobHash} B; its events in the stream: ${first.eventBytes}`);
    }
  }
}

/** One contender in this process: its worker, W1 with the timed part measured, then MONITOR over a few jobs. */
async function one(name, url, jobs, monitorJobs) {
  const { contenders, workers, startWorker } = await import('./bullmq.mjs');
  const { Redis } = await import('ioredis');
  const admin = new Redis(url);
  const queueName = `breakdown-${process.pid}`;
  const worker = await startWorker(...workers[name], url, queueName);
  // Every client there now is the worker's (or admin's): the executor's connect after this.
  const workerAddrs = new Set(clientAddrs(await admin.client('LIST')));
  const redisPid = Number(/process_id:(\d+)/.exec(await admin.info('server'))[1]);
  let before;
  let after;
  const snapshot = async () => ({
    wall: performance.now(), executor: process.cpuUsage(), worker: procCpu(worker.pid), redis: procCpu(redisPid),
  });
  const timed = {
    async start() {
      await admin.config('RESETSTAT');
      before = await snapshot();
    },
    async stop() {
      after = await snapshot();
    },
  };
  let rate;
  try {
    rate = await contenders[name]('W1', url, queueName, { n: jobs, timed });
  } finally {
    if (!monitorJobs) worker.kill('SIGTERM');
  }
  const stats = parseInfo(await admin.info('stats'));
  const commandstats = {};
  let commands = 0;
  let usec = 0;
  for (const [key, value] of Object.entries(parseInfo(await admin.info('commandstats')))) {
    const calls = Number(/calls=(\d+)/.exec(value)[1]);
    const u = Number(/usec=(\d+)/.exec(value)[1]);
    const command = key.replace(/^cmdstat_/, '');
    if (command === 'info' || command === 'config') continue;
    commandstats[command] = { calls, usecPerCall: +(u / calls).toFixed(1) };
    commands += calls;
    usec += u;
  }
  const wall = after.wall - before.wall;
  const cpuUs = {
    executor: (after.executor.user + after.executor.system - before.executor.user - before.executor.system),
    worker: (after.worker - before.worker) * 1000,
    redis: (after.redis - before.redis) * 1000,
  };
  const result = {
    rate,
    cpu: Object.fromEntries(Object.entries(cpuUs).map(([k, v]) => [k, v / jobs])),
    busy: Object.fromEntries(Object.entries(cpuUs).map(([k, v]) => [k, (v / 1000 / wall) * 100])),
    commands: commands / jobs,
    commandUsec: usec / jobs,
    netIn: Number(stats.total_net_input_bytes) / jobs,
    netOut: Number(stats.total_net_output_bytes) / jobs,
    commandstats,
  };
  if (monitorJobs) {
    try {
      result.monitor = await monitor(url, workerAddrs, (timed) => contenders[name]('W1', url, queueName, { n: monitorJobs, timed }), monitorJobs);
      // One finished job of this queue: its hash, and the events it left in the stream.
      const keys = (await admin.keys(`bull:${queueName}:*`)).filter((k) => /:[^:]+$/.test(k) && !/:(wait|active|completed|failed|events|meta|id|marker|stalled-check|paused|delayed|prioritized|pc|limiter)$/.test(k));
      const jobKey = keys.find((k) => /-?\d+$/.test(k));
      const jobId = jobKey.slice(`bull:${queueName}:`.length);
      const hash = await admin.hgetall(jobKey);
      result.jobHash = Object.entries(hash).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
      const events = (await admin.xrange(`bull:${queueName}:events`, '-', '+')).filter(([, f]) => f[f.indexOf('jobId') + 1] === jobId);
      result.eventBytes = events.map(([, f]) => `${f[1]} ${f.reduce((n, s) => n + Buffer.byteLength(s), 0)} B`).join(', ');
    } finally {
      worker.kill('SIGTERM');
    }
  }
  admin.disconnect();
  return result;
}

/** Runs `run` with a MONITOR connection open; counts each side's commands (scripts by name) and bytes. */
async function monitor(url, workerAddrs, run, jobs) {
  const scripts = await scriptNames();
  const { port, hostname } = new URL(url);
  const socket = createConnection(Number(port), hostname);
  let text = '';
  socket.on('data', (d) => (text += d));
  // Only the timed part: the warm-up's jobs (and raw's waitUntilFinished) are not W1's.
  await run({
    async start() {
      socket.write('MONITOR\r\n');
      await new Promise((r) => setTimeout(r, 100));
      text = '';
    },
    async stop() {
      await new Promise((r) => setTimeout(r, 200));
      socket.destroy();
    },
  });
  const sides = {};
  for (const line of text.split('\r\n')) {
    const m = /^\+\d+\.\d+ \[\d+ ([^\]]+)\] (.*)$/.exec(line);
    if (!m) continue;
    const args = [...m[2].matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((a) => a[1].replace(/\\x[0-9a-f]{2}|\\./gi, '.'));
    let command = args[0].toLowerCase();
    if (command === 'evalsha') command = scripts.get(args[1]) ?? `evalsha ${args[1].slice(0, 8)}`;
    // Commands a script runs show as coming from 'lua': they are the calling side's, counted inside its script.
    if (m[1] === 'lua') continue;
    const side = workerAddrs.has(m[1]) ? 'worker' : 'executor';
    sides[side] ??= {};
    const entry = (sides[side][command] ??= { n: 0, bytes: 0 });
    entry.n++;
    entry.bytes += args.reduce((n, a) => n + a.length, 0);
  }
  return { jobs, sides };
}

/** BullMQ's scripts by the SHA1 that EVALSHA names them with. */
async function scriptNames() {
  const dir = new URL('../node_modules/bullmq/dist/esm/scripts/', import.meta.url);
  const names = new Map();
  const index = readFileSync(new URL('index.js', dir), 'utf8');
  for (const [, file] of index.matchAll(/'\.\/([^']+)'/g)) {
    const { [Object.keys(await import(new URL(`${file}.js`, dir).href))[0]]: script } = await import(new URL(`${file}.js`, dir).href);
    names.set(createHash('sha1').update(script.content).digest('hex'), script.name);
  }
  return names;
}

function clientAddrs(list) {
  return list.split('\n').map((l) => /addr=(\S+)/.exec(l)?.[1]).filter(Boolean);
}

/** A process's CPU time (user + system) in ms, from /proc. */
function procCpu(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (100/s)
}

function parseInfo(text) {
  return Object.fromEntries(text.split('\r\n').filter((l) => l && !l.startsWith('#')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]));
}
