// What the shape of a message costs on a worker_threads ping-pong: the same payload as bare
// numbers, flat arrays, nested arrays and objects with named fields (the pool's old wire format).
// Run: node bench/message-shapes.mjs — prints each shape's round trip over the bare number's, medians.
import { Worker, isMainThread, parentPort } from 'node:worker_threads';

const shapes = {
  number: [(i) => i, (m) => m],
  'flat array': [(i) => [0, 2, 1, i], (m) => [m[0], 0.0123, 0, m[3]]],
  'nested array (the pool now)': [(i) => [0, 2, [i]], (m) => [m[0], 0.0123, 0, m[2][0]]],
  'object (the pool before)': [(i) => ({ t: [2, [i]] }), (m) => ({ s: 0, r: [0, m.t[1][0]], ms: 0.0123 })],
};

if (!isMainThread) {
  parentPort.on('message', ([name, m]) => parentPort.postMessage([name, shapes[name][1](m)]));
} else {
  const worker = new Worker(new URL(import.meta.url));
  let resolve;
  worker.on('message', (m) => resolve(m));
  const BLOCK = 2000;
  const block = async (name) => {
    const make = shapes[name][0];
    const t0 = performance.now();
    for (let i = 0; i < BLOCK; i++) {
      const reply = new Promise((r) => (resolve = r));
      worker.postMessage([name, make(i)]);
      await reply;
    }
    return performance.now() - t0;
  };
  const ratios = Object.fromEntries(Object.keys(shapes).map((k) => [k, []]));
  for (let round = 0; round < 41; round++) {
    const base = await block('number');
    for (const name of Object.keys(shapes)) ratios[name].push((await block(name)) / base);
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  for (const [name, xs] of Object.entries(ratios)) console.log(`${name}: ${median(xs).toFixed(3)}x a bare number's round trip`);
  await worker.terminate();
}
