/**
 * The six patterns of the seed notebook, each under its heading, run with
 * the executor the caller picks. `npm run demo` runs them all.
 */
import { asCompleted, wait, FIRST_COMPLETED, type Executor, type Future } from './index.js';

type MakeExecutor = (maxWorkers?: number) => Executor;

// Sleep for less than a second, like the notebook's `sleep(random())`. The tasks are
// self-contained (they use only their arguments and globals), so worker pools run them too.
const task = async <T>(value: T): Promise<T> => {
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 1000));
  return value;
};

const pairTask = async (value1: string, value2: string): Promise<[string, string]> => {
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 1000));
  return [value1, value2];
};

const printTask = async (name: number): Promise<void> => {
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 1000));
  console.log(name);
};

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

export async function mapAndWait(make: MakeExecutor): Promise<void> {
  console.log('## Map and Wait');
  const executor = make();
  for await (const result of executor.map(pairTask, ['1', '2', '3'], ['a', 'b', 'c'])) console.log(result);
  await executor.shutdown();
}

export async function submitAsCompleted(make: MakeExecutor): Promise<void> {
  console.log('## Submit and Use As Completed');
  const executor = make(10);
  const futures = range(10).map((i) => executor.submit(task, i));
  for await (const future of asCompleted(futures)) console.log(await future.result());
  await executor.shutdown();
}

export async function submitSequentially(make: MakeExecutor): Promise<void> {
  console.log('## Submit and Use Sequentially');
  const executor = make(10);
  const futures = range(10).map((i) => executor.submit(task, i));
  for (const future of futures) console.log(await future.result());
  await executor.shutdown();
}

export async function submitWithCallback(make: MakeExecutor): Promise<void> {
  console.log('## Submit and Use Callback');
  const customCallback = (future: Future<number>): void => {
    future.result().then((value) => console.log('The future object', value, 'is acted upon'));
  };
  const customCallback2 = (future: Future<number>): void => {
    future.result().then((value) => console.log('The future object', value, 'is acted upon, again'));
  };
  const executor = make(10);
  const futures = range(10).map((i) => executor.submit(task, i));
  for (const future of futures) {
    future.addDoneCallback(customCallback);
    future.addDoneCallback(customCallback2);
  }
  await executor.shutdown();
}

export async function waitForAll(make: MakeExecutor): Promise<void> {
  console.log('## Submit and Wait for All');
  const executor = make(10);
  range(10).map((i) => executor.submit(printTask, i));
  await executor.shutdown();
  console.log('All tasks are done!');
}

export async function waitForFirst(make: MakeExecutor): Promise<void> {
  console.log('## Submit and Wait for First');
  const executor = make(10);
  const futures = range(10).map((i) => executor.submit(task, i));
  const { done } = await wait(futures, { returnWhen: FIRST_COMPLETED });
  console.log(await [...done][0]!.result());
  await executor.shutdown({ wait: false, cancelFutures: true });
}

export const patterns = [mapAndWait, submitAsCompleted, submitSequentially, submitWithCallback, waitForAll, waitForFirst];

/** Runs every pattern with each executor, one after another. */
export async function runDemo(executors: Array<[string, MakeExecutor]>): Promise<void> {
  for (const [name, make] of executors) {
    console.log(`# The seed notebook with ${name}\n`);
    for (const pattern of patterns) {
      await pattern(make);
      console.log();
    }
  }
}
