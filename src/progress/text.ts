// What a progress line says, shared by the drawn bar and the plain lines.

/** The counts behind one progress line. @internal */
export interface ProgressCounts {
  done: number;
  failed: number;
  total: number | undefined;
  /** Milliseconds since the display opened. */
  elapsed: number;
  /** Running tasks that reported their own progress, and the mean of it (0-1). */
  partial?: { tasks: number; fraction: number };
}

/**
 * A task's own progress as a fraction: a number from 0 to 1, or `{ done, total }`
 * with numbers; `undefined` for anything else, which is not shown. @internal
 */
export function fractionOf(value: unknown): number | undefined {
  if (typeof value === 'number') return value >= 0 && value <= 1 ? value : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  const { done, total } = value as { done?: unknown; total?: unknown };
  if (typeof done !== 'number' || typeof total !== 'number' || !(total > 0) || !(done >= 0)) return undefined;
  return Math.min(done / total, 1);
}

/** `1:05`, `1:02:03`: how tqdm shows a duration. @internal */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const seconds = Math.round(ms / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = String(seconds % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** Items per second, short: `12.3/s`, `4.5k/s`. @internal */
export function formatRate(done: number, elapsed: number): string {
  if (elapsed <= 0 || done === 0) return '?/s';
  const rate = (done * 1000) / elapsed;
  if (rate >= 1e6) return `${(rate / 1e6).toFixed(1)}M/s`;
  if (rate >= 1e4) return `${(rate / 1e3).toFixed(1)}k/s`;
  return `${rate >= 100 ? Math.round(rate) : rate.toFixed(1)}/s`;
}

/** The time left at the rate so far, or `?` while there is no rate yet. @internal */
export function formatEta({ done, total, elapsed }: ProgressCounts): string {
  if (total === undefined || done === 0) return '?';
  return formatDuration(((total - done) * elapsed) / done);
}

/** Everything but the bar: `450/1000 45% | 120/s | ETA 0:04 | 2 failed`. @internal */
export function describeCounts(counts: ProgressCounts): string {
  const { done, failed, total, elapsed } = counts;
  const parts: string[] = [];
  if (total !== undefined) {
    const percent = total === 0 ? 100 : Math.floor((Math.min(done, total) * 100) / total);
    parts.push(`${done}/${total} ${percent}%`, formatRate(done, elapsed), `ETA ${formatEta(counts)}`);
  } else {
    parts.push(`${done} done`, formatRate(done, elapsed), `${formatDuration(elapsed)} elapsed`);
  }
  const partial = counts.partial;
  if (partial !== undefined && partial.tasks > 0) {
    const percent = `${Math.floor(partial.fraction * 100)}%`;
    parts.push(partial.tasks === 1 ? `running: ${percent}` : `running: ${partial.tasks} at ${percent}`);
  }
  if (failed > 0) parts.push(`${failed} failed`);
  return parts.join(' | ');
}
