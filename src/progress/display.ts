/**
 * A progress display on a stream: a bar redrawn in place on a terminal, plain
 * lines now and then where asked, or nothing. The `map` command and the
 * `progress()` helper both draw through it.
 */
import type { Writable } from 'node:stream';
import { createBar, loadCliProgress, type Bar } from './bar.js';
import { describeCounts, fractionOf, type ProgressCounts } from './text.js';

/** How a display shows itself. @internal */
export interface DisplayOptions {
  /** Where to draw; default `process.stderr`. */
  stream?: Writable & { isTTY?: boolean };
  /** Text before the bar. */
  label?: string;
  /** How many items there are, when known. */
  total?: number;
  /** On a stream that is not a terminal, a plain line every `interval` ms (default: nothing there). */
  lines?: boolean;
  /** Milliseconds between plain lines; default 1000. */
  interval?: number;
  /** Show nothing at all. */
  disable?: boolean;
}

type Mode = 'bar' | 'lines' | 'off';

/** @internal */
export class ProgressDisplay {
  done = 0;
  failed = 0;
  private total: number | undefined;
  private readonly started = performance.now();
  private readonly label: string;
  private bar: Bar | null = null;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** The own progress of running tasks that report one, by task. */
  private readonly partial = new Map<object, number>();

  private constructor(
    private readonly stream: Writable,
    private readonly mode: Mode,
    options: DisplayOptions,
  ) {
    this.total = options.total;
    this.label = options.label ? `${options.label} ` : '';
    if (mode === 'lines') {
      this.timer = setInterval(() => this.writeLine(), options.interval ?? 1000);
      this.timer.unref();
    }
  }

  /**
   * Opens a display: a bar on a terminal (plain lines, with a hint once, where
   * cli-progress is not installed), plain lines elsewhere when asked.
   */
  static async open(options: DisplayOptions = {}): Promise<ProgressDisplay> {
    const stream = options.stream ?? process.stderr;
    const total = options.total;
    if (total !== undefined && (!Number.isInteger(total) || total < 0)) {
      throw new RangeError(`progress: total must be a non-negative integer, got ${total}`);
    }
    if (options.disable) return new ProgressDisplay(stream, 'off', options);
    if (!stream.isTTY) return new ProgressDisplay(stream, options.lines ? 'lines' : 'off', options);
    const lib = await loadCliProgress();
    if (lib === null) {
      stream.write('concurrent-futures: install cli-progress to see a progress bar (npm install cli-progress); plain progress lines instead\n');
      return new ProgressDisplay(stream, 'lines', options);
    }
    const display = new ProgressDisplay(stream, 'bar', options);
    display.bar = createBar(lib, stream, () => ({ label: display.label, text: describeCounts(display.counts()), known: display.total !== undefined }));
    display.bar.update(0, total);
    return display;
  }

  /** Whether lines written to `stream` should go through `log()` to keep the bar whole. */
  get drawing(): boolean {
    return this.mode === 'bar' && !this.closed;
  }

  counts(): ProgressCounts {
    const counts: ProgressCounts = { done: this.done, failed: this.failed, total: this.total, elapsed: performance.now() - this.started };
    if (this.partial.size > 0) counts.partial = { tasks: this.partial.size, fraction: this.partialSum() / this.partial.size };
    return counts;
  }

  /**
   * A running task (`key`) reported `value` (`reportProgress()`): a fraction
   * from 0 to 1 or `{ done, total }` moves the bar by that share of an item and
   * is shown until `taskEnded(key)`; other values are not shown.
   */
  taskProgress(key: object, value: unknown): void {
    const fraction = fractionOf(value);
    if (fraction === undefined || this.closed) return;
    this.partial.set(key, fraction);
    this.bar?.update(this.position(), this.total);
  }

  /** The task's own progress is over (it is done, and counted as such). */
  taskEnded(key: object): void {
    this.partial.delete(key);
  }

  private partialSum(): number {
    let sum = 0;
    for (const fraction of this.partial.values()) sum += fraction;
    return sum;
  }

  /** Where the bar stands: items done, and the shares of those running that said how far they are. */
  private position(): number {
    return this.partial.size === 0 ? this.done : this.done + this.partialSum();
  }

  /** Counts `done` more items, `failed` of them failures (included in `done`). */
  add(done: number, failed = 0): void {
    this.done += done;
    this.failed += failed;
    this.bar?.update(this.position(), this.total);
  }

  setTotal(total: number | undefined): void {
    this.total = total;
    this.bar?.update(this.done, total);
  }

  /** Writes a whole line to the stream without breaking the bar. */
  log(line: string): void {
    if (this.bar !== null && !this.closed) this.bar.log(line);
    else this.stream.write(line.endsWith('\n') ? line : `${line}\n`);
  }

  /** Shows the final state and stops redrawing. */
  close(): void {
    if (this.closed) return;
    if (this.mode === 'lines') this.writeLine();
    this.closed = true;
    clearInterval(this.timer);
    this.bar?.stop();
  }

  private writeLine(): void {
    if (!this.closed) this.stream.write(`${this.label || 'progress: '}${describeCounts(this.counts())}\n`);
  }
}
