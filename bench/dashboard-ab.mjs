// W1 (100k tiny tasks submitted one by one, 2 threads) in one process, alternating: no subscriber, a subscriber
// that does nothing on start and asyncEnd, and a dashboard (no page): what the dashboard's own handlers cost
// beyond the tracing channel's, with both seeing the same load and the same JIT. Run as:
// node bench/dashboard-ab.mjs [rounds]
import { tracingChannel } from 'node:diagnostics_channel';
import { ThreadPoolExecutor } from 'concurrent-futures';
import { serveDashboard } from 'concurrent-futures/dashboard';
import { tasks } from './tasks.mjs';
const ex = new ThreadPoolExecutor(2);
const N = 100_000;
async function w1() {
  const t0 = performance.now();
  const ps = new Array(N);
  for (let i = 0; i < N; i++) ps[i] = ex.submit(tasks.tiny, i);
  for (let i = 0; i < N; i++) await ps[i].result();
  return N / ((performance.now() - t0) / 1000);
}
const ch = tracingChannel('concurrent-futures:task');
const noop = () => {};
const modes = {
  none: async () => () => {},
  noop: async () => { ch.start.subscribe(noop); ch.asyncEnd.subscribe(noop); return () => { ch.start.unsubscribe(noop); ch.asyncEnd.unsubscribe(noop); }; },
  dash: async () => { const d = await serveDashboard(ex); return () => d.close(); },
};
for (let i = 0; i < 3; i++) await w1();
const res = { none: [], noop: [], dash: [] };
const names = Object.keys(modes);
for (let r = 0; r < Number(process.argv[2] ?? 9); r++) {
  for (let k = 0; k < names.length; k++) {
    const m = names[(k + r) % names.length];
    const off = await modes[m]();
    res[m].push(await w1());
    await off();
  }
}
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };
for (const m of names) console.log(m, Math.round(med(res[m]) / 1000) + 'k', (med(res[m]) / med(res.none)).toFixed(2), res[m].map((v) => Math.round(v / 1000)).join(','));
await ex.shutdown();
