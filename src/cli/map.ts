/** `concurrent-futures map MODULE#EXPORT`: a module's function over many input lines. */
import { createReadStream, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Readable } from 'node:stream';
import { AsyncPoolExecutor } from '../async-pool.js';
import type { Executor } from '../executor.js';
import { ProcessPoolExecutor } from '../process/pool.js';
import { ProgressDisplay } from '../progress/display.js';
import { ThreadPoolExecutor } from '../thread/pool.js';
import { batchTasks, type BatchOutcome } from './batch-task.js';
import { countLines, LineReader } from './line-reader.js';
import { loadFunction, type LoadedFunction } from './load.js';
import { mapUsage, parseMapArgs, type MapConfig } from './map-args.js';
import { MapRun } from './map-run.js';
import { Output } from './output.js';
import { cannotServe } from '../dashboard/flag.js';
import { UsageError } from './usage-error.js';

export async function mapCommand(argv: string[]): Promise<number> {
  const config = parseMapArgs(argv);
  if (config === 'help') {
    process.stdout.write(`${mapUsage}\n`);
    return 0;
  }
  const loaded = await loadFunction(config.target);
  const { stream, total } = await openInput(config);
  const workers = config.workers ?? (config.executor === 'async' ? Math.min(32, availableParallelism() + 4) : availableParallelism());
  // Without workers, a chunk would run its lines one after another: no chunks there.
  const chunksize = config.executor === 'async' ? 1 : config.chunksize;
  const executor = await startExecutor(config, loaded, workers);
  const submitting = { lines: 0 };
  const dashboard = config.dashboard === undefined ? null : await openDashboard(executor, config.dashboard, loaded.path.join('.'), chunksize, submitting).catch(async (error: unknown) => {
    await executor.shutdown({ wait: false, cancelFutures: true });
    throw error;
  });
  const display = await ProgressDisplay.open({ stream: process.stderr, label: loaded.path.join('.'), total, lines: config.progress === true, disable: config.progress === false });
  const output = new Output(process.stdout);
  // Results printed on the bar's terminal must not break it.
  if (process.stdout.isTTY && display.drawing) output.divert((text) => display.log(text));
  const run = new MapRun(executor, new LineReader(stream), output, display, {
    json: config.json,
    chunksize,
    buffersize: config.buffersize ?? Math.max(1024, 4 * workers * chunksize),
    timeout: config.timeout,
    unordered: config.unordered,
    failFast: config.failFast,
    submitting,
  });

  let interrupted = false;
  const onInterrupt = (): void => {
    if (interrupted) {
      // A second Ctrl-C: no more waiting for anything.
      display.close();
      process.exit(130);
    }
    interrupted = true;
    run.stop('stopped');
  };
  process.on('SIGINT', onInterrupt);
  let end;
  try {
    try {
      end = await run.run();
    } finally {
      display.close();
    }
    if (end === 'done') await executor.shutdown();
  } finally {
    // Its open streams would hold the process: closed however the run ended.
    await dashboard?.close();
  }
  // Once interrupted, the handler stays until the exit: without it, a further Ctrl-C would kill the process by signal.
  if (interrupted) return 130;
  process.off('SIGINT', onInterrupt);
  if (end === 'broken') {
    process.stderr.write(`concurrent-futures: cannot load ${config.target} in a worker: ${run.brokenReason}\n`);
    return 2;
  }
  if (output.error !== null) {
    process.stderr.write(`concurrent-futures: cannot write the results: ${output.error.message}\n`);
    return 1;
  }
  return run.failures > 0 ? 1 : 0;
}

async function openInput(config: MapConfig): Promise<{ stream: Readable; total: number | undefined }> {
  if (config.input === undefined) {
    if (process.stdin.isTTY) process.stderr.write('concurrent-futures: reading input lines from the terminal (end with Ctrl-D)\n');
    return { stream: process.stdin, total: undefined };
  }
  let isFile: boolean;
  try {
    isFile = !statSync(config.input).isDirectory();
  } catch (error) {
    throw new UsageError(`cannot read --input ${config.input}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  if (!isFile) throw new UsageError(`--input ${config.input} is a directory`);
  // A regular file can be counted first, so that the bar knows the total; a FIFO cannot.
  const total = statSync(config.input).isFile() ? await countLines(config.input, config.json) : undefined;
  return { stream: createReadStream(config.input), total };
}

/** The run's live page: each batch shown by the user's function and counted as its lines, its URL on stderr. */
async function openDashboard(executor: Executor, port: number, name: string, chunksize: number, submitting: { lines: number }): Promise<{ close(): Promise<void> }> {
  const { serveWith } = await import('../dashboard/serve.js');
  const label = chunksize > 1 ? `${name} (lines, in batches of ${chunksize})` : name;
  // A batch's size is known as it is submitted (its `start`), and kept by its context until it is done.
  const lines = new WeakMap<object, number>();
  const size = (trace: object): number => {
    let n = lines.get(trace);
    if (n === undefined) lines.set(trace, (n = submitting.lines));
    return n;
  };
  let dashboard;
  try {
    // A batch succeeds though its lines fail (each alone): its failed lines count as failed.
    dashboard = await serveWith(executor, { port }, { label: () => label, size, failures: (trace) => (trace.result as BatchOutcome | undefined)?.errors.length ?? 0 });
  } catch (error) {
    throw new UsageError(cannotServe(port, error));
  }
  process.stderr.write(`concurrent-futures: dashboard at ${dashboard.url}\n`);
  return dashboard;
}

async function startExecutor(config: MapConfig, loaded: LoadedFunction, workers: number): Promise<Executor> {
  const initargs = [loaded.module, loaded.path, loaded.tsxApi];
  switch (config.executor) {
    case 'async':
      // The module is loaded here already (tsx's import too is kept): this only keeps the function for the batches.
      await batchTasks.load(loaded.module, loaded.path, loaded.tsxApi);
      return new AsyncPoolExecutor(workers);
    case 'process':
      return new ProcessPoolExecutor({ maxWorkers: workers, initializer: batchTasks.load, initargs });
    default:
      return new ThreadPoolExecutor({ maxWorkers: workers, initializer: batchTasks.load, initargs });
  }
}
