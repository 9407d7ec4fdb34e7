// What Node itself can do, written plainly with no library: the measure the
// pools are held to (bench/README.md). Used by pools.mjs as the contender
// `baseline`; this file is also the worker (thread or child) of each baseline.
//   W2: one worker, one message out and one back per task, awaited one at a time
//       (threads: postMessage; processes: fork IPC with serialization 'advanced').
//   W1-map: two workers, 256 items per message out and 256 results per message back.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { tiny } from './tasks.mjs';

const self = fileURLToPath(import.meta.url);
const CHUNK = 256;

/** The worker side: a number comes back as tiny(number); an array as tiny of each item. */
function serve(port) {
  port.on('message', (m) => {
    if (typeof m === 'number') port.postMessage(tiny(m));
    else {
      const out = new Array(m.length);
      for (let i = 0; i < m.length; i++) out[i] = tiny(m[i]);
      port.postMessage(out);
    }
  });
}

if (!isMainThread) serve(parentPort);
else if (process.send !== undefined && process.argv[2] === 'baseline-child') {
  serve({ on: (event, fn) => process.on(event, fn), postMessage: (m) => process.send(m) });
}

/** A worker as `post(message)` and a 'message' listener, over a thread or a child process. */
function spawn(kind) {
  if (kind === 'process') {
    const child = fork(self, ['baseline-child'], { serialization: 'advanced' });
    return { post: (m) => child.send(m), on: (fn) => child.on('message', fn), close: () => child.kill() };
  }
  const worker = new Worker(self);
  return { post: (m) => worker.postMessage(m), on: (fn) => worker.on('message', fn), close: () => worker.terminate() };
}

/** Each result of each chunk in order, as a plain async iterator: a settled promise per item, one await per chunk. */
function inOrder(chunks) {
  let c = 0;
  let values = [];
  let i = 0;
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      while (i === values.length) {
        if (c === chunks.length) return { value: undefined, done: true };
        values = await chunks[c++];
        i = 0;
      }
      return { value: values[i++], done: false };
    },
  };
}

/** The baselines in pools.mjs's shape: submit (one message each way), map (chunks of 256 on two workers), close. */
export function openBaseline(kind, workers) {
  const pool = Array.from({ length: workers }, () => spawn(kind));
  // Each worker answers in order: a FIFO of resolvers per worker is all the bookkeeping there is.
  const waiting = pool.map((w) => {
    const queue = [];
    w.on((m) => queue.shift()(m));
    return queue;
  });
  let next = 0;
  const send = (m) =>
    new Promise((resolve) => {
      const i = next++ % pool.length;
      waiting[i].push(resolve);
      pool[i].post(m);
    });
  return {
    submit: (_fn, x) => send(x),
    settle: (p) => p,
    // Results reach the caller one at a time through the least an async iterator costs (a settled promise per
    // item), as `for await` over executor.map() does; `rawChunks` skips that: the floor of the channel alone.
    map: async (items, { rawChunks = false } = {}) => {
      const chunks = [];
      for (let i = 0; i < items.length; i += CHUNK) chunks.push(send(items.slice(i, i + CHUNK)));
      let n = 0;
      if (rawChunks) {
        for (const chunk of chunks) n += (await chunk).length;
        return n;
      }
      for await (const _ of inOrder(chunks)) n++;
      return n;
    },
    close: () => Promise.all(pool.map((w) => w.close())),
  };
}
