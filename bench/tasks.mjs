// The work every pool runs in the benchmarks: a tiny task and a CPU-bound one.
import { defineTasks } from 'concurrent-futures';

export function tiny(x) {
  return x;
}

/** About `n` units of arithmetic; the harness picks `n` for ~20 ms. */
export function work(n) {
  let acc = 0;
  for (let i = 0; i < n; i++) acc = (acc + Math.sqrt(i) * 1.0000001) % 1e9;
  return acc;
}

export const tasks = defineTasks(import.meta.url, { tiny, work });
export default tiny;
