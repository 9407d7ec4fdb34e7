// `npm run bench [suite...]`: every suite's contenders in fresh processes, one report.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runSuite } from './harness.mjs';

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const list = (file) => JSON.parse(execFileSync(process.execPath, [fileURLToPath(new URL(file, import.meta.url)), '--list'], { encoding: 'utf8' }));

const suites = {
  async: () => runSuite('W0: 1M tiny async tasks, concurrency 10', './async.mjs', list('./async.mjs'), { rounds, baseline: 'p-limit', unit: 'tasks/s' }),
};

const wanted = process.argv.slice(2);
console.log(`# concurrent-futures benchmarks — node ${process.version}, ${(await import('node:os')).availableParallelism()} cores`);
for (const name of wanted.length ? wanted : Object.keys(suites)) {
  if (!suites[name]) throw new Error(`unknown suite ${name}; have ${Object.keys(suites).join(', ')}`);
  await suites[name]();
}
