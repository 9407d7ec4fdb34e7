#!/usr/bin/env node
/** The `concurrent-futures` command: each subcommand lives in its own module under cli/. */
import { usage, version } from './cli/help.js';
import { UsageError } from './cli/usage-error.js';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'map':
      return (await import('./cli/map.js')).mapCommand(rest);
    case 'demo':
      return (await import('./cli/demo.js')).demoCommand();
    case 'worker':
      return (await import('./cli/worker.js')).workerCommand(rest);
    case '--version':
    case '-v':
      process.stdout.write(`${version()}\n`);
      return 0;
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(`${usage}\n`);
      return 0;
    case undefined:
      process.stderr.write(`${usage}\n`);
      return 2;
    default:
      throw new UsageError(`unknown command '${command}' (commands: map, demo, worker; see --help)`);
  }
}

/** Exits once what was written has reached stdout and stderr: a worker or an open input must not hold the exit. */
function exit(code: number): void {
  let left = 2;
  const done = (): void => void (--left === 0 && process.exit(code));
  process.exitCode = code;
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.destroyed || stream.writableEnded) done();
    else stream.write('', done);
  }
}

// A closed stderr (2>&-, or a reader gone) must not turn into a crash of its own.
process.stderr.on('error', () => {});
try {
  exit(await main(process.argv.slice(2)));
} catch (error) {
  if (error instanceof UsageError) {
    process.stderr.write(`concurrent-futures: ${error.message}\n`);
    exit(2);
  } else {
    process.stderr.write(`concurrent-futures: unexpected error: ${(error as Error)?.stack ?? error}\n`);
    exit(1);
  }
}
