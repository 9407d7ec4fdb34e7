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
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
      throw new UsageError('the BullMQ worker is not available: it needs the optional peer dependencies bullmq and ioredis (npm install bullmq ioredis)');
    }
    // Installed, but refused as it loaded: Deno without --allow-env says so here, naming the flag.
    throw new UsageError(`the BullMQ worker could not be loaded: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
  return cli.workerCommand(argv);
}
