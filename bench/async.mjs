// W0: 1,000,000 tiny async tasks at concurrency 10, one contender per process.
import { AsyncLocalStorage } from 'node:async_hooks';
import { report } from './harness.mjs';

const N = Number(process.env.BENCH_TASKS ?? 1_000_000);
const C = 10;
const tiny = async (i) => i;
function* inputs() {
  for (let i = 0; i < N; i++) yield i;
}

const contenders = {
  async 'AsyncPoolExecutor submit+wait'() {
    const { AsyncPoolExecutor, wait } = await import('concurrent-futures');
    const ex = new AsyncPoolExecutor(C);
    const fs = new Array(N);
    for (let i = 0; i < N; i++) fs[i] = ex.submit(tiny, i);
    await wait(fs);
    await ex.shutdown();
  },
  async 'AsyncPoolExecutor map'() {
    const { AsyncPoolExecutor } = await import('concurrent-futures');
    const ex = new AsyncPoolExecutor(C);
    let n = 0;
    for await (const _ of ex.map(tiny, inputs())) n++;
    if (n !== N) throw new Error('lost results');
    await ex.shutdown();
  },
  async 'p-limit'() {
    const { default: pLimit } = await import('p-limit');
    const limit = pLimit(C);
    const ps = new Array(N);
    for (let i = 0; i < N; i++) ps[i] = limit(tiny, i);
    await Promise.all(ps);
  },
  async 'p-queue'() {
    const { default: PQueue } = await import('p-queue');
    const queue = new PQueue({ concurrency: C });
    const ps = new Array(N);
    for (let i = 0; i < N; i++) ps[i] = queue.add(() => tiny(i));
    await Promise.all(ps);
  },
  async 'p-map'() {
    const { default: pMap } = await import('p-map');
    const out = await pMap(inputs(), tiny, { concurrency: C });
    if (out.length !== N) throw new Error('lost results');
  },
  async 'Promise.all (no limit)'() {
    const ps = new Array(N);
    for (let i = 0; i < N; i++) ps[i] = tiny(i);
    await Promise.all(ps);
  },
  // The price of a per-task context: the same two with an AsyncLocalStorage in use, as
  // taskSignal() needs. On Node 20 its promise hook then runs for every promise.
  async 'p-map, AsyncLocalStorage on'() {
    alsOn();
    await contenders['p-map']();
  },
  async 'Promise.all, AsyncLocalStorage on'() {
    alsOn();
    await contenders['Promise.all (no limit)']();
  },
};

function alsOn() {
  new AsyncLocalStorage().run({}, () => {});
}

const name = process.argv[2];
if (name === '--list') console.log(JSON.stringify(Object.keys(contenders)));
else {
  const run = contenders[name];
  if (!run) throw new Error(`unknown contender ${name}`);
  await run(); // warm-up on a smaller scale is not possible without changing N: one timed run per process
  globalThis.gc?.();
  const t0 = performance.now();
  await run();
  report(N / ((performance.now() - t0) / 1000));
}
