/** `concurrent-futures demo`: the seed notebook's six patterns, once per executor. */
import { AsyncPoolExecutor } from '../async-pool.js';
import { runDemo } from '../demo.js';
import { ThreadPoolExecutor } from '../thread/pool.js';

export async function demoCommand(): Promise<number> {
  await runDemo([
    ['AsyncPoolExecutor', (n) => new AsyncPoolExecutor(n)],
    ['ThreadPoolExecutor', (n) => new ThreadPoolExecutor(n)],
  ]);
  return 0;
}
