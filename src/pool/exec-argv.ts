/**
 * The parent's Node flags for a worker or child, less those that only mean
 * something for the main script (`-e`, `--print`, `--input-type`) and those
 * in `refused`. @internal
 */
export function inheritedExecArgv(refused: ReadonlySet<string> | null = null): string[] {
  const args = process.execArgv;
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-e' || arg === '--eval' || arg === '-p' || arg === '--print') i++;
    else if (arg.startsWith('--input-type') || arg.startsWith('--eval=') || arg.startsWith('--print=')) continue;
    else if (refused?.has(arg.split('=')[0]!) || refused?.has(arg)) continue;
    else out.push(arg);
  }
  return out;
}
