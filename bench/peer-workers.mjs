// Worker files in the shapes the peer pools expect.
import { tiny, work } from './tasks.mjs';

const kind = process.env.BENCH_PEER_KIND;
if (kind === 'workerpool') {
  const { default: workerpool } = await import('workerpool');
  workerpool.worker({ tiny, work });
} else if (kind === 'poolifier') {
  const { ThreadWorker } = await import('poolifier');
  new ThreadWorker({ tiny: (d) => tiny(d), work: (d) => work(d) });
}

// piscina and tinypool call the named export.
export { tiny, work };
export default tiny;
