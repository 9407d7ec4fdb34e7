// Compile-time checks of the public types: `npm test` type-checks this file.
import {
  AsyncPoolExecutor, ThreadPoolExecutor, ProcessPoolExecutor, Future, wait, asCompleted, defineTasks, transfer,
  FIRST_COMPLETED, reportProgress, type ReturnWhen, type ExecutorStats, type TaskOptions,
} from 'concurrent-futures';

const tasks = defineTasks(import.meta.url, {
  fib(n: number): number {
    return n < 2 ? n : tasks.fib(n - 1) + tasks.fib(n - 2);
  },
});

export async function check(): Promise<void> {
  await using ex = new AsyncPoolExecutor(4);
  const f: Future<number> = ex.submit(async (a: number, b: string) => a + b.length, 1, 'xy');
  const n: number = await f.result();
  // @ts-expect-error wrong argument type
  ex.submit((a: number) => a, 'not a number');
  for await (const pair of ex.map((a: number, b: string) => [a, b] as const, [1, 2], ['a', 'b'], { buffersize: 2 })) {
    const [x, y]: readonly [number, string] = pair;
    void x;
    void y;
  }
  // @ts-expect-error the iterable's items must fit the parameter
  ex.map((a: number) => a, ['x']);
  const when: ReturnWhen = FIRST_COMPLETED;
  const { done, notDone } = await wait([f], { returnWhen: when, timeout: 10 });
  const first: Future<number> | undefined = [...done][0];
  void notDone;
  void first;
  for await (const g of asCompleted([f])) {
    const v: number = await g.result();
    void v;
  }
  const stats: ExecutorStats = ex.stats();
  const p99: number = stats.runTime.p99 + stats.waitTime.mean + stats.waitTime.count + stats.utilization;
  void p99;
  await using threads = new ThreadPoolExecutor({ maxWorkers: 2, threadNamePrefix: 'x' });
  const fibs: Future<number> = threads.submit(tasks.fib, 20);
  const options: TaskOptions = { priority: 1, timeout: 1000, retries: { attempts: 2, backoff: 10 }, signal: new AbortController().signal };
  const viewed: Future<number> = threads.withOptions(options).withOptions({ retries: 1 }).submit(tasks.fib, 30);
  // @ts-expect-error a view keeps the task's parameter types
  threads.withOptions({ priority: 2 }).submit(tasks.fib, 'thirty');
  // @ts-expect-error an unknown option
  threads.withOptions({ prio: 1 });
  viewed.addProgressCallback((value: unknown) => void value);
  const reported: void = reportProgress({ done: 1, total: 2 });
  void reported;
  const buffer: ArrayBuffer = await threads.submit((b: ArrayBuffer) => b, transfer(new ArrayBuffer(8))).result();
  await using processes = new ProcessPoolExecutor({ maxTasksPerChild: 10, env: {}, execArgv: [] });
  await using limited = new AsyncPoolExecutor({ maxWorkers: 4, rateLimit: { max: 10, interval: 1000 } });
  await using limitedThreads = new ThreadPoolExecutor({ rateLimit: { max: 5, interval: 100 } });
  await using limitedProcesses = new ProcessPoolExecutor({ rateLimit: { max: 5, interval: 100 } });
  // @ts-expect-error a rate limit needs both max and interval
  void new AsyncPoolExecutor({ rateLimit: { max: 10 } });
  const futures: Future<unknown>[] = [fibs, processes.submit(() => 1), limited.submit(() => 1), limitedThreads.submit(() => 1), limitedProcesses.submit(() => 1)];
  void futures;
  void buffer;
  void n;
}
