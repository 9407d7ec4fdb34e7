/**
 * The drawn bar, through cli-progress: an optional dependency that only the
 * progress display loads, so that the executors never pull it in.
 */
import type { Writable } from 'node:stream';

/** The part of cli-progress the display uses. */
interface CliProgress {
  MultiBar: new (options: Record<string, unknown>) => MultiBar;
  Format: { BarFormat(progress: number, options: Record<string, unknown>): string };
}
interface MultiBar {
  create(total: number, start: number): { update(value: number): void; setTotal(total: number): void };
  update(): void;
  stop(): void;
  log(text: string): void;
  on(event: string, listener: () => void): void;
  timer: NodeJS.Timeout | null;
}

/** A one-line bar redrawn in place on a terminal. @internal */
export interface Bar {
  update(done: number, total: number | undefined): void;
  /** Prints a whole line above the bar. */
  log(line: string): void;
  /** Draws the last state, leaves it on screen and moves below it. */
  stop(): void;
}

let loading: Promise<CliProgress | null> | undefined;

/** cli-progress, or `null` where it is not installed. @internal */
export function loadCliProgress(): Promise<CliProgress | null> {
  loading ??= import('cli-progress').then(
    (module: any) => (module.default ?? module) as CliProgress,
    () => null,
  );
  return loading;
}

/** A bar on `stream` whose text `describe()` gives at each redraw (about 10 a second). @internal */
export function createBar(lib: CliProgress, stream: Writable, describe: () => { label: string; text: string; known: boolean }): Bar {
  const multi = new lib.MultiBar({
    stream,
    fps: 10,
    barsize: 24,
    hideCursor: false,
    // No terminal modes to restore should the process die mid-bar: the line is cut to the width instead.
    linewrap: true,
    barCompleteChar: '#',
    barIncompleteChar: '-',
    format: (options: Record<string, unknown>, params: { progress: number; maxWidth: number }) => {
      const { label, text, known } = describe();
      const bar = known ? `|${lib.Format.BarFormat(params.progress, options)}| ` : '';
      // A line that wrapped could not be redrawn in place.
      return `${label}${bar}${text}`.slice(0, Math.max(params.maxWidth - 1, 10));
    },
  });
  // A bar nobody stops must not keep the process alive.
  const unref = (): void => void multi.timer?.unref?.();
  multi.on('update-post', unref);
  const bar = multi.create(1, 0);
  unref();
  let drawn = false;
  let stopped = false;
  return {
    update(done, total) {
      if (total !== undefined) bar.setTotal(Math.max(total, 1));
      bar.update(total === 0 ? 1 : done);
      if (!drawn) {
        // The first state at once, not a tick later.
        drawn = true;
        multi.update();
      }
    },
    log(line) {
      multi.log(line.endsWith('\n') ? line : `${line}\n`);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      // stop() draws the bar but not the lines logged since the last redraw.
      multi.update();
      multi.stop();
    },
  };
}
