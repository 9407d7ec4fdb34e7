// Uses every export of concurrent-futures the way a user's strict TypeScript
// project would; the package test type-checks it with each supported TypeScript
// (skipLibCheck off) and runs it under tsx. It prints `consumer ok` at the end.
import assert from 'node:assert/strict';
import {
  ALL_COMPLETED,
  AsyncPoolExecutor,
  BrokenExecutorError,
  BrokenProcessPoolError,
  BrokenThreadPoolError,
  CancelledError,
  Executor,
  ExecutorShutdownError,
  FIRST_COMPLETED,
  FIRST_EXCEPTION,
  Future,
  InvalidStateError,
  ProcessPoolExecutor,
  ThreadPoolExecutor,
  TimeoutError,
  asCompleted,
  defineTasks,
  reportProgress,
  taskRef,
  taskSignal,
  transfer,
  wait,
  type DefineTasksOptions,
  type DoneAndNotDone,
  type ExecutorStats,
  type FutureState,
  type IterablesOf,
  type MapOptions,
  type ProcessPoolOptions,
  type ReturnWhen,
  type ShutdownOptions,
  type TaskOptions,
  type TaskRef,
  type ThreadPoolOptions,
} from 'concurrent-futures';
import { serveDashboard, type Dashboard, type DashboardOptions, type ExecutorState, type TaskCounts } from 'concurrent-futures/dashboard';
import { tasks } from './tasks.ts';

// Futures by hand, as an executor author or a test would.
const manual = new Future<number>();
const state: FutureState = manual.state;
assert.equal(state, 'PENDING');
assert.equal(manual.setRunningOrNotifyCancel(), true);
manual.setResult(1);
assert.throws(() => manual.setResult(2), InvalidStateError);
const callbacks: number[] = [];
manual.addDoneCallback((f: Future<number>) => callbacks.push(f.done() ? 1 : 0));
assert.deepEqual(callbacks, [1]);
const cancelled = new Future<string>();
assert.equal(cancelled.cancel(), true);
await assert.rejects(cancelled.result(), CancelledError);
await assert.rejects(new Future<void>().result(0), TimeoutError);

// The event-loop executor, with `await using` where TypeScript allows it.
{
  await using io = new AsyncPoolExecutor({ maxWorkers: 4 });
  const slow = io.submit(async (ms: number) => {
    const signal: AbortSignal = taskSignal();
    await new Promise((resolve) => setTimeout(resolve, ms));
    return signal.aborted;
  }, 20);
  const fast = io.submit((a: number, b: number) => a + b, 2, 3);
  const when: ReturnWhen = FIRST_COMPLETED;
  const first: DoneAndNotDone<number | boolean> = await wait<number | boolean>([slow, fast], { returnWhen: when, timeout: 5_000 });
  assert.ok(first.done.size >= 1);
  const all = await wait<number | boolean>([slow, fast], { returnWhen: ALL_COMPLETED });
  assert.equal(all.notDone.size, 0);
  assert.equal((await wait([fast], { returnWhen: FIRST_EXCEPTION })).done.size, 1);
  const seen: Array<number | boolean> = [];
  for await (const f of asCompleted<number | boolean>([slow, fast], { timeout: 5_000 })) seen.push(await f.result());
  assert.equal(seen.length, 2);
  const options: MapOptions = { timeout: 5_000, buffersize: 2 };
  const doubled: number[] = [];
  for await (const n of io.map((x: number, y: string) => x * 2 + y.length, [1, 2, 3], ['a', 'bb', 'ccc'], options)) doubled.push(n);
  assert.deepEqual(doubled, [3, 6, 9]);
  const stats: ExecutorStats = io.stats();
  assert.equal(stats.workers, 4);
  // Per-task options through a view of the same executor, and progress reported by a task.
  const taskOptions: TaskOptions = { priority: 1, timeout: 5_000, retries: { attempts: 1, backoff: 10 } };
  const halves: unknown[] = [];
  const reporting: Future<number> = io.withOptions(taskOptions).submit(async (n: number) => {
    reportProgress(0.5);
    return n;
  }, 3);
  reporting.addProgressCallback((value) => halves.push(value));
  assert.equal(await reporting.result(), 3);
  assert.deepEqual(halves, [0.5]);
}

// Worker threads and child processes run `defineTasks` functions by reference.
const threadOptions: ThreadPoolOptions = { maxWorkers: 2, initializer: tasks.init, initargs: ['thread'], threadNamePrefix: 'consumer' };
const processOptions: ProcessPoolOptions = { maxWorkers: 1, maxTasksPerChild: 10 };
const executors: Executor[] = [new ThreadPoolExecutor(threadOptions), new ProcessPoolExecutor(processOptions)];
try {
  for (const executor of executors) {
    const square: Future<number> = executor.submit(tasks.square, 7);
    assert.equal(await square.result(10_000), 49);
    const bytes = new Uint8Array(4);
    const filled = await executor.submit(tasks.fill, transfer(bytes, [bytes.buffer]), 9).result(10_000);
    assert.equal(bytes.byteLength, 0, 'the buffer moved to the worker');
    assert.deepEqual([...filled], [9, 9, 9, 9]);
    const squares: number[] = [];
    for await (const n of executor.map(tasks.square, [1, 2, 3], { chunksize: 2 })) squares.push(n);
    assert.deepEqual(squares, [1, 4, 9]);
  }
} finally {
  const shutdown: ShutdownOptions = { wait: true, cancelFutures: true };
  await Promise.all(executors.map((executor) => executor.shutdown(shutdown)));
}
await assert.rejects(async () => executors[0]!.submit(tasks.square, 1), ExecutorShutdownError);

// The dashboard, from its own entry point: served, its state read as a program would, closed.
{
  await using io = new AsyncPoolExecutor(2);
  const options: DashboardOptions = { host: '127.0.0.1', port: 0 };
  const dashboard: Dashboard = await serveDashboard({ io }, options);
  try {
    const increment = async (n: number): Promise<number> => n + 1;
    assert.equal(await io.submit(increment, 1).result(), 2);
    const state = (await (await fetch(`${dashboard.url}state.json`)).json()) as { executors: ExecutorState[] };
    const counts: TaskCounts | undefined = state.executors[0]?.tasks['increment'];
    assert.equal(counts?.completed, 1);
    assert.match(await (await fetch(dashboard.url)).text(), /<script/);
  } finally {
    await dashboard.close();
  }
}

// Names and types that a user checks against.
const ref: TaskRef | undefined = taskRef(tasks.square);
assert.equal(ref?.name, 'square');
const namespaced: DefineTasksOptions = { namespace: 'consumer' };
const local = defineTasks(import.meta.url, { id: (x: string) => x }, namespaced);
assert.equal(local.id('same'), 'same');
const pairs: IterablesOf<[number, string]> = [[1], ['a']];
assert.equal(pairs.length, 2);
assert.ok(new BrokenThreadPoolError('x') instanceof BrokenExecutorError);
assert.ok(new BrokenProcessPoolError('x') instanceof BrokenExecutorError);
console.log('consumer ok');
