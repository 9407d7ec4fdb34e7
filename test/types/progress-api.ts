// Compile-time checks of concurrent-futures/progress: the element type flows through.
import { AsyncPoolExecutor, asCompleted, type Future } from 'concurrent-futures';
import { progress, type ProgressOptions } from 'concurrent-futures/progress';

export async function checkProgress(): Promise<void> {
  await using ex = new AsyncPoolExecutor(2);
  const futures = [1, 2].map((n) => ex.submit(async (x: number) => String(x), n));
  for await (const f of progress(asCompleted(futures), { total: futures.length })) {
    const s: string = await f.result();
    void s;
  }
  for await (const f of progress(futures)) {
    const same: Future<string> = f;
    void same;
  }
  for await (const n of progress(ex.map((x: number) => x * 2, [1, 2]), { executor: ex, label: 'double' })) {
    const doubled: number = n;
    void doubled;
  }
  const options: ProgressOptions = { lines: true, interval: 500, stream: process.stderr };
  void options;
  // @ts-expect-error the element type is kept: no string out of numbers
  for await (const wrong of progress([1, 2]) as AsyncIterable<number>) { const s: string = wrong; void s; }
  // @ts-expect-error a number is no iterable
  progress(42);
}
