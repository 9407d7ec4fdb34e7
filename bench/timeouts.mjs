// `node --expose-gc bench/timeouts.mjs`: what a wait with a timeout that runs out costs, against as many
// plain setTimeout promises, in one process with the cases alternating. Prints medians and ratios.
// Two floors show what a timed wait cannot avoid: a timer that rejects with an Error the caller
// catches, and the same awaited through `for await` in an async function (what asCompleted is read with).
import { Future, asCompleted, wait } from '../dist/index.js';

const calls = Number(process.argv[2] ?? 200_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 7);
const ignore = () => {};
const frameless = () => {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  const error = new Error('timed out');
  Error.stackTraceLimit = limit;
  return error;
};
const rejectLater = () => new Promise((_, reject) => setTimeout(() => reject(frameless()), 1));
const oneRejectingStep = { [Symbol.asyncIterator]: () => ({ next: rejectLater }) };
const cases = {
  'plain timers': () => new Promise((resolve) => setTimeout(resolve, 1)),
  'plain timers, rejecting': () => rejectLater().catch(ignore),
  'plain timers, for await': async () => {
    try {
      for await (const _ of oneRejectingStep);
    } catch {}
  },
  'result(1)': (f) => f.result(1).catch(ignore),
  'exception(1)': (f) => f.exception(1).catch(ignore),
  'wait(timeout: 1)': (f) => wait([f], { timeout: 1 }),
  'asCompleted(…).next()': (f) => asCompleted([f], { timeout: 1 }).next().catch(ignore),
  'asCompleted(timeout: 1)': async (f) => {
    try {
      for await (const _ of asCompleted([f], { timeout: 1 }));
    } catch {}
  },
};
if (typeof globalThis.gc !== 'function') console.log('without --expose-gc: each case also pays for the garbage of the one before it (noisier figures)');
const times = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
const order = Object.entries(cases);
for (let r = 0; r < rounds; r++) {
  // Rotated each round, so that no case always pays for the garbage of the one before it.
  for (let c = 0; c < order.length; c++) {
    const [name, call] = order[(c + r) % order.length];
    // Each case starts from a collected heap when run with --expose-gc: it pays for its own garbage only.
    globalThis.gc?.();
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
const floors = { 'result(1)': 'plain timers, rejecting', 'exception(1)': 'plain timers, rejecting', 'asCompleted(…).next()': 'plain timers, rejecting', 'asCompleted(timeout: 1)': 'plain timers, for await' };
for (const name of Object.keys(cases)) {
  const ms = median(times[name]);
  const floor = floors[name] === undefined ? '' : `  ${(ms / median(times[floors[name]])).toFixed(2)}x its floor (${floors[name]})`;
  console.log(`  ${name.padEnd(26)} ${ms.toFixed(0).padStart(6)} ms  ${(ms / base).toFixed(2)}x${floor}`);
}
