/**
 * Standard output for results, with back-pressure: a writer waits for the
 * stream to drain. A reader that goes away (`| head -5`) is no error: the
 * run stops quietly, as `yes | head` does.
 */
import type { Writable } from 'node:stream';

export class Output {
  /** Set once the stream cannot take more: the reader closed it, or it failed. */
  closed = false;
  /** Why it failed, other than its reader closing it. */
  error: Error | null = null;
  private onClose: (() => void) | null = null;
  /** Ends a wait for 'drain' that will not come. */
  private resume: (() => void) | null = null;

  constructor(private readonly stream: Writable) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') this.error ??= error;
      this.close();
    });
  }

  private via: ((text: string) => void) | null = null;

  /** Sends what would be written to `fn` instead (a progress bar's log on the same terminal). */
  divert(fn: (text: string) => void): void {
    this.via = fn;
  }

  /** Calls `fn` once, when the stream closes under us. */
  whenClosed(fn: () => void): void {
    this.onClose = fn;
  }

  /** Writes `text`; resolves at once, or once the stream has drained when its buffer is full. */
  write(text: string): Promise<void> | undefined {
    if (this.closed || text === '') return undefined;
    if (this.via !== null) {
      this.via(text);
      return undefined;
    }
    if (this.stream.write(text)) return undefined;
    return new Promise((resolve) => {
      const done = (): void => {
        this.stream.off('drain', done);
        this.resume = null;
        resolve();
      };
      this.resume = done;
      this.stream.on('drain', done);
    });
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.resume?.();
    const fn = this.onClose;
    this.onClose = null;
    fn?.();
  }
}
