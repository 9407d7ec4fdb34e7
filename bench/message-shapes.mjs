// What the shape of a message costs on a worker_threads ping-pong, each way: the pool's task
// and result messages (protocol.ts) against bare values, the lone task and lone result.
// Run: node bench/message-shapes.mjs — prints each shape's round trip over bare numbers', medians.
import { Worker, isMainThread, parentPort } from 'node:worker_threads';

// [what the main thread sends for task i, what the worker answers to message m]
const shapes = {
  'bare both ways (a lone task and a lone result)': [(i) => i, (m) => m],
  'batch out, bare back': [(i) => [0, 4, [i]], (m) => m[2][0]],
  'bare out, result array back': [(i) => i, (m) => [1, 0.0123456, 0, m]],
  'batch out, result array back': [(i) => [0, 4, [i]], (m) => [1, 0.0123456, 0, m[2][0]]],
  'batch, arguments flattened, out; result array back': [(i) => [0, 4, 1, i], (m) => [1, 0.0123456, 0, m[3]]],
  'objects both ways (the pool before 2026-12)': [(i) => ({ t: [2, [i]] }), (m) => ({ s: 0, r: [0, m.t[1][0]], ms: 0.0123 })],
};
const names = Object.keys(shapes);

if (!isMainThread) {
  // A string names the shape of the messages that follow.
  let shape = names[0];
  parentPort.on('message', (m) => {
    if (typeof m === 'string') shape = m;
    else parentPort.postMessage(shapes[shape][1](m));
  });
} else {
  const worker = new Worker(new URL(import.meta.url));
  let resolve;
  worker.on('message', (m) => resolve(m));
  const BLOCK = 3000;
  const block = async (name) => {
    worker.postMessage(name);
    const make = shapes[name][0];
    const t0 = performance.now();
    for (let i = 0; i < BLOCK; i++) {
      const reply = new Promise((r) => (resolve = r));
      worker.postMessage(make(i));
      await reply;
    }
    return performance.now() - t0;
  };
  const ratios = Object.fromEntries(names.map((k) => [k, []]));
  for (let round = 0; round < 31; round++) {
    const base = await block(names[0]);
    for (const name of names) ratios[name].push((await block(name)) / base);
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  for (const [name, xs] of Object.entries(ratios)) console.log(`${name}: ${median(xs).toFixed(3)}x bare numbers' round trip`);
  await worker.terminate();
}
