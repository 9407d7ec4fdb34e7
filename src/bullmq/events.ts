/**
 * Reads a queue's event stream from a pinned position. BullMQ's `QueueEvents`
 * starts at `'$'` (what is added before its first blocking read is missed) and
 * reads only while its process runs; here the position is taken before the
 * first job is added and kept across reconnects, and reading stops while the
 * executor has nothing pending, so that an idle executor holds no read open.
 */
import type { Redis } from 'ioredis';
import { closeClient, refClient } from './connection.js';

/** One event of the stream, the fields the executor uses. @internal */
export interface QueueEvent {
  event: string;
  jobId: string;
  /** When Redis wrote it (ms, Redis's clock: its stream id). */
  at?: number;
  returnvalue?: string;
  failedReason?: string;
  /** A `progress` event's value, as JSON. */
  data?: string;
}

const BLOCK_MS = 5000;
const COUNT = 5000;
/** A read that outlives its block time by this much hangs on a dead socket: reconnect. */
const WATCHDOG_MS = 3000;

/** @internal */
export class EventReader {
  private position: string | null = null;
  private pinning: Promise<void> | null = null;
  private reading = false;
  private wanted = false;
  private closed = false;
  private generation = 0;
  private everReady = false;

  constructor(
    private readonly client: Redis,
    private readonly key: string,
    /** Whether a job id may be ours: cheap filtering of other executors' events. */
    private readonly ours: (jobId: string) => boolean,
    private readonly onEvent: (event: QueueEvent) => void,
    /** Events may have been missed (a reconnect, a read error): look at the jobs themselves. */
    private readonly onGap: () => void,
  ) {
    client.on('ready', () => {
      if (this.everReady) this.onGap();
      this.everReady = true;
      refClient(client, this.wanted);
    });
    // ioredis reports connection errors here; without a listener it prints them itself.
    client.on('error', () => {});
  }

  /** Takes the stream's current end as the position to read from; before the first job is added. */
  pin(): Promise<void> {
    this.pinning ??= (async () => {
      const last = (await this.client.xrevrange(this.key, '+', '-', 'COUNT', 1)) as Array<[string, string[]]>;
      this.position = last.length > 0 ? last[0]![0] : '0-0';
    })().catch((error) => {
      // Tried again by the next add: until then nothing is added.
      this.pinning = null;
      throw error;
    });
    return this.pinning;
  }

  /** Reads while the executor waits for events; `false` lets an idle process exit. */
  want(on: boolean): void {
    this.wanted = on;
    refClient(this.client, on);
    if (on && !this.reading && !this.closed) void this.loop();
  }

  close(): void {
    this.closed = true;
    this.wanted = false;
    closeClient(this.client);
  }

  private async loop(): Promise<void> {
    this.reading = true;
    try {
      try {
        await this.pin();
      } catch {
        if (!this.closed) setTimeout(() => this.wanted && !this.reading && void this.loop(), 200).unref();
        return;
      }
      while (this.wanted && !this.closed) {
        const generation = ++this.generation;
        let reply: unknown;
        try {
          reply = await this.read(generation);
        } catch {
          if (this.closed) return;
          // Redis unreachable or the read abandoned: wait a little, then look at the jobs themselves.
          await new Promise((resolve) => setTimeout(resolve, 200).unref());
          this.onGap();
          continue;
        }
        if (reply == null) continue;
        const entries = (reply as Array<[string, Array<[string, string[]]>]>)[0]![1];
        // A full read means we lag: if the stream was trimmed past our position, events were lost.
        if (entries.length >= COUNT) void this.checkTrimmed(this.position!);
        for (const [id, fields] of entries) {
          this.position = id;
          const event = parse(fields, this.ours);
          if (event !== null) this.onEvent(((event.at = parseInt(id, 10)), event));
        }
      }
    } finally {
      this.reading = false;
      // Wanted again while the last read was ending.
      if (this.wanted && !this.closed && this.position !== null) void this.loop();
    }
  }

  private async checkTrimmed(before: string): Promise<void> {
    try {
      const first = (await this.client.xrange(this.key, '-', '+', 'COUNT', 1)) as Array<[string, string[]]>;
      if (first.length > 0 && compareIds(first[0]![0], before) > 0) this.onGap();
    } catch {
      // the next read tells
    }
  }

  /** One blocking read, abandoned by a watchdog when the socket went silent. */
  private read(generation: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const watchdog = setTimeout(() => {
        if (generation !== this.generation) return;
        reject(new Error('the event stream read hung'));
        // A half-open socket never answers: make ioredis start a fresh one.
        this.client.disconnect(true);
      }, BLOCK_MS + WATCHDOG_MS);
      watchdog.unref();
      this.client.xread('COUNT', COUNT, 'BLOCK', BLOCK_MS, 'STREAMS', this.key, this.position!).then(
        (reply) => {
          clearTimeout(watchdog);
          resolve(reply);
        },
        (error) => {
          clearTimeout(watchdog);
          reject(error);
        },
      );
    });
  }
}

function parse(fields: string[], ours: (jobId: string) => boolean): QueueEvent | null {
  let event: string | undefined;
  let jobId: string | undefined;
  let returnvalue: string | undefined;
  let failedReason: string | undefined;
  let data: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const k = fields[i];
    const v = fields[i + 1]!;
    if (k === 'event') event = v;
    else if (k === 'jobId') {
      if (!ours(v)) return null;
      jobId = v;
    } else if (k === 'returnvalue') returnvalue = v;
    else if (k === 'failedReason') failedReason = v;
    else if (k === 'data') data = v;
  }
  if (event === undefined || jobId === undefined) return null;
  return { event, jobId, returnvalue, failedReason, data };
}

/** Orders two stream ids (`ms-seq`). */
function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am !== bm ? am - bm : (as ?? 0) - (bs ?? 0);
}
