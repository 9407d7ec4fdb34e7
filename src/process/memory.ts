/**
 * A child's resident memory, for the dashboard: Linux tells it in
 * /proc/PID/status; elsewhere it is not known (undefined).
 * @internal
 */
import { readFile } from 'node:fs/promises';

const LINUX = process.platform === 'linux';

/** The child's resident set size in bytes, or undefined. */
export function childMemory(pid: number): Promise<number | undefined> | undefined {
  if (!LINUX) return undefined;
  return readFile(`/proc/${pid}/status`, 'latin1').then((text) => {
    const kb = /^VmRSS:\s*(\d+)\s*kB/m.exec(text);
    return kb === null ? undefined : Number(kb[1]) * 1024;
  });
}
