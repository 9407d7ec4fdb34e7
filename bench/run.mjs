// `npm run bench [suite...]`: every suite's contenders in fresh processes, one report.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runSuite } from './harness.mjs';

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const list = (file) => JSON.parse(execFileSync(process.execPath, [fileURLToPath(new URL(file, import.meta.url)), '--list'], { encoding: 'utf8' }));

/** Work units for a ~20 ms CPU-bound task on this machine. */
function calibrate() {
  const started = performance.now();
  let units = 100_000;
  for (;;) {
    const t0 = performance.now();
    let acc = 0;
    for (let i = 0; i < units; i++) acc = (acc + Math.sqrt(i) * 1.0000001) % 1e9;
    const ms = performance.now() - t0;
    if (ms > 5 || performance.now() - started > 2000) return Math.round((units * 20) / ms);
    units *= 2;
  }
}

const hasPython = (() => {
  try {
    execFileSync('python3', ['--version']);
    return true;
  } catch {
    return false;
  }
})();

/** `map` with chunksize 256, without chunksize (automatic chunks), and with a future per item. */
const MAP_CONTENDERS = ['concurrent-futures', 'concurrent-futures, no chunksize', 'concurrent-futures, chunksize 1'];

function threads() {
  const units = String(calibrate());
  const peers = ['concurrent-futures', 'piscina', 'tinypool', 'workerpool', 'poolifier', ...(hasPython ? ['CPython'] : [])];
  const w = (workload, title, unit, extra = {}) =>
    runSuite(`threads ${title}`, './pools.mjs', extra.contenders ?? peers, { rounds, baseline: extra.baseline ?? 'piscina', unit, args: [workload, units], lowerIsBetter: extra.lowerIsBetter, prefix: ['thread'] });
  w('W1', 'W1: 100k tiny tasks submitted one by one, 2 workers', 'tasks/s');
  w('W1-map', 'W1-map: map over 100k tiny items, chunksize 256 (and without chunksize; chunksize 1), 2 workers', 'items/s', { contenders: [...MAP_CONTENDERS, ...(hasPython ? ['CPython'] : [])], baseline: 'concurrent-futures' });
  w('W2', 'W2: one task at a time on a warm worker (round trip)', 'µs/task', { lowerIsBetter: true });
  w('W3', 'W3: 64 CPU-bound ~20 ms tasks on 2 workers (speedup over serial)', 'speedup');
}

function memory() {
  const peers = ['concurrent-futures', 'piscina', 'tinypool', 'workerpool', 'poolifier', ...(hasPython ? ['CPython'] : [])];
  // Peak RSS is not noisy the way time is, and 1M tasks through the slower pools take minutes: one round.
  runSuite('threads MEM: 1M tiny tasks queued at once (peak RSS)', './pools.mjs', peers, {
    rounds: 1, baseline: 'piscina', unit: 'peak RSS MB', args: ['MEM'], lowerIsBetter: true, prefix: ['thread'],
  });
}

function processes() {
  const units = String(calibrate());
  const peers = ['concurrent-futures', 'tinypool', ...(hasPython ? ['CPython'] : [])];
  const baseline = hasPython ? 'CPython' : 'tinypool';
  const w = (workload, title, unit, contenders = peers) =>
    runSuite(`processes ${title}`, './pools.mjs', contenders, { rounds, baseline, unit, args: [workload, units], prefix: ['process'] });
  w('W1', 'W1: 20k tiny tasks submitted one by one, 2 processes', 'tasks/s');
  w('W1-map', 'W1-map: map over 100k tiny items, chunksize 256 (and without chunksize; chunksize 1), 2 processes', 'items/s', [...MAP_CONTENDERS, ...(hasPython ? ['CPython'] : [])]);
  w('W3', 'W3: 64 CPU-bound ~20 ms tasks on 2 processes (speedup over serial)', 'speedup');
}

async function bullmq(only) {
  const { hasRedis, startRedis } = await import('../test/redis-server.mjs');
  if (!hasRedis) {
    console.log('\n!!! SKIPPING the bullmq suite: redis-server is not installed (apt-get install -y redis-server) !!!');
    return;
  }
  const redis = await startRedis();
  try {
    const all = list('./bullmq.mjs');
    const suite = (workload, title, unit, contenders = all, lowerIsBetter = false) =>
      runSuite(`bullmq ${title}`, './bullmq.mjs', contenders, { rounds, baseline: contenders.includes('raw BullMQ') ? 'raw BullMQ' : contenders[0], unit, args: [workload, redis.url], lowerIsBetter });
    const tasks = all.filter((c) => !c.includes('no chunksize'));
    if (!only?.includes('W1-map')) {
      suite('W1', 'W1: submit + wait of 10,000 tiny tasks, one worker process (concurrency 8)', 'tasks/s', tasks);
      suite('W2', 'W2: one task at a time (round trip)', 'ms/task', tasks, true);
    }
    suite('W1-map', 'W1-map: map over 100k tiny items, chunksize 256 (and without chunksize: automatic chunks)', 'items/s', all.filter((c) => c !== 'raw BullMQ'));
  } finally {
    await redis.stop();
  }
}

const canPin = (() => {
  try {
    execFileSync('taskset', ['-c', '0,1', 'true']);
    return true;
  } catch {
    return false;
  }
})();

/** W2 with both contenders in one process (interleaved.mjs): the same load for both, p99 included. */
function interleaved(kind, title, pin) {
  const script = fileURLToPath(new URL('./interleaved.mjs', import.meta.url));
  const [cmd, args] = pin ? ['taskset', ['-c', '0,1', process.execPath, script]] : [process.execPath, [script]];
  console.log(`\n## limits ${title} (${rounds * 2} blocks each)`);
  console.log(execFileSync(cmd, [...args, kind, String(rounds * 2)], { encoding: 'utf8' }).trimEnd());
}

/** Each pool against what Node itself does with no library (baselines.mjs), unpinned and pinned to two cores. */
function limits() {
  for (const pin of canPin ? [false, true] : [false]) {
    const how = pin ? ', pinned to cores 0,1' : '';
    for (const kind of ['thread', 'process']) {
      const name = kind === 'thread' ? 'ThreadPoolExecutor' : 'ProcessPoolExecutor';
      const channel = kind === 'thread' ? 'postMessage' : 'fork IPC (advanced)';
      const w = (workload, title, unit, lowerIsBetter) =>
        runSuite(`limits ${title}${how}`, './pools.mjs', ['concurrent-futures', 'baseline', ...(workload === 'W1-map' ? ['baseline, raw chunks'] : [])], { rounds, baseline: 'baseline', unit, args: [workload], lowerIsBetter, prefix: [kind], pin });
      w('W2', `W2: ${name} round trip vs one ${channel} each way`, 'µs/task (median)', true);
      interleaved(kind, `W2 interleaved: ${name} and the bare ${channel} in one process, alternating blocks of 2,000 tasks${how}`, pin);
      w('W1-map', `W1-map: ${name} map, chunksize 256, vs 2 workers posting 256 items per message`, 'items/s', false);
    }
  }
  if (!canPin) console.log('\n(taskset not found: pinned runs skipped)');
}

const suites = {
  threads,
  limits,
  memory,
  processes,
  // `concurrent-futures map` over 1M lines vs the library's map and xargs: its own script, whole processes.
  cli() {
    execFileSync(process.execPath, [fileURLToPath(new URL('./cli.mjs', import.meta.url))], { stdio: 'inherit' });
  },
  bullmq: () => bullmq(),
  /** Automatic chunks against chunksize 256 (and a future per item) on both pools and BullMQ, in one run. */
  async chunks() {
    for (const kind of ['thread', 'process']) {
      runSuite(`chunks ${kind === 'thread' ? 'threads' : 'processes'} W1-map: map over 100k tiny items on 2 workers`, './pools.mjs', MAP_CONTENDERS, { rounds, baseline: 'concurrent-futures', unit: 'items/s', args: ['W1-map'], prefix: [kind] });
    }
    await bullmq(['W1-map']);
  },
  async() {
    const rows = runSuite('W0: 1M tiny async tasks, concurrency 10', './async.mjs', list('./async.mjs'), { rounds, baseline: 'p-limit', unit: 'tasks/s' });
    const of = (name) => rows.find((r) => r.name === name)?.value ?? NaN;
    const map = of('AsyncPoolExecutor map');
    console.log(`\nAsyncPoolExecutor map: ${(map / of('p-map')).toFixed(2)}x p-map, ${(map / of('p-map, AsyncLocalStorage on')).toFixed(2)}x p-map with AsyncLocalStorage on`);
  },
};

const wanted = process.argv.slice(2);
console.log(`# concurrent-futures benchmarks — node ${process.version}, ${(await import('node:os')).availableParallelism()} cores`);
for (const name of wanted.length ? wanted : Object.keys(suites)) {
  if (!suites[name]) throw new Error(`unknown suite ${name}; have ${Object.keys(suites).join(', ')}`);
  await suites[name]();
}
