// The channel between a pool and its worker carries the pool's own messages, and since the
// commonest result travels as a bare number, string or boolean (protocol.ts), any value posted on
// it is read as the next task's result. A task that posts on it itself (parentPort.postMessage in
// a thread, process.send in a child) must fail with an error saying so, and every other task must
// keep its own result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import { ThreadPoolExecutor, ProcessPoolExecutor, transfer } from 'concurrent-futures';
import { within } from './helpers.mjs';

const postsOnThreadChannel = async (value) => {
  const { parentPort } = await import('node:worker_threads');
  parentPort.postMessage(value);
  return `posted ${String(value)}`;
};
const postsOnChildChannel = (value) => {
  process.send(value);
  return `posted ${String(value)}`;
};
const plain = (x) => `plain ${x}`;

const pools = [
  ['ThreadPoolExecutor', () => new ThreadPoolExecutor(1), postsOnThreadChannel, /parentPort\.postMessage/],
  ['ProcessPoolExecutor', () => new ProcessPoolExecutor(1), postsOnChildChannel, /process\.send/],
];

for (const [name, make, chatty, names] of pools) {
  test(`${name}: a task that posts on its worker's channel fails saying so; no other result moves to another future`, { timeout: 30_000 }, async () => {
    const ex = make();
    try {
      // Warm up one function so that the tasks after it travel bare, as most do.
      assert.equal(await within(10_000, ex.submit(plain, 0).result()), 'plain 0');
      for (const value of [50, 'a string', true, [1, 2]]) {
        const before = ex.submit(plain, 1);
        const posting = ex.submit(chatty, value);
        const after = [2, 3, 4].map((i) => ex.submit(plain, i));
        assert.equal(await within(10_000, before.result()), 'plain 1');
        const error = await within(10_000, posting.exception());
        assert.ok(error instanceof Error, `the posting task gave ${String(error)}`);
        assert.match(error.message, names);
        assert.deepEqual(await within(10_000, Promise.all(after.map((f) => f.result()))), ['plain 2', 'plain 3', 'plain 4']);
      }
      assert.equal(ex.stats().failed, 4);
    } finally {
      await ex.shutdown();
    }
  });
}

test('ThreadPoolExecutor: what the refusal suggests works: a task reports progress on a MessagePort passed with transfer()', { timeout: 30_000 }, async () => {
  const ex = new ThreadPoolExecutor(1);
  const { port1, port2 } = new MessageChannel();
  try {
    const heard = [];
    const allHeard = new Promise((resolve) => port1.on('message', (m) => heard.push(m) === 2 && resolve()));
    const reports = (port, n) => {
      port.postMessage(`halfway to ${n}`);
      port.postMessage(n);
      port.close();
      return n * 2;
    };
    assert.equal(await within(10_000, ex.submit(reports, transfer(port2), 21).result()), 42);
    await within(10_000, allHeard, 'the progress messages');
    assert.deepEqual(heard, ['halfway to 21', 21]);
  } finally {
    port1.close();
    await ex.shutdown();
  }
});
