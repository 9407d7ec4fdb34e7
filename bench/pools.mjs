// Worker pools side by side. Run as: node pools.mjs <thread|process> <contender> <workload> [workUnits]
// Workloads: W1 (100k tiny tasks submitted one by one, pool of 2), W1-map (map with
// chunksize 256 over 100k items; the contenders 'concurrent-futures, no chunksize' and
// 'concurrent-futures, chunksize 1' map the same with automatic chunks and with a future per item), W2 (round trip of one task at a time on a warm
// worker: median and p99 µs), W3 (64 CPU-bound ~20 ms tasks on 2 workers: speedup over serial),
// MEM (1M tiny tasks queued at once: peak RSS is the figure).
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { report } from './harness.mjs';
import { work } from './tasks.mjs';

const [kind, contender, workload, unitsArg] = process.argv.slice(2);
// BENCH_SUBSCRIBER=noop: a subscriber that does nothing on all five tracing events, for what tracing costs when on.
if (process.env.BENCH_SUBSCRIBER === 'noop') {
  const { tracingChannel } = await import('node:diagnostics_channel');
  const noop = () => {};
  tracingChannel('concurrent-futures:task').subscribe({ start: noop, end: noop, asyncStart: noop, asyncEnd: noop, error: noop });
}
const units = Number(unitsArg ?? 2_000_000);
const WORKERS = 2;
const peerFile = new URL('./peer-workers.mjs', import.meta.url);
const N = { W1: 100_000, 'W1-map': 100_000, W2: 20_000, W3: 64, MEM: 1_000_000 }[workload] / (kind === 'process' && workload === 'W1' ? 5 : 1);

/**
 * BENCH_DASHBOARD=served: a dashboard serves the executor, no page open; =page: and a page is open in headless
 * chromium (another process, bench/dashboard-page.mjs) for the whole run. What the dashboard costs the pool.
 */
async function watch(ex) {
  const mode = process.env.BENCH_DASHBOARD;
  if (mode === undefined) return { close: async () => {} };
  const { serveDashboard } = await import('concurrent-futures/dashboard');
  const dashboard = await serveDashboard(ex);
  let page = null;
  if (mode === 'page') {
    page = spawn(process.execPath, [fileURLToPath(new URL('./dashboard-page.mjs', import.meta.url)), dashboard.url], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve, reject) => {
      page.stdout.once('data', resolve);
      page.once('exit', (code) => reject(new Error(`the page did not open (exit ${code})`)));
    });
  }
  return {
    close: async () => {
      page?.kill();
      await dashboard.close();
    },
  };
}

/** Each pool as: submit(name, arg) → promise, map (optional), close. */
async function open(name) {
  if (name.startsWith('concurrent-futures')) {
    const { ThreadPoolExecutor, ProcessPoolExecutor } = await import('concurrent-futures');
    const { tasks } = await import('./tasks.mjs');
    const ex = kind === 'process' ? new ProcessPoolExecutor(WORKERS) : new ThreadPoolExecutor(WORKERS);
    const mapOptions = { 'concurrent-futures': { chunksize: 256 }, 'concurrent-futures, no chunksize': {}, 'concurrent-futures, chunksize 1': { chunksize: 1 } }[name];
    if (mapOptions === undefined) throw new Error(`unknown contender ${name}`);
    const watched = await watch(ex);
    return {
      submit: (fn, x) => ex.submit(tasks[fn], x),
      settle: (f) => f.result(),
      map: async (items) => {
        let n = 0;
        for await (const _ of ex.map(tasks.tiny, items, mapOptions)) n++;
        return n;
      },
      close: async () => {
        await ex.shutdown();
        await watched.close();
      },
    };
  }
  if (name === 'piscina') {
    const { Piscina } = await import('piscina');
    const pool = new Piscina({ filename: peerFile.href, minThreads: WORKERS, maxThreads: WORKERS, });
    return { submit: (fn, x) => pool.run(x, { name: fn }), settle: (p) => p, close: () => pool.destroy() };
  }
  if (name === 'tinypool') {
    const { Tinypool } = await import('tinypool');
    const pool = new Tinypool({ filename: peerFile.href, minThreads: WORKERS, maxThreads: WORKERS, runtime: kind === 'process' ? 'child_process' : 'worker_threads' });
    return { submit: (fn, x) => pool.run(x, { name: fn }), settle: (p) => p, close: () => pool.destroy() };
  }
  if (name === 'workerpool') {
    const { default: workerpool } = await import('workerpool');
    process.env.BENCH_PEER_KIND = 'workerpool';
    const pool = workerpool.pool(fileURLToPath(peerFile), { minWorkers: WORKERS, maxWorkers: WORKERS, workerType: 'thread', workerThreadOpts: { env: process.env } });
    return { submit: (fn, x) => pool.exec(fn, [x]), settle: (p) => p, close: () => pool.terminate() };
  }
  if (name === 'poolifier') {
    const { FixedThreadPool } = await import('poolifier');
    process.env.BENCH_PEER_KIND = 'poolifier';
    const pool = new FixedThreadPool(WORKERS, fileURLToPath(peerFile), { errorHandler: (e) => console.error(e) });
    return { submit: (fn, x) => pool.execute(x, fn), settle: (p) => p, close: () => pool.destroy() };
  }
  if (name === 'baseline' || name === 'baseline, raw chunks') {
    const { openBaseline } = await import('./baselines.mjs');
    const pool = openBaseline(kind, workload === 'W2' ? 1 : WORKERS);
    const rawChunks = name === 'baseline, raw chunks';
    return { ...pool, map: (items) => pool.map(items, { rawChunks }) };
  }
  throw new Error(`unknown contender ${name}`);
}

async function main() {
  if (contender === 'CPython') {
    const out = spawnSync('python3', [fileURLToPath(new URL('./cpython.py', import.meta.url)), kind, workload, String(units)], { encoding: 'utf8' });
    if (out.status !== 0) throw new Error(out.stderr);
    process.stdout.write(out.stdout);
    return;
  }
  const pool = await open(contender);
  // Warm every worker up, and the JIT on both sides of the pool, the same way for every pool.
  await Promise.all(Array.from({ length: WORKERS * 4 }, (_, i) => pool.settle(pool.submit('tiny', i))));
  if (workload === 'W1') await Promise.all(Array.from({ length: 20_000 }, (_, i) => pool.settle(pool.submit('tiny', i))));
  if (workload === 'W1' || workload === 'MEM') {
    // BENCH_REPEAT=k (W1): k timed runs in this process, their median reported (bench/dashboard.mjs).
    const repeat = workload === 'W1' ? Math.max(1, Number(process.env.BENCH_REPEAT ?? 1)) : 1;
    // BENCH_W1_WORK=n (W1): each task computes work(n) in place of the tiny task: what a cost per task is at a task size.
    const workUnits = workload === 'W1' ? Number(process.env.BENCH_W1_WORK ?? 0) : 0;
    const rates = [];
    for (let r = 0; r < repeat; r++) {
      const t0 = performance.now();
      const ps = new Array(N);
      for (let i = 0; i < N; i++) ps[i] = workUnits > 0 ? pool.submit('work', workUnits) : pool.submit('tiny', i);
      for (let i = 0; i < N; i++) await pool.settle(ps[i]);
      rates.push(N / ((performance.now() - t0) / 1000));
    }
    rates.sort((a, b) => a - b);
    report(workload === 'MEM' ? process.resourceUsage().maxRSS / 1024 : rates[rates.length >> 1]); // MEM: peak RSS in MB
  } else if (workload === 'W1-map') {
    if (!pool.map) throw new Error('no chunked map');
    const items = Array.from({ length: N }, (_, i) => i);
    for (let i = 0; i < 3; i++) await pool.map(items);
    const t0 = performance.now();
    const n = await pool.map(items);
    if (n !== N) throw new Error('lost items');
    report(N / ((performance.now() - t0) / 1000));
  } else if (workload === 'W2') {
    for (let i = 0; i < 2000; i++) await pool.settle(pool.submit('tiny', i));
    const times = new Float64Array(N);
    for (let i = 0; i < N; i++) {
      const t0 = performance.now();
      await pool.settle(pool.submit('tiny', i));
      times[i] = (performance.now() - t0) * 1000;
    }
    times.sort();
    report(times[N >> 1], { p99: times[Math.floor(N * 0.99)] }); // µs: median and p99 round trip
  } else if (workload === 'W3') {
    const s0 = performance.now();
    for (let i = 0; i < 8; i++) work(units);
    const serialPerTask = (performance.now() - s0) / 8;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: N }, () => pool.settle(pool.submit('work', units))));
    const parallel = performance.now() - t0;
    report((serialPerTask * N) / parallel);
  }
  await pool.close();
}

await main();
process.exit(0);
