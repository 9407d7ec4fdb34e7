/** A process pool's child: runs what the pool sends over IPC (from process/child.ts, or from a bundle started as a child). */
import { Worker } from 'node:worker_threads';
import { TaskRunner } from '../pool/runner.js';
import type { ConfigMessage, ExitingMessage, FromWorker, ToWorker } from '../pool/protocol.js';

/** Makes this child process serve its pool: its config is the first message. @internal */
export function serveChild(): void {
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

  const send = process.send!.bind(process);
  // The channel is the pool's: it reads any value sent on it as the next result (a bare one travels
  // as itself, protocol.ts), so a task sending there would hand its value to one future and shift every
  // later result by one. A task that tries fails with this instead.
  process.send = () => {
    throw new Error(
      "a task cannot use process.send: the pool's channel to its child process carries only its tasks and results. " +
        'Return the value instead.',
    );
  };

  let exitCode: number | null = null;
  let runner: TaskRunner | null = null;
  // A message is written to the channel as the event loop lets it: what is not written when the child
  // exits is lost, so the runner starts no task while a message has yet to leave (whenSent). Node's own
  // handle of the channel says how many bytes it has yet to write, for nothing; where it cannot be read
  // (another runtime), each send's callback says that message has left.
  const pipe = channelPipe();
  let writing = 0;
  let resume: (() => void) | null = null;
  const written = (): void => {
    if (--writing > 0 || resume === null) return;
    const next = resume;
    resume = null;
    next();
  };
  const port = {
    send(message: FromWorker): void {
      if (pipe !== null) return void send(message);
      send(message, undefined, undefined, written);
      writing++;
    },
    whenSent(next: () => void): boolean {
      if (pipe === null) {
        if (writing === 0) return false;
        resume = next;
        return true;
      }
      if (pipe.writeQueueSize === 0) return false;
      // Only after a large message: each turn of the event loop writes more of it.
      const poll = (): void => void (pipe.writeQueueSize === 0 ? next() : setImmediate(poll));
      setImmediate(poll);
      return true;
    },
    exit(code: number): void {
      exitCode = code;
      // IPC writes are asynchronous and in order: once this last one has left, so has all the child sent.
      const bye: ExitingMessage = { exiting: code };
      try {
        send(bye, undefined, undefined, () => process.exit(code));
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
}

/** The channel's handle, where Node keeps it on `process` (a libuv pipe with its write queue's size); null elsewhere. */
function channelPipe(): { readonly writeQueueSize: number } | null {
  const key = Object.getOwnPropertySymbols(process).find((s) => s.description === 'kChannelHandle');
  const handle = key === undefined ? undefined : (process as unknown as Record<symbol, { writeQueueSize?: unknown } | undefined>)[key];
  return typeof handle?.writeQueueSize === 'number' ? (handle as { writeQueueSize: number }) : null;
}
