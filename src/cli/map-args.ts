/** The arguments of `concurrent-futures map`, read with `node:util`'s `parseArgs`. */
import { parseArgs } from 'node:util';
import { takeDashboardFlag } from '../dashboard/flag.js';
import { UsageError } from './usage-error.js';

export const mapUsage = `usage: concurrent-futures map [options] MODULE#EXPORT

Calls the function EXPORT of MODULE once per input line, in parallel, and
writes one JSON line per result to stdout, in input order.

inputs:
  -i, --input FILE       read lines from FILE (default: stdin); the total is then known
  -f, --format FORMAT    lines: each line is the one argument (default)
                         json: each line is JSON; an array is spread into the arguments

running:
  -e, --executor KIND    thread (default), process, or async (this thread's event loop, for I/O)
  -j, --workers N        workers (default: one per core; async: min(32, cores + 4))
  -c, --chunksize N      lines sent to a worker at once (default 1; try 256+ for tiny calls)
  -b, --buffersize N     lines read ahead at most (default: max(1024, 4 x workers x chunksize))
  -t, --timeout MS       a call that takes longer fails with a TimeoutError
      --fail-fast        stop at the first failure, cancel the rest, exit 1

output:
  -u, --unordered        write results as they complete, as {"line":N,"result":R}
      --progress         progress lines on stderr even when it is not a terminal
      --no-progress      no progress bar on a terminal
      --dashboard[=PORT] serve a live page of the run on 127.0.0.1 (default: a free
                         port); its address is printed on stderr
  -h, --help             this help

MODULE is a path (./tasks.mjs, tasks.ts through tsx), a file: URL or a package
name; EXPORT is an export name (default: the default export), a dotted path
(tasks.fib), or a task of an exported defineTasks() object (fib).
A result is written as JSON.stringify writes it (undefined as null), a BigInt
as a JSON number with all its digits; NaN, Infinity, a Map or a Set, anywhere
in a result, have no JSON form: that line fails, saying what to return instead.
A failing call writes "line N: Error: message" on stderr (no stdout line) and
the run goes on. Exit status: 0 all done, 1 some line failed, 2 usage error,
130 interrupted (Ctrl-C; a second one exits at once).

examples:
  seq 100 | concurrent-futures map ./square.mjs#square
  concurrent-futures map -j 4 -c 256 --input urls.txt ./fetch.mjs#status -u > status.jsonl
  echo '[2, 10]' | concurrent-futures map --format json ./math.mjs#pow
  concurrent-futures map -e async -j 50 -t 5000 ./api.ts#lookup < ids.txt | head -5`;

export type ExecutorKind = 'thread' | 'process' | 'async';

export interface MapConfig {
  target: string;
  input: string | undefined;
  json: boolean;
  executor: ExecutorKind;
  workers: number | undefined;
  chunksize: number;
  buffersize: number | undefined;
  timeout: number | undefined;
  unordered: boolean;
  failFast: boolean;
  /** `true` forces lines where there is no terminal, `false` hides the bar, `undefined` is the default. */
  progress: boolean | undefined;
  /** `--dashboard[=PORT]`: the port (0: a free one), or `undefined` for none. */
  dashboard: number | undefined;
}

/** The parsed arguments, or `'help'`. Throws a `UsageError` for anything wrong. */
export function parseMapArgs(argv: string[]): MapConfig | 'help' {
  let parsed;
  let dashboard: number | undefined;
  try {
    ({ rest: argv, port: dashboard } = takeDashboardFlag(argv));
  } catch (error) {
    throw new UsageError(`${(error as Error).message} (see concurrent-futures map --help)`);
  }
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        input: { type: 'string', short: 'i' },
        format: { type: 'string', short: 'f', default: 'lines' },
        executor: { type: 'string', short: 'e', default: 'thread' },
        workers: { type: 'string', short: 'j' },
        chunksize: { type: 'string', short: 'c' },
        buffersize: { type: 'string', short: 'b' },
        timeout: { type: 'string', short: 't' },
        unordered: { type: 'boolean', short: 'u' },
        'fail-fast': { type: 'boolean' },
        progress: { type: 'boolean' },
        'no-progress': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    // parseArgs explains well, over several sentences: the first says what is wrong.
    throw new UsageError(`${(error as Error).message.split('\n')[0]!.replace(/\. To specify .*$/, '')} (see concurrent-futures map --help)`);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length === 0) throw new UsageError('map needs the function to run: MODULE#EXPORT');
  if (positionals.length > 1) throw new UsageError(`map takes one MODULE#EXPORT, got ${positionals.length}: ${positionals.join(' ')} (inputs come from stdin or --input)`);
  const format = values.format!;
  if (format !== 'lines' && format !== 'json') throw new UsageError(`--format must be lines or json, got '${format}'`);
  const executor = values.executor!;
  if (executor !== 'thread' && executor !== 'process' && executor !== 'async') {
    throw new UsageError(`--executor must be thread, process or async, got '${executor}'`);
  }
  if (values.progress && values['no-progress']) throw new UsageError('--progress and --no-progress contradict each other');
  return {
    target: positionals[0]!,
    input: values.input,
    json: format === 'json',
    executor,
    workers: count(values.workers, '--workers'),
    chunksize: count(values.chunksize, '--chunksize') ?? 1,
    buffersize: count(values.buffersize, '--buffersize'),
    timeout: count(values.timeout, '--timeout'),
    unordered: values.unordered ?? false,
    failFast: values['fail-fast'] ?? false,
    progress: values.progress ? true : values['no-progress'] ? false : undefined,
    dashboard,
  };
}

function count(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(`${flag} must be a positive integer, got '${text}'`);
  }
  return value;
}
