// `node bench/timeouts.mjs`: what a wait with a timeout that runs out costs, against as many
// plain setTimeout promises, in one process with the cases alternating. Prints medians and ratios.
import { Future, asCompleted, wait } from '../dist/index.js';

const calls = Number(process.argv[2] ?? 200_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 7);
const ignore = () => {};
const cases = {
  'plain timers': () => new Promise((resolve) => setTimeout(resolve, 1)),
  'result(1)': (f) => f.result(1).catch(ignore),
  'exception(1)': (f) => f.exception(1).catch(ignore),
  'wait(timeout: 1)': (f) => wait([f], { timeout: 1 }),
  'asCompleted(timeout: 1)': async (f) => {
    try {
      for await (const _ of asCompleted([f], { timeout: 1 }));
    } catch {}
  },
};
const times = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
for (let r = 0; r < rounds; r++) {
  for (const [name, call] of Object.entries(cases)) {
    const f = new Future();
    const started = performance.now();
    const pending = new Array(calls);
    for (let i = 0; i < calls; i++) pending[i] = call(f);
    await Promise.all(pending);
    times[name].push(performance.now() - started);
  }
}
const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
const base = median(times['plain timers']);
console.log(`${calls} timing-out calls on one future, median of ${rounds} rounds`);
for (const name of Object.keys(cases)) console.log(`  ${name.padEnd(24)} ${median(times[name]).toFixed(0).padStart(6)} ms  ${(median(times[name]) / base).toFixed(2)}x`);
