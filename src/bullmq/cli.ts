/**
 * `concurrent-futures worker --redis URL --queue NAME [--concurrency N] MODULE...`:
 * a worker from the command line, stopped gracefully by SIGTERM or SIGINT.
 */
import { parseArgs } from 'node:util';
import { cannotServe, takeDashboardFlag } from '../dashboard/flag.js';
import { runWorker, type WorkerHandle } from './worker.js';

const USAGE = `usage: concurrent-futures worker --redis URL --queue NAME [--concurrency N] [--lock-duration MS] [--stalled-interval MS] [--prefix PREFIX] [--no-quick-inline] [--dashboard[=PORT]] MODULE...

  --dashboard[=PORT]  serve a live page of this worker's jobs on 127.0.0.1 (default: a free port), a row
                      per slot of --concurrency; its address is printed on stderr.`;

/** Redis URLs may hold a password: what is printed shows the host only. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.href;
  } catch {
    return '(an unparsable URL)';
  }
}

/** Runs the `worker` command; resolves with the exit code once it has stopped. */
export async function workerCommand(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  let dashboardPort: number | undefined;
  try {
    ({ rest: argv, port: dashboardPort } = takeDashboardFlag(argv));
  } catch (error) {
    return usage((error as Error).message);
  }
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        redis: { type: 'string' },
        queue: { type: 'string' },
        concurrency: { type: 'string' },
        'lock-duration': { type: 'string' },
        'stalled-interval': { type: 'string' },
        prefix: { type: 'string' },
        'no-quick-inline': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    // parseArgs' messages quote the bad option, never a value: safe to print.
    return usage((error as Error).message);
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const url = values.redis as string | undefined;
  if (url === undefined) return usage('--redis URL is required');
  if (!/^rediss?:\/\/[^/]/i.test(url)) return usage(`--redis must be a redis:// or rediss:// URL, got ${redactUrl(url)}`);
  const queueName = values.queue as string | undefined;
  if (queueName === undefined || queueName === '') return usage('--queue NAME is required');
  if (queueName.includes(':')) return usage(`--queue must not contain ':', got '${queueName}'`);
  if (positionals.length === 0) return usage('give at least one task MODULE (.js, or .ts under tsx)');
  const numbers: Record<string, number | undefined> = {};
  for (const name of ['concurrency', 'lock-duration', 'stalled-interval']) {
    const text = values[name] as string | undefined;
    if (text === undefined) continue;
    const n = Number(text);
    if (!/^\d+$/.test(text) || !(n > 0)) return usage(`--${name} must be a positive integer, got '${text}'`);
    numbers[name] = n;
  }

  let handle: WorkerHandle;
  try {
    handle = await runWorker({
      connection: url,
      queueName,
      modules: positionals,
      concurrency: numbers['concurrency'],
      lockDuration: numbers['lock-duration'],
      stalledInterval: numbers['stalled-interval'],
      prefix: values.prefix as string | undefined,
      quickTasksInline: values['no-quick-inline'] !== true,
    });
  } catch (error) {
    console.error(`concurrent-futures worker: ${(error as Error)?.message ?? error}`);
    return 1;
  }
  let dashboard: { close(): Promise<void> } | null = null;
  if (dashboardPort !== undefined) {
    try {
      dashboard = await openDashboard(handle, dashboardPort, queueName);
    } catch (error) {
      console.error(`concurrent-futures worker: ${cannotServe(dashboardPort, error)}`);
      await handle.close();
      return 1;
    }
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        // A second signal: leave now; the jobs still running are given to other workers once their locks lapse.
        console.error(`concurrent-futures worker: ${signal} again, leaving the running jobs to other workers`);
        process.exit(130);
      }
      stopping = true;
      console.log(`concurrent-futures worker: ${signal}, finishing the running jobs`);
      Promise.all([handle.close(), dashboard?.close()]).then(
        // The handlers stay until the exit: a signal in between would otherwise end the process by signal, not 130.
        () => resolve(0),
        (error) => {
          console.error(`concurrent-futures worker: ${(error as Error)?.message ?? error}`);
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    // Only now: whoever waits for this line may signal at once, and before `process.on` a signal kills outright.
    console.log(`concurrent-futures worker: queue '${queueName}' on ${redactUrl(url)}, tasks ${handle.tasks.join(', ')}`);
  });
}

/** The worker's live page: its jobs, wherever they run, by task name and slot; the URL on stderr. */
async function openDashboard(handle: WorkerHandle, port: number, queueName: string): Promise<{ close(): Promise<void> }> {
  const { serveDashboard } = await import('../dashboard/serve.js');
  const dashboard = await serveDashboard({ [`queue ${queueName}`]: handle._jobs! }, { port });
  console.error(`concurrent-futures worker: dashboard at ${dashboard.url}`);
  return dashboard;
}

/** A usage error is one line, as for every command: the usage is one `--help` away. */
function usage(problem: string): number {
  console.error(`concurrent-futures: worker: ${problem} (see concurrent-futures worker --help)`);
  return 2;
}
