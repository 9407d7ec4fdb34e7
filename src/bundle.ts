/**
 * A program bundled with this package inside (esbuild, rollup, webpack) has no
 * worker entry files to start: its workers start from the bundle itself. Such
 * a worker loads the bundle only as far as the program's loading went before
 * it submitted work: every `defineTasks()` call made while the bundle loaded,
 * never the program's own statements after them. This module knows whether
 * the package is bundled, where the bundle is, and where a worker stops loading.
 * @internal
 */
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageUrl } from './package-url.js';

/** Where the README explains what a bundled program needs. */
export const BUNDLING_DOC = 'see "Bundling" in the README of concurrent-futures';

const STOP = Symbol.for('concurrent-futures.stop-loading');

/** Whether an error is the one that stops a worker's loading of a bundle (the worker ignores it). */
export function isLoadStop(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[STOP] === true;
}

let file: URL | null | undefined;

/** webpack's runtime: `typeof` it is `'function'` in webpack's output, `'undefined'` anywhere else. */
declare const __webpack_require__: unknown;

/** The bundle this package was bundled into, or null when it runs from its own files. */
export function bundleFile(): URL | null {
  if (file !== undefined) return file;
  const own: string | undefined = import.meta.url;
  // Two modules with one URL (or none, in CommonJS output) share a file. webpack writes each
  // module's source URL in instead, and gives itself away by its runtime.
  const webpack = typeof __webpack_require__ !== 'undefined';
  if (own !== packageUrl && !webpack) return (file = null);
  if (own !== undefined && own.startsWith('file:') && !webpack) return (file = new URL(own));
  // The stack names the file that runs (and under Node, never a source map's original).
  const running = runningFile();
  if (running !== undefined && existsSync(running.url)) return (file = running.url);
  // Code that runs from no file of its own (webpack's `eval` devtool): the program's entry is the bundle.
  const entry = process.argv[1];
  return (file = entry === undefined ? null : pathToFileURL(entry));
}

/**
 * The file the code of this function runs from, as the stack names it (an ES module by its URL,
 * CommonJS by its path); undefined if it names none.
 */
function runningFile(): { url: URL; esm: boolean } | undefined {
  const prepare = Error.prepareStackTrace;
  const limit = Error.stackTraceLimit;
  try {
    // Raw call sites: a source-map aware formatter would name the original sources instead.
    Error.prepareStackTrace = (_error, sites) => sites;
    Error.stackTraceLimit = 1;
    const sites = new Error().stack as unknown as NodeJS.CallSite[] | undefined;
    const name = Array.isArray(sites) ? sites[0]?.getFileName?.() : undefined;
    if (typeof name !== 'string') return undefined;
    if (name.startsWith('file:')) return { url: new URL(name), esm: true };
    return isAbsolute(name) ? { url: pathToFileURL(name), esm: false } : undefined;
  } catch {
    return undefined;
  } finally {
    Error.prepareStackTrace = prepare;
    Error.stackTraceLimit = limit;
  }
}

let defined = 0;
/** How many `defineTasks()` calls a worker loads the bundle up to: fixed once loading has ended. */
let loaded: number | null = null;
/** Loading ended at a submit: the program runs, and nothing defined later is loading. */
let submitted = false;
/** In a worker loading the bundle: the call count at which it stops, and what then serves the pool. */
let stopAt: { calls: number; serve: () => void } | null = null;
/** The `defineTasks()` call inside which this worker stopped loading the bundle, if it did. */
let stoppedIn: number | null = null;

/** The number of the `defineTasks()` call inside which this worker stopped loading its bundle, or null. */
export function stoppedInCall(): number | null {
  return stoppedIn;
}

// Loading ends with the bundle's synchronous evaluation (what comes later, on an event or after the
// program's own await, may be the program's code), unless module code resumes from a top-level await.
queueMicrotask(() => {
  loaded ??= defined;
});

/** The number of the next `defineTasks()` call in this thread (from 1). */
export function nextDefineCall(): number {
  return defined + 1;
}

/**
 * `define` has registered its functions. Called from the top level of module code resuming from an
 * await (a flattened bundle's modules after one with a top-level await), the call is still loading.
 * In a worker loading the bundle, this may be where loading stops (it throws).
 */
export function noteDefined(define: Function): void {
  defined++;
  if (loaded === defined - 1 && !submitted && calledFromResumedModule(define)) loaded = defined;
  if (stopAt !== null && defined >= stopAt.calls) {
    stoppedIn = defined;
    stopLoading(true);
  }
}

/** Whether `fn` was called by module code with nothing below it: a module's evaluation resumed from an await. */
function calledFromResumedModule(fn: Function): boolean {
  const prepare = Error.prepareStackTrace;
  const limit = Error.stackTraceLimit;
  try {
    Error.prepareStackTrace = (_error, sites) => sites;
    Error.stackTraceLimit = 2;
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder, fn);
    const sites = holder.stack as NodeJS.CallSite[] | undefined;
    return Array.isArray(sites) && sites.length === 1 && sites[0]!.getFunctionName() === null && sites[0]!.getTypeName?.() == null;
  } catch {
    return false;
  } finally {
    Error.prepareStackTrace = prepare;
    Error.stackTraceLimit = limit;
  }
}

/** Work is being submitted to a worker pool: the program is running, so loading has ended. */
export function noteSubmit(): void {
  loaded ??= defined;
  submitted = true;
  // In a worker this is the program's own code, which the worker must not run.
  if (stopAt !== null) stopLoading(true);
}

/** How many `defineTasks()` calls a worker started now loads (the calls made while the bundle loaded). */
export function loadedCalls(): number {
  return loaded ?? defined;
}

/**
 * Makes this thread a worker that loads the bundle up to its `calls`-th `defineTasks()` call:
 * there it calls `serve` and stops the bundle's evaluation with an error the worker ignores.
 */
export function loadUpTo(calls: number, serve: () => void): void {
  stopAt = { calls, serve };
  process.on('uncaughtException', ignoreStop);
  if (defined >= calls) stopLoading(true);
  if (stopAt === null) return;
  // A bundle that defines fewer tasks in a worker than in its program serves once it has loaded
  // (such a task then fails, saying so). A CommonJS bundle has loaded when its synchronous run
  // ends; an ES module one, when importing it (the same module: nothing runs twice) settles.
  const loadedAll = (): void => {
    if (stopAt !== null) stopLoading(false);
  };
  const running = runningFile();
  if (running?.esm === true) import(/* webpackIgnore: true */ running.url.href).then(loadedAll, loadedAll);
  else setImmediate(loadedAll);
}

function stopLoading(evaluating: boolean): void {
  const serve = stopAt!.serve;
  stopAt = null;
  serve();
  if (!evaluating) return;
  const stop = new Error('concurrent-futures: a worker started from the bundle loads its task modules, never the program itself: it stops here');
  Object.defineProperty(stop, STOP, { value: true });
  throw stop;
}

function ignoreStop(error: unknown): void {
  if (isLoadStop(error) || process.listenerCount('uncaughtException') > 1) return;
  // Alone, this listener would hide any other error: that one ends the worker, as it would have.
  process.off('uncaughtException', ignoreStop);
  throw error;
}
