// What a dashboard costs the thread pool's W1 (100k tiny tasks submitted one by one, 2 workers): no dashboard,
// a do-nothing tracing subscriber, a dashboard served with no page, and one with its page open in headless
// chromium, alternating in one run. With a number of work units, each task computes `work(units)` in place of the
// tiny one (250: ~7 µs, 1000: ~27 µs on the machine of bench/README.md): a cost per task, read at a task size.
// Run as: node bench/dashboard.mjs [rounds] [work units]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const rounds = Number(process.argv[2] ?? 7);
const workUnits = process.argv[3];
const pools = fileURLToPath(new URL('./pools.mjs', import.meta.url));
const variants = [['no dashboard', undefined], ['noop subscriber', 'noop'], ['served, no page', 'served'], ['page open', 'page']];
const values = new Map(variants.map(([name]) => [name, []]));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
for (let round = 0; round < rounds; round++) {
  for (let i = 0; i < variants.length; i++) {
    const [name, mode] = variants[(i + round) % variants.length];
    // Three timed W1 runs per process, their median: a third of a second each, one run alone moved by a tenth.
    const env = { ...process.env, BENCH_REPEAT: '3' };
    delete env.BENCH_DASHBOARD;
    delete env.BENCH_SUBSCRIBER;
    if (workUnits !== undefined) env.BENCH_W1_WORK = workUnits;
    // The tracing core's own cost, with a subscriber that does nothing: what the dashboard adds is beyond it.
    if (mode === 'noop') env.BENCH_SUBSCRIBER = 'noop';
    else if (mode !== undefined) env.BENCH_DASHBOARD = mode;
    const out = spawnSync(process.execPath, ['--expose-gc', pools, 'thread', 'concurrent-futures', 'W1'], { encoding: 'utf8', env, timeout: 300_000 });
    const line = out.stdout.trim().split('\n').pop();
    try {
      values.get(name).push(JSON.parse(line).value);
    } catch {
      console.error(`${name}: no figure (${out.stderr.trim().split('\n').pop()})`);
    }
  }
}
const base = median(values.get('no dashboard'));
console.log(workUnits === undefined ? 'W1, tiny tasks' : `W1, tasks of work(${workUnits})`);
for (const [name] of variants) {
  const m = median(values.get(name));
  console.log(`${name.padEnd(16)} ${Math.round(m / 1000)}k tasks/s  x${(m / base).toFixed(2)}  (${values.get(name).map((v) => Math.round(v / 1000)).join(', ')})`);
}
