/**
 * Reading what a worker answered for one task, and settling the task's
 * future with it: a value to unpack, an error to rebuild, a chunk of `map`
 * whose items each count. The pool pairs answers with tasks; this decides
 * what an answer means.
 * @internal
 */
import { decodeError, unpack } from '../codec.js';
import type { Counters } from '../executor.js';
import { cutShort, itemsRan, type ChunkOutcome } from '../chunk.js';
import { ENCODED, ERROR, PACKED, isChunk } from './protocol.js';
import type { PoolTask } from './worker-state.js';

/** Settles a task, not done yet, with the answer of this `status`; the caller has counted it out of the pending ones. */
export function settleAnswer(task: PoolTask<any>, status: number, value: unknown, c: Counters): void {
  if ((status & PACKED) !== 0) {
    try {
      value = unpack(value as Uint8Array);
    } catch (error) {
      failTask(task, error, c);
      return;
    }
  }
  if ((status & ERROR) !== 0) {
    failTask(task, decodeError(value), c);
    return;
  }
  if ((status & ENCODED) !== 0) {
    value = decodeError(value);
    c.completed++;
  } else if (isChunk(task.key)) {
    // Each item counts: those that ran, the one that failed, and those after it as never run.
    const outcome = value as ChunkOutcome<unknown>;
    outcome.error = decodeError(outcome.error);
    if (task.cut !== null) cutShort(outcome, task.cut);
    c.chunkEnded(outcome, task.items);
    c.latency.itemsRan(task.ticket, itemsRan(outcome));
  } else c.completed++;
  task.payload = null;
  task.transfers = null;
  task.cut = null;
  task.setResult(value);
}

/** Fails a task, not done yet, counting each of its items; the caller has counted it out of the pending ones. */
export function failTask(task: PoolTask<any>, error: unknown, c: Counters): void {
  task.payload = null;
  task.transfers = null;
  c.completed += task.items;
  c.failed += task.items;
  if (isChunk(task.key)) c.latency.itemsRan(task.ticket, task.items);
  task.setException(error);
}
