/** The entry of a process pool's child: runs what the pool sends over IPC. */
import { Worker } from 'node:worker_threads';
import { TaskRunner } from '../pool/runner.js';
import type { ConfigMessage, ExitingMessage, FromWorker, ToWorker } from '../pool/protocol.js';

(globalThis as any).__name ??= (fn: unknown) => fn;

// A child must not outlive its pool's process, even while a task keeps its
// event loop busy: a watchdog thread ends it once the parent is gone.
const watchdog = new Worker(
  `const { workerData } = require('node:worker_threads');
   setInterval(() => { if (process.ppid !== workerData) process.kill(process.pid, 'SIGKILL'); }, 250);`,
  { eval: true, workerData: process.ppid },
);
watchdog.unref();
process.on('disconnect', () => process.exit(0));

let exitCode: number | null = null;
let runner: TaskRunner | null = null;
const port = {
  send(message: FromWorker): void {
    process.send!(message);
  },
  exit(code: number): void {
    exitCode = code;
    // IPC writes are asynchronous and in order: once this last one has left, so has all the child sent.
    const bye: ExitingMessage = { exiting: code };
    try {
      process.send!(bye, undefined, undefined, () => process.exit(code));
    } catch {
      process.exit(code);
    }
  },
  shares: false,
};

process.on('message', (message: ToWorker | ConfigMessage) => {
  if (exitCode !== null) return;
  if (runner === null) runner = new TaskRunner(port, (message as ConfigMessage).config);
  else runner.receive(message as ToWorker);
});
