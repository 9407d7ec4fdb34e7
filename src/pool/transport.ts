/**
 * How a worker pool talks to one worker, whatever it runs on (a thread, a
 * child process): the thread and process pools each make a Transport, and
 * report what their worker does through the hooks.
 * @internal
 */
import type { MirrorReader } from './held-results.js';
import type { FromWorker, ToWorker } from './protocol.js';
import type { TaskStates } from './task-states.js';

/** How the pool talks to one worker, whatever it runs on. @internal */
export interface Transport {
  readonly states: TaskStates;
  /** The results the worker holds, where it shares memory (threads). */
  readonly mirror: MirrorReader | null;
  post(message: ToWorker, transferList: unknown[]): void;
  /** Throws what `post` would for a value it cannot send: asked only once a message was refused. */
  probe(value: unknown): unknown;
  terminate(): void;
}

/** What a transport reports back to the pool about its worker. @internal */
export interface WorkerHooks {
  readonly index: number;
  onMessage(message: FromWorker): void;
  /** The worker is gone and every message it sent has been handled. */
  onExit(code: number | null, signal?: string | null): void;
  /** The channel dropped a message from the worker that it could not rebuild. */
  onDropped(error: unknown): void;
  /** Why the worker is about to end (an uncaught error, out of memory), for the error its task gets. */
  setReason(reason: string): void;
}

/** How a worker that could not start ended: its exit code or signal (both null when none was started) and why, when known. @internal */
export interface WorkerExit {
  code: number | null;
  signal: string | null;
  reason: string | undefined;
}

/** How a worker ended, as the errors it causes say: "exited with code 1", "was killed by SIGKILL". */
export function describeExit(code: number | null, signal?: string | null): string {
  return signal ? `was killed by ${signal}` : `exited with code ${code}`;
}
