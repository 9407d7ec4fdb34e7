/**
 * The mirror: the results a worker thread holds back, copied into shared memory.
 *
 * A worker holds a finished result in its outbox while calls that have lately
 * been quick run after it, and sends it with theirs (outbox.ts). A call can turn
 * out long, or end the worker: the held results would then wait for it, or die
 * with it. So each held result is also written here (`MirrorWriter`, the
 * worker's side), and the pool (`MirrorReader`) takes from
 * here what has sat for a tick of its clock (`MirrorReader.poll`) or what a
 * dead worker left (`MirrorReader.takeAll`). One word decides who sends each
 * result — the worker in its next message, or the pool from here:
 *
 *   n >= 0          n results written and published by the worker
 *   CLAIMED | n     the pool is reading them (or, finding a message of the
 *                   worker's still on its way, gives them back: n again)
 *   TAKEN | n       the pool has them: the worker drops them from its message
 *
 * Values are those a worker holds: primitives, packed bytes, and chunk
 * outcomes of primitives. Anything else, or more than fits, is not held.
 * @internal
 */
import type { ChunkOutcome } from '../chunk.js';
import type { ResultMessage } from './protocol.js';

const CLAIMED = 1 << 29;
const TAKEN = 1 << 30;
const COUNT = CLAIMED - 1;
/** Header: the word above and the seq of the first result (Int32), when the first was held (Float64, epoch ms). */
const WORD = 0;
const FIRST_SEQ = 1;
const SINCE = 1;
const HEADER_BYTES = 16;
/** Results held this long (ms) are taken: a worker holds them deliberately for at most 1 ms (HOLD_MS). */
const STALE_MS = 2;
/** Room for the results one worker holds at once; a result that does not fit is sent at once. */
const BYTES = 64 * 1024;

const enum Tag {
  Undefined,
  Null,
  True,
  False,
  Number,
  String,
  BigInt,
  Bytes,
  Chunk,
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The shared memory of one worker's mirror. */
export function newMirror(): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_BYTES + BYTES);
}

/** The worker's side: writes each held result, and learns which of them the pool took. */
export class MirrorWriter {
  private readonly word: Int32Array;
  private readonly since: Float64Array;
  private readonly view: DataView;
  private readonly bytes: Uint8Array;
  /** Results published, and written after them but not yet published. */
  private count = 0;
  private pending = 0;
  private offset = HEADER_BYTES;
  private published = HEADER_BYTES;

  constructor(buffer: SharedArrayBuffer) {
    this.word = new Int32Array(buffer, 0, 2);
    this.since = new Float64Array(buffer, 0, 2);
    this.view = new DataView(buffer);
    this.bytes = new Uint8Array(buffer);
  }

  /** Writes a held result, to be published; false when it does not fit (send it now). */
  add(status: number, value: unknown): boolean {
    const start = this.offset;
    if (start + 1 > this.bytes.length) return false;
    this.view.setUint8(start, status);
    this.offset = start + 1;
    if (!this.write(value, true)) {
      this.offset = start;
      return false;
    }
    this.pending++;
    return true;
  }

  /** Publishes what was added, `firstSeq` being the seq of the first result held; false when the pool has taken the earlier ones (send now). */
  publish(firstSeq: number): boolean {
    if (this.pending === 0) return true;
    if (this.count === 0) {
      Atomics.store(this.word, FIRST_SEQ, firstSeq);
      // Epoch time: each thread's performance.now() counts from its own start.
      this.since[SINCE] = performance.timeOrigin + performance.now();
    }
    const ok = Atomics.compareExchange(this.word, WORD, this.count, this.count + this.pending) === this.count;
    if (ok) {
      this.count += this.pending;
      this.published = this.offset;
    } else {
      this.offset = this.published;
    }
    this.pending = 0;
    return ok;
  }

  /**
   * Called before the held results are sent: empties the mirror and returns
   * how many of the first of them the pool has already taken from it.
   */
  reset(): number {
    let taken = 0;
    for (;;) {
      const word = Atomics.compareExchange(this.word, WORD, this.count, 0);
      if (word === this.count) break;
      if ((word & TAKEN) !== 0) {
        taken = word & COUNT;
        Atomics.store(this.word, WORD, 0);
        break;
      }
      // Claimed: the pool is reading them, which takes microseconds.
      Atomics.wait(this.word, WORD, word, 1);
    }
    this.count = 0;
    this.pending = 0;
    this.offset = this.published = HEADER_BYTES;
    return taken;
  }

  private write(value: unknown, top: boolean): boolean {
    const view = this.view;
    let at = this.offset;
    const end = this.bytes.length;
    if (at + 1 + 8 > end) return false;
    switch (typeof value) {
      case 'number':
        view.setUint8(at, Tag.Number);
        view.setFloat64(at + 1, value);
        at += 9;
        break;
      case 'boolean':
        view.setUint8(at++, value ? Tag.True : Tag.False);
        break;
      case 'undefined':
        view.setUint8(at++, Tag.Undefined);
        break;
      case 'string':
      case 'bigint': {
        const text = typeof value === 'string' ? value : value.toString();
        // UTF-8 cannot carry a lone surrogate: such a string crosses only as itself.
        if (typeof value === 'string' && !(text as any).isWellFormed()) return false;
        // At most 3 bytes of UTF-8 per UTF-16 unit.
        if (at + 5 + text.length * 3 > end) return false;
        view.setUint8(at, typeof value === 'string' ? Tag.String : Tag.BigInt);
        const { written } = encoder.encodeInto(text, this.bytes.subarray(at + 5));
        view.setUint32(at + 1, written);
        at += 5 + written;
        break;
      }
      case 'object':
        if (value === null) {
          view.setUint8(at++, Tag.Null);
        } else if (value instanceof Uint8Array && top) {
          if (at + 5 + value.length > end) return false;
          view.setUint8(at, Tag.Bytes);
          view.setUint32(at + 1, value.length);
          this.bytes.set(value, at + 5);
          at += 5 + value.length;
        } else if (top && Array.isArray((value as ChunkOutcome<unknown>).values)) {
          const values = (value as ChunkOutcome<unknown>).values;
          view.setUint8(at, Tag.Chunk);
          view.setUint32(at + 1, values.length);
          this.offset = at + 5;
          for (let i = 0; i < values.length; i++) if (!this.write(values[i], false)) return false;
          return true;
        } else {
          return false;
        }
        break;
      default:
        return false;
    }
    this.offset = at;
    return true;
  }
}

/** The pool's side: takes the results a worker has held for a whole tick, or left behind when it died. */
export class MirrorReader {
  private readonly word: Int32Array;
  private readonly since: Float64Array;
  private readonly view: DataView;
  private readonly bytes: Uint8Array;
  private offset = 0;

  constructor(buffer: SharedArrayBuffer) {
    this.word = new Int32Array(buffer, 0, 2);
    this.since = new Float64Array(buffer, 0, 2);
    this.view = new DataView(buffer);
    this.bytes = new Uint8Array(buffer);
  }

  /**
   * The results held longer than they should be, taken from the worker as a
   * result message; null if there are none, or if they do not begin at
   * `nextSeq` (a message of the worker's with earlier results is on its way).
   */
  poll(nextSeq: number): ResultMessage | null {
    const word = Atomics.load(this.word, WORD);
    if (word <= 0 || word >= CLAIMED || !this.stale()) return null;
    if (Atomics.compareExchange(this.word, WORD, word, CLAIMED | word) !== word) return null;
    // Read again once claimed: until then the worker may have sent them and started holding anew.
    if (Atomics.load(this.word, FIRST_SEQ) !== nextSeq || !this.stale()) {
      Atomics.store(this.word, WORD, word);
      Atomics.notify(this.word, WORD);
      return null;
    }
    return this.read(word);
  }

  private stale(): boolean {
    return performance.timeOrigin + performance.now() - this.since[SINCE]! >= STALE_MS;
  }

  /** Whatever a dead worker had published, if it begins at `nextSeq`. */
  takeAll(nextSeq: number): ResultMessage | null {
    const word = Atomics.load(this.word, WORD);
    return word > 0 && word < CLAIMED && Atomics.load(this.word, FIRST_SEQ) === nextSeq ? this.read(word) : null;
  }

  private read(count: number): ResultMessage {
    // Their run time is unknown here (-1): the pool's estimate of a task's length leaves them out.
    const message: ResultMessage = [Atomics.load(this.word, FIRST_SEQ), -1];
    this.offset = HEADER_BYTES;
    for (let i = 0; i < count; i++) {
      message.push(this.view.getUint8(this.offset++));
      message.push(this.value());
    }
    Atomics.store(this.word, WORD, TAKEN | count);
    Atomics.notify(this.word, WORD);
    return message;
  }

  private value(): unknown {
    const view = this.view;
    const at = this.offset;
    const tag = view.getUint8(at) as Tag;
    this.offset = at + 1;
    switch (tag) {
      case Tag.Undefined:
        return undefined;
      case Tag.Null:
        return null;
      case Tag.True:
        return true;
      case Tag.False:
        return false;
      case Tag.Number:
        this.offset = at + 9;
        return view.getFloat64(at + 1);
      case Tag.String:
      case Tag.BigInt: {
        const length = view.getUint32(at + 1);
        this.offset = at + 5 + length;
        // Decoded from a copy: TextDecoder refuses shared memory.
        const text = decoder.decode(this.bytes.slice(at + 5, at + 5 + length));
        return tag === Tag.String ? text : BigInt(text);
      }
      case Tag.Bytes: {
        const length = view.getUint32(at + 1);
        this.offset = at + 5 + length;
        return this.bytes.slice(at + 5, at + 5 + length);
      }
      case Tag.Chunk: {
        const values = new Array(view.getUint32(at + 1));
        this.offset = at + 5;
        for (let i = 0; i < values.length; i++) values[i] = this.value();
        return { values, failed: false, error: undefined } satisfies ChunkOutcome<unknown>;
      }
    }
  }
}
