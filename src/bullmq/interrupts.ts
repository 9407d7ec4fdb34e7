/**
 * `cancel({ interrupt: true })` across machines: the executor publishes the
 * job's id on a channel of the queue; the worker running that job aborts the
 * task's `taskSignal()`. Pub/sub is fire and forget: a worker that is
 * disconnected at that moment does not hear it, and its task runs to the end
 * (the future is cancelled all the same, and its result ignored).
 * @internal
 */

export interface InterruptMessage {
  jobId: string;
  /** `true`: the future is cancelled, stop the task; `false`: only abort its signal (a non-waiting shutdown). */
  cancel: boolean;
  /** Set when the task's `withOptions({ timeout })` ran out (its future fails with TimeoutError): the timeout in ms. */
  timeout?: number;
}

/** The channel of a queue's interrupts, beside its BullMQ keys. */
export function interruptChannel(qualifiedName: string): string {
  return `${qualifiedName}:cf-interrupt`;
}

/** Reads a message from the channel; anything else is ignored, never evaluated. */
export function parseInterrupt(text: string): InterruptMessage | null {
  try {
    const m = JSON.parse(text) as Partial<InterruptMessage> | null;
    if (m !== null && typeof m === 'object' && typeof m.jobId === 'string' && typeof m.cancel === 'boolean') {
      return typeof m.timeout === 'number' ? { jobId: m.jobId, cancel: m.cancel, timeout: m.timeout } : { jobId: m.jobId, cancel: m.cancel };
    }
  } catch {
    // not ours
  }
  return null;
}
