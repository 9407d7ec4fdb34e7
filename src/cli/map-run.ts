/**
 * The pipeline of `concurrent-futures map`: lines are read as room frees up
 * (at most `buffersize` are between input and output), sent in batches of
 * `chunksize`, and each batch's results are written in input order, or as
 * they complete.
 */
import { BrokenExecutorError } from '../errors.js';
import type { Executor } from '../executor.js';
import type { Future } from '../future.js';
import { Deque } from '../deque.js';
import type { ProgressDisplay } from '../progress/display.js';
import { batchTasks, describeError, LOAD_FAILED, type BatchOutcome } from './batch-task.js';
import type { LineReader } from './line-reader.js';
import type { Output } from './output.js';

export interface RunOptions {
  json: boolean;
  chunksize: number;
  buffersize: number;
  timeout: number | undefined;
  unordered: boolean;
  failFast: boolean;
  /** Told the lines of each batch as it is submitted (inside its submit, the tracing channel's `start`: the dashboard). */
  submitting?: { lines: number };
}

interface Batch {
  future: Future<BatchOutcome>;
  /** Its first line's number, and how many lines it holds. */
  first: number;
  count: number;
  /** When a worker was first seen running it, for the timeout's last resort. */
  startedAt: number | undefined;
  timedOut: boolean;
}

/** How a run ended. */
export type RunEnd = 'done' | 'failed-fast' | 'stopped' | 'output-closed' | 'broken';

/** A one-shot wake-up for a loop that waits. */
class Signal {
  private resolve: (() => void) | null = null;
  wait(): Promise<void> {
    return new Promise((resolve) => (this.resolve = resolve));
  }
  notify(): void {
    const resolve = this.resolve;
    this.resolve = null;
    resolve?.();
  }
}

export class MapRun {
  /** Lines read and not yet written. */
  private inFlight = 0;
  private inputDone = false;
  private end: RunEnd | null = null;
  /** Batches in input order (ordered output) or in completion order (unordered). */
  private readonly ready = new Deque<Batch>();
  private readonly pending = new Set<Batch>();
  private readonly roomFreed = new Signal();
  private readonly batchDone = new Signal();
  /** Lines that failed. */
  failures = 0;
  /** Why the executor broke, when it did. */
  brokenReason: string | null = null;

  constructor(
    private readonly executor: Executor,
    private readonly reader: LineReader,
    private readonly output: Output,
    private readonly display: ProgressDisplay,
    private readonly options: RunOptions,
  ) {
    output.whenClosed(() => this.stop('output-closed'));
  }

  async run(): Promise<RunEnd> {
    const watchdog = this.watchTimeouts();
    const producing = this.produce();
    try {
      await this.consume();
    } finally {
      clearInterval(watchdog);
    }
    await producing;
    return this.end ?? 'done';
  }

  /** Ends the run early: no more input, and nothing that has not started will run. */
  stop(end: RunEnd): void {
    if (this.end !== null) return;
    this.end = end;
    this.reader.close();
    for (const batch of this.pending) batch.future.cancel({ interrupt: true });
    void this.executor.shutdown({ wait: false, cancelFutures: true });
    this.roomFreed.notify();
    this.batchDone.notify();
  }

  private async produce(): Promise<void> {
    const { chunksize, buffersize, json, unordered } = this.options;
    const format = { json, tagged: unordered, timeout: this.options.timeout ?? null };
    try {
      while (this.end === null) {
        if (this.inFlight >= buffersize) {
          await this.roomFreed.wait();
          continue;
        }
        const got = await this.reader.read(Math.min(chunksize, buffersize - this.inFlight));
        if (got === null || this.end !== null) break;
        if (this.options.submitting !== undefined) this.options.submitting.lines = got.count;
        const batch: Batch = {
          future: this.executor.submit(batchTasks.run, got.text, got.first, format),
          first: got.first,
          count: got.count,
          startedAt: undefined,
          timedOut: false,
        };
        this.inFlight += got.count;
        this.pending.add(batch);
        if (!this.options.unordered) this.ready.push(batch);
        // A call that reports its own progress (reportProgress()) moves the bar while it runs.
        batch.future.addProgressCallback((value) => this.display.taskProgress(batch, value));
        batch.future.addDoneCallback(() => this.completed(batch));
      }
    } catch (error) {
      // The input failed (a read error): what was read is still written.
      if (this.end === null) {
        this.display.log(`concurrent-futures: cannot read the input: ${describeError(error)}`);
        this.failures++;
      }
    } finally {
      this.inputDone = true;
      this.batchDone.notify();
    }
  }

  private completed(batch: Batch): void {
    this.pending.delete(batch);
    this.display.taskEnded(batch);
    if (this.options.unordered) this.ready.push(batch);
    const { future, count } = batch;
    if (future.cancelled()) {
      if (batch.timedOut) this.display.add(count, count);
    } else {
      future.result().then(
        (outcome) => this.display.add(outcome.count, outcome.errors.length),
        () => this.display.add(count, count),
      );
    }
    if (this.options.unordered || batch === this.ready.peek()) this.batchDone.notify();
  }

  private async consume(): Promise<void> {
    while (this.end === null) {
      const head = this.ready.peek();
      if (head !== undefined && head.future.done()) {
        this.ready.shift();
        await this.write(head);
        this.inFlight -= head.count;
        this.roomFreed.notify();
        continue;
      }
      if (this.inputDone && this.inFlight === 0) break;
      await this.batchDone.wait();
    }
  }

  /** Writes a batch's results, and its failures on stderr. */
  private async write(batch: Batch): Promise<void> {
    const { future } = batch;
    let outcome: BatchOutcome;
    if (future.cancelled()) {
      if (!batch.timedOut) return;
      outcome = this.failAll(batch, `TimeoutError: the call took longer than ${this.options.timeout} ms and blocked its worker, which was stopped`);
    } else {
      try {
        outcome = await future.result();
      } catch (error) {
        if ((error as { code?: unknown }).code === LOAD_FAILED) {
          this.brokenReason = (error as Error).message;
          this.stop('broken');
          return;
        }
        if (error instanceof BrokenExecutorError && /initializer failed/.test(error.message)) {
          this.brokenReason = describeError((error as { cause?: unknown }).cause ?? error);
          this.stop('broken');
          return;
        }
        // The worker died under the batch: every line of it failed.
        outcome = this.failAll(batch, describeError(error));
      }
    }
    const { parts, errors } = outcome;
    for (let i = 0; i < errors.length; i++) {
      await this.emit(parts[i]!);
      const [line, message] = errors[i]!;
      this.failures++;
      this.display.log(`concurrent-futures: line ${line}: ${message}`);
      if (this.options.failFast) {
        this.stop('failed-fast');
        return;
      }
    }
    await this.emit(parts[errors.length]!);
  }

  private failAll(batch: Batch, message: string): BatchOutcome {
    const errors: Array<[number, string]> = [];
    for (let i = 0; i < batch.count; i++) errors.push([batch.first + i, message]);
    return { parts: errors.map(() => '').concat(''), errors, count: batch.count };
  }

  private emit(text: string): Promise<void> | undefined {
    return this.end === null ? this.output.write(text) : undefined;
  }

  /**
   * A call that blocks its worker cannot time itself out: past twice its
   * batch's time, plus a second, the worker is stopped.
   */
  private watchTimeouts(): NodeJS.Timeout | undefined {
    const timeout = this.options.timeout;
    if (timeout === undefined) return undefined;
    const timer = setInterval(() => {
      const now = performance.now();
      for (const batch of this.pending) {
        if (!batch.future.running()) continue;
        batch.startedAt ??= now;
        if (now - batch.startedAt > 2 * timeout * batch.count + 1000) {
          batch.timedOut = true;
          batch.future.cancel({ interrupt: true });
        }
      }
    }, Math.min(Math.max(timeout / 2, 50), 1000));
    timer.unref();
    return timer;
  }
}
