/** The entry of a pool's worker thread: runs what the pool sends. */
import { parentPort, workerData } from 'node:worker_threads';
import { TaskRunner } from '../pool/runner.js';
import type { ToWorker, WorkerConfig } from '../pool/protocol.js';

// Sources compiled by esbuild (tsx) may call its `__name` helper, which only the original module had.
(globalThis as any).__name ??= (fn: unknown) => fn;

const port = parentPort!;
const runner = new TaskRunner(
  {
    send: (message, transferList) => port.postMessage(message, transferList as any[]),
    // A thread's messages reach the pool before its exit does.
    exit: (code) => process.exit(code),
    shares: true,
  },
  workerData as WorkerConfig,
);
port.on('message', (message: ToWorker) => runner.receive(message));
