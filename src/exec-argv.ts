/**
 * This process's Node flags: which give the program's code itself (then it has
 * no entry module), and which a worker or child inherits.
 * @internal
 */

/** Whether a flag gives the program's code itself (`-e`, `--eval`, `-p`, `--print`, alone or with `=`). */
export function isScriptFlag(arg: string): boolean {
  return /^(-e|--eval|-p|--print)(=|$)/.test(arg);
}

/**
 * The parent's Node flags for a worker or child, less those that only mean
 * something for the main script (`-e`, `--print`, `--input-type`) and those
 * in `refused`.
 */
export function inheritedExecArgv(refused: ReadonlySet<string> | null = null): string[] {
  const args = process.execArgv;
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (isScriptFlag(arg)) {
      if (!arg.includes('=')) i++; // its code is the next argument
    } else if (arg.startsWith('--input-type')) continue;
    else if (refused?.has(arg.split('=')[0]!) || refused?.has(arg)) continue;
    else out.push(arg);
  }
  return out;
}
