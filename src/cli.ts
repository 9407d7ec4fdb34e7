#!/usr/bin/env node
/** The `concurrent-futures` command: `demo` runs the seed notebook's six patterns. */
import { AsyncPoolExecutor, ThreadPoolExecutor } from './index.js';
import { runDemo } from './demo.js';

const usage = `usage: concurrent-futures <command>

commands:
  demo    run the six thread-pool patterns of the seed notebook`;

async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  if (command === 'demo') {
    await runDemo([
      ['AsyncPoolExecutor', (n) => new AsyncPoolExecutor(n)],
      ['ThreadPoolExecutor', (n) => new ThreadPoolExecutor(n)],
    ]);
    return 0;
  }
  if (command === undefined || command === '--help' || command === '-h') {
    console.log(usage);
    return command === undefined ? 1 : 0;
  }
  console.error(`concurrent-futures: unknown command '${command}'\n\n${usage}`);
  return 2;
}

process.exitCode = await main(process.argv.slice(2));
