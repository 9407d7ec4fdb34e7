/** A pool's worker thread: runs what the pool sends (from thread/worker.ts, or from a bundle started as a worker). */
import { parentPort } from 'node:worker_threads';
import { TaskRunner } from '../pool/runner.js';
import type { ToWorker, WorkerConfig } from '../pool/protocol.js';

/** Makes this worker thread serve its pool. @internal */
export function serveThread(config: WorkerConfig): void {
  // Sources compiled by esbuild (tsx, bundles) may call its `__name` helper, which only the original module had.
  (globalThis as any).__name ??= (fn: unknown) => fn;

  const port = parentPort!;
  const post = port.postMessage.bind(port);
  // The channel is the pool's: it reads any value posted on it as the next result (a bare one travels
  // as itself, protocol.ts), so a task posting there would hand its value to one future and shift every
  // later result by one. A task that tries fails with this instead.
  port.postMessage = () => {
    throw new Error(
      "a task cannot use parentPort.postMessage: the pool's channel to its worker carries only its tasks and results. " +
        'Return the value, or pass a MessagePort as an argument with transfer() and post on that.',
    );
  };
  const runner = new TaskRunner(
    {
      send: (message, transferList) => post(message, transferList as any[]),
      // A thread's messages reach the pool before its exit does.
      exit: (code) => process.exit(code),
      shares: true,
    },
    config,
  );
  port.on('message', (message: ToWorker) => runner.receive(message));
}
