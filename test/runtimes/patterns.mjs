// The six patterns of the seed notebook (src/demo.ts), each asserting what the notebook prints.
// Tasks are self-contained, as in the notebook, so that every executor runs them.
import assert from 'node:assert/strict';
import { asCompleted, wait, FIRST_COMPLETED } from 'concurrent-futures';

// The notebook's sleep(random()), shortened: the suite runs each pattern on three executors.
const task = async (value) => {
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 50));
  return value;
};
const pairTask = async (value1, value2) => {
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 50));
  return [value1, value2];
};
const range = (n) => Array.from({ length: n }, (_, i) => i);

export async function mapAndWait(make) {
  const executor = make();
  const results = [];
  for await (const result of executor.map(pairTask, ['1', '2', '3'], ['a', 'b', 'c'])) results.push(result);
  await executor.shutdown();
  assert.deepEqual(results, [['1', 'a'], ['2', 'b'], ['3', 'c']]);
}

export async function submitAsCompleted(make) {
  const executor = make(10);
  const futures = range(10).map((i) => executor.submit(task, i));
  const seen = [];
  for await (const future of asCompleted(futures)) {
    assert.equal(future.done(), true);
    seen.push(await future.result());
  }
  await executor.shutdown();
  assert.deepEqual([...seen].sort((a, b) => a - b), range(10));
}

export async function submitSequentially(make) {
  const executor = make(10);
  const futures = range(10).map((i) => executor.submit(task, i));
  const seen = [];
  for (const future of futures) seen.push(await future.result());
  await executor.shutdown();
  assert.deepEqual(seen, range(10));
}

export async function submitWithCallback(make) {
  const executor = make(10);
  const calls = [];
  const futures = range(10).map((i) => executor.submit(task, i));
  for (const future of futures) {
    future.addDoneCallback((f) => calls.push(['first', f.done()]));
    future.addDoneCallback((f) => calls.push(['again', f.done()]));
  }
  await executor.shutdown();
  assert.equal(calls.length, 20);
  assert.ok(calls.every(([, done]) => done), 'a callback sees its future done');
  for (let i = 0; i < 20; i += 2) assert.deepEqual([calls[i][0], calls[i + 1][0]], ['first', 'again']);
  const values = await Promise.all(futures.map((f) => f.result()));
  assert.deepEqual(values, range(10));
}

export async function waitForAll(make) {
  const executor = make(10);
  const futures = range(10).map((i) => executor.submit(task, i));
  await executor.shutdown();
  assert.ok(futures.every((f) => f.done() && !f.cancelled()), 'shutdown() returns once every task is done');
  assert.equal(executor.stats().completed, 10);
}

export async function waitForFirst(make) {
  const executor = make(10);
  const futures = range(10).map((i) => executor.submit(task, i));
  const { done, notDone } = await wait(futures, { returnWhen: FIRST_COMPLETED });
  assert.ok(done.size >= 1 && done.size + notDone.size === 10);
  const first = [...done][0];
  assert.ok(range(10).includes(await first.result()));
  await executor.shutdown({ wait: false, cancelFutures: true });
  await executor.shutdown();
  assert.ok(futures.every((f) => f.done()), 'each future is done or cancelled after the shutdown');
}

export const patterns = { mapAndWait, submitAsCompleted, submitSequentially, submitWithCallback, waitForAll, waitForFirst };
