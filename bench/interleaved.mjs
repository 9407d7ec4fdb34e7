// W2 with the pool and its baseline in one process, in alternating blocks, so that both see the same
// load: on a shared machine, a p99 taken from separate processes minutes apart is mostly the machine's.
//   node bench/interleaved.mjs thread|process [rounds]   (prints one markdown table)
import { openBaseline } from './baselines.mjs';
import { tasks } from './tasks.mjs';
import { ThreadPoolExecutor, ProcessPoolExecutor } from 'concurrent-futures';

const kind = process.argv[2] === 'process' ? 'process' : 'thread';
const rounds = Number(process.argv[3] ?? 10);
const BLOCK = 2000;
const ex = kind === 'process' ? new ProcessPoolExecutor(1) : new ThreadPoolExecutor(1);
const base = openBaseline(kind, 1);
const contenders = {
  'concurrent-futures': (i) => ex.submit(tasks.tiny, i).result(),
  baseline: (i) => base.submit('tiny', i),
};
const times = { 'concurrent-futures': [], baseline: [] };

async function block(name, keep) {
  const call = contenders[name];
  for (let i = 0; i < BLOCK; i++) {
    const t0 = performance.now();
    await call(i);
    if (keep) times[name].push((performance.now() - t0) * 1000);
  }
}

try {
  for (const name of Object.keys(contenders)) await block(name, false); // warm-up
  for (let r = 0; r < rounds; r++) for (const name of r % 2 ? ['baseline', 'concurrent-futures'] : ['concurrent-futures', 'baseline']) await block(name, true);
  const at = (xs, q) => xs[Math.min(xs.length - 1, Math.floor(xs.length * q))];
  const stats = Object.fromEntries(Object.entries(times).map(([name, xs]) => {
    xs.sort((a, b) => a - b);
    return [name, { median: at(xs, 0.5), p99: at(xs, 0.99) }];
  }));
  const b = stats.baseline;
  console.log(`| contender | µs/task (median) | time / baseline | p99 | p99 time / baseline |`);
  console.log(`|---|---:|---:|---:|---:|`);
  for (const [name, s] of Object.entries(stats)) {
    console.log(`| ${name} | ${s.median.toFixed(2)} | ${(s.median / b.median).toFixed(2)}x | ${s.p99.toFixed(1)} | ${(s.p99 / b.p99).toFixed(2)}x |`);
  }
} finally {
  await ex.shutdown();
  await base.close();
}
