/**
 * A worker's result outbox: the results of the tasks it has run, held until
 * they are sent, in order, one message for as many as there are. A result is
 * held only while calls known to be quick run after it, and never longer than
 * HOLD_MS; on a thread it is mirrored in shared memory meanwhile
 * (held-results.ts), where the pool takes it should such a call prove long.
 * @internal
 */
import { encodeError, pack } from '../codec.js';
import { MirrorWriter } from './held-results.js';
import { BARE_MS, ERROR, HOLD_MS, OK, PACKED, RESULTS, isBare, type FromWorker, type BareResult, type ResultMessage } from './protocol.js';

/** How an outbox sends a message. */
export type Send = (message: FromWorker, transferList: unknown[]) => void;

export class Outbox {
  /** The next result message: results not sent yet, from the task of seq `firstSeq` on. */
  private results: ResultMessage = newResults();
  private firstSeq = 0;
  /** When the first held result's task ended. */
  private heldSince = 0;
  /** What the results move rather than copy: only a result sent alone has any. */
  private transfers: unknown[] = [];
  /** Time spent running the tasks of the held results (ms): the pool learns from it how long tasks take. */
  private runMs = 0;
  /** The held results in shared memory, for the pool to take if they wait too long; null in a child process. */
  private readonly writer: MirrorWriter | null;
  /** How many of the held results were written to the mirror. */
  private mirrored = 0;
  private flushQueued = false;
  /** A task reported progress since the last flush: what is held is sent, never mirrored, so that no result overtakes that progress. */
  private progressed = false;
  /** The result being sent is a deferred task's: alone, its seq written -1 - seq. */
  private sendingLate = false;
  private readonly flushNow = (): void => {
    this.flushQueued = false;
    this.flush();
  };

  constructor(
    private readonly send: Send,
    mirror: SharedArrayBuffer | null,
  ) {
    this.writer = mirror === null ? null : new MirrorWriter(mirror);
  }

  /** Counts a task's run time, sent with the next message. */
  ran(ms: number): void {
    this.runMs += ms;
  }

  /** Keeps the result of the task `seq`, which ended at `endedAt`, to send with the next flush. */
  hold(seq: number, status: number, value: unknown, endedAt: number): void {
    if (this.results.length === RESULTS) {
      this.firstSeq = seq;
      this.heldSince = endedAt;
    }
    this.results.push(status, value);
  }

  /** Sends a result that crosses as itself in a message of its own: if the channel drops it, no other result goes with it. */
  alone(seq: number, status: number, value: unknown, transfers: unknown[]): void {
    this.flush();
    this.firstSeq = seq;
    this.results.push(status, value);
    this.transfers = transfers;
    this.flush();
  }

  /**
   * Before the next call is claimed, since the pool may then end this worker to
   * interrupt it: sends what is held, unless that call is known `quick`, the
   * results are fresh, and they are all mirrored where the pool can take them.
   */
  beforeCall(quick: boolean): void {
    if (this.results.length > RESULTS && !(quick && !this.progressed && performance.now() - this.heldSince < HOLD_MS && this.mirror())) this.flush();
  }

  /** Sends what is held once this turn of the event loop is over: the task that runs now goes on asynchronously. */
  flushSoon(): void {
    if (this.results.length === RESULTS || this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(this.flushNow);
  }

  /**
   * Sends a value the task of `seq` reported, after the results held so far:
   * a message of its own, before that task's result. Throws a `TypeError`
   * when the value cannot be sent (`shares`: from a thread).
   */
  progress(seq: number, value: unknown, shares: boolean): void {
    this.flush();
    this.progressed = true;
    try {
      this.send({ progress: seq, value }, []);
    } catch (error) {
      const from = shares ? 'the worker' : 'the child process';
      throw new TypeError(`reportProgress(): the value cannot be sent from ${from}: ${(error as Error)?.message ?? error}`, { cause: error });
    }
  }

  /** Sends the result that `put` holds (or sends alone) as a deferred task's, late: alone, after what is held. */
  late(put: () => void): void {
    this.flush();
    this.sendingLate = true;
    try {
      put();
      this.flush();
    } finally {
      this.sendingLate = false;
    }
  }

  /** Sends the results held so far. */
  flush(): void {
    this.progressed = false;
    if (this.results.length === RESULTS) return;
    let message = this.results;
    const taken = this.mirrored > 0 ? this.writer!.reset() : 0;
    this.mirrored = 0;
    if (taken > 0) {
      // The pool took these from the mirror while a long call ran: send only the rest.
      message = [0, 0, ...message.slice(RESULTS + 2 * taken)];
      this.firstSeq += taken;
      if (message.length === RESULTS) {
        this.results = newResults();
        this.transfers = [];
        return;
      }
    }
    const late = this.sendingLate;
    const bare = !late && message.length === RESULTS + 2 && message[RESULTS] === OK && this.runMs < BARE_MS && taken === 0 && isBare(message[RESULTS + 1]);
    message[0] = late ? -1 - this.firstSeq : this.firstSeq;
    message[1] = late ? -1 : this.runMs;
    const transfers = this.transfers;
    this.results = newResults();
    this.transfers = [];
    this.runMs = 0;
    try {
      this.send(bare ? (message[RESULTS + 1] as BareResult) : message, transfers);
    } catch (error) {
      this.send(replaceUncloneable(message, error), []);
    }
  }

  /** Writes the held results to shared memory before a call runs after them; false where they cannot all be. */
  private mirror(): boolean {
    const writer = this.writer;
    if (writer === null) return false;
    const results = this.results;
    for (let i = RESULTS + 2 * this.mirrored; i < results.length; i += 2) {
      if (!writer.add(results[i] as number, results[i + 1])) return false;
      this.mirrored++;
    }
    return writer.publish(this.firstSeq);
  }
}

/** A result message with no results yet: its seq and time are filled in when it is sent. */
function newResults(): ResultMessage {
  return [0, 0];
}

/** Fails just the results that cannot be sent back, with a reason. */
function replaceUncloneable(message: ResultMessage, error: unknown): ResultMessage {
  const r = message;
  for (let i = RESULTS; i < r.length; i += 2) {
    try {
      structuredClone(r[i + 1]);
    } catch (why) {
      r[i] = ERROR | PACKED;
      r[i + 1] = pack(encodeError(new TypeError(`the task's result cannot be sent back from the worker: ${(why as Error)?.message ?? why}`, { cause: error })));
    }
  }
  return message;
}
