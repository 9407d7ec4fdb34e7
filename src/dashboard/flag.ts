/**
 * The command line's `--dashboard[=PORT]`, taken out of the arguments before
 * `parseArgs` sees them: it takes no value of its own after a space, so that
 * `--dashboard ./tasks.mjs` keeps the module as the module.
 * @internal
 */

/** What the command line says when the dashboard cannot be served on `port` (0: a free one). */
export function cannotServe(port: number, error: unknown): string {
  return `cannot serve the dashboard on ${port === 0 ? 'a free port' : `port ${port}`}: ${(error as Error)?.message ?? error}`;
}

/** The arguments without the flag, and its port (0: a free one), or `undefined` when it is absent; throws an `Error` saying what is wrong. */
export function takeDashboardFlag(argv: readonly string[]): { rest: string[]; port: number | undefined } {
  const rest: string[] = [];
  let port: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (arg !== '--dashboard' && !arg.startsWith('--dashboard=')) {
      rest.push(arg);
      continue;
    }
    // A port after a space would be read as an argument of the command: said here, with the spelling that works.
    if (arg === '--dashboard' && /^\d+$/.test(argv[i + 1] ?? '')) throw new Error(`--dashboard takes its port after '=': --dashboard=${argv[i + 1]}`);
    const text = arg === '--dashboard' ? '0' : arg.slice('--dashboard='.length);
    const value = Number(text);
    if (!/^\d+$/.test(text) || value > 65535) throw new Error(`--dashboard=PORT must be a port number from 0 to 65535, got '${text}'`);
    port = value;
  }
  return { rest, port };
}
