/**
 * `concurrent-futures worker`: a BullMQ worker, from the `bullmq` module of
 * this package, which needs the optional peer dependencies bullmq and ioredis.
 */
import { UsageError } from './usage-error.js';

interface BullMQCli {
  workerCommand(argv: string[]): Promise<number>;
}

export async function workerCommand(argv: string[]): Promise<number> {
  // A name the compiler does not follow: the module is optional.
  const specifier = '../bullmq/cli.js';
  let cli: BullMQCli;
  try {
    cli = (await import(specifier)) as BullMQCli;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ERR_MODULE_NOT_FOUND' ? '' : ` (${(error as Error).message.split('\n')[0]})`;
    throw new UsageError(
      `the BullMQ worker is not available: it needs the optional peer dependencies bullmq and ioredis (npm install bullmq ioredis)${why}`,
    );
  }
  return cli.workerCommand(argv);
}
