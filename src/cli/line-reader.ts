/**
 * Input lines, read as they are needed: the stream is pulled one chunk at a
 * time, so an endless stdin is read no faster than the work goes, in
 * constant memory.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';

/** Consecutive input lines as one text, without their final newline. */
export interface Lines {
  text: string;
  /** The first line's number (from 1). */
  first: number;
  /** How many lines the text holds. */
  count: number;
}

export class LineReader {
  private readonly chunks: AsyncIterator<string>;
  /** Text read and not handed out; `position` is where the next line starts. */
  private buffer = '';
  private position = 0;
  private ended = false;
  private lineNumber = 1;

  constructor(private readonly stream: Readable) {
    stream.setEncoding('utf8');
    this.chunks = stream[Symbol.asyncIterator]();
  }

  /** Up to `max` whole lines, waiting for the stream only while none is buffered; `null` at the end. */
  async read(max: number): Promise<Lines | null> {
    let end = this.buffer.indexOf('\n', this.position);
    while (end === -1) {
      if (this.ended) {
        // A last line without a newline is a line too.
        if (this.position >= this.buffer.length) return null;
        end = this.buffer.length;
        break;
      }
      await this.fill();
      end = this.buffer.indexOf('\n', this.position);
    }
    let count = 1;
    for (let next; count < max && (next = this.buffer.indexOf('\n', end + 1)) !== -1; count++) end = next;
    const lines: Lines = { text: this.buffer.slice(this.position, end), first: this.lineNumber, count };
    this.position = end + 1;
    this.lineNumber += count;
    return lines;
  }

  private async fill(): Promise<void> {
    const step = await this.chunks.next();
    // Keep only the unfinished line: what was handed out can go.
    const rest = this.position < this.buffer.length ? this.buffer.slice(this.position) : '';
    this.position = 0;
    if (step.done) {
      this.ended = true;
      this.buffer = rest;
    } else this.buffer = rest + step.value;
  }

  /** Stops reading: the stream is closed, so that it keeps nothing alive. */
  close(): void {
    this.ended = true;
    this.buffer = '';
    this.position = 0;
    void this.chunks.return?.().catch(() => {});
    this.stream.destroy();
  }
}

/** Counts a file's lines (with `skipBlank`, those with more than white space) without holding it in memory. */
export async function countLines(path: string, skipBlank: boolean): Promise<number> {
  let count = 0;
  let content = false;
  let empty = true;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (byte === 10) {
        if (content || !skipBlank) count++;
        content = false;
        empty = true;
      } else {
        empty = false;
        if (byte !== 32 && byte !== 9 && byte !== 13) content = true;
      }
    }
  }
  if (!empty && (content || !skipBlank)) count++;
  return count;
}
