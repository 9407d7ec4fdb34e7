/**
 * The workers of a bundled program: a pool starts the bundle itself, marked as
 * a worker, and the bundle, loading, becomes one (bundle.ts says how far it loads).
 * Installed as files, a pool starts its entry file beside its module instead.
 * @internal
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isMainThread, workerData } from 'node:worker_threads';
import { BUNDLING_DOC, bundleFile, loadUpTo, loadedCalls } from '../bundle.js';
import { packageUrl } from '../package-url.js';
import type { WorkerConfig } from './protocol.js';

/** The `workerData` key of a thread started from the bundle: how many `defineTasks()` calls it loads. */
const THREAD_KEY = 'concurrent-futures:loads';
/** The same for a child process, in its environment (and taken out of it at once). */
const CHILD_ENV = 'CONCURRENT_FUTURES_BUNDLE_LOADS';

/** How a pool starts a worker: the file, and for a bundle what marks it as a worker. */
export interface WorkerStart {
  file: URL;
  /** Set when `file` is the bundle: the `defineTasks()` calls the worker loads. */
  loads?: number;
}

/**
 * Where a pool's worker starts: `entry` (a path from the package's root folder) when the package
 * runs from its files; the bundle otherwise. Throws an `Error` naming a missing entry file.
 */
export function workerStart(entry: string): WorkerStart {
  const bundle = bundleFile();
  if (bundle !== null) return { file: bundle, loads: loadedCalls() };
  // A path in a variable: a bundler would copy the file of a literal new URL('...', import.meta.url).
  const file = new URL(entry, packageUrl);
  if (!entryExists(file)) {
    throw new Error(
      `the worker entry file ${fileURLToPath(file)} is missing: the program runs the package from files that are not all there ` +
        `(a bundle this package did not recognize as one, or a partial copy); ${BUNDLING_DOC}`,
    );
  }
  return { file };
}

const checked = new Set<string>();

function entryExists(file: URL): boolean {
  if (checked.has(file.href)) return true;
  // Run from its TypeScript sources (tsx), the entry is a .ts file that a .js import names.
  const found = existsSync(file) || existsSync(new URL(file.href.replace(/\.js$/, '.ts')));
  if (found) checked.add(file.href);
  return found;
}

/** `workerData` for a thread: the config, marked when the thread is the bundle. */
export function threadData(config: WorkerConfig, start: WorkerStart): WorkerConfig & { [THREAD_KEY]?: number } {
  return start.loads === undefined ? config : { ...config, [THREAD_KEY]: start.loads };
}

/** The environment of a child: marked when the child is the bundle. */
export function childEnv(env: NodeJS.ProcessEnv | undefined, start: WorkerStart): NodeJS.ProcessEnv | undefined {
  return start.loads === undefined ? env : { ...(env ?? process.env), [CHILD_ENV]: String(start.loads) };
}

/** The child's bundle mark; none where the environment may not be read (Deno without `--allow-env`: no process pool either). */
function childMark(): string | undefined {
  try {
    return process.env[CHILD_ENV];
  } catch {
    return undefined;
  }
}

/**
 * Where this thread is the bundle, started by a thread pool as its worker: `serve` the pool once the
 * task modules have loaded. Called by the thread pool's module as it loads, so it runs in every bundle
 * that has thread pools.
 */
export function serveIfBundleThread(serve: (config: WorkerConfig) => void): void {
  const loads = isMainThread ? undefined : (workerData as Record<string, unknown> | null)?.[THREAD_KEY];
  if (loads !== undefined && isBundle() && typeof loads === 'number') loadUpTo(loads, () => serve(workerData as WorkerConfig));
}

/** The same for the bundle started by a process pool as its child. */
export function serveIfBundleChild(serve: () => void): void {
  const loads = isMainThread && typeof process.send === 'function' ? childMark() : undefined;
  if (loads === undefined) return;
  // Not for the child's own children: each is told for itself.
  delete process.env[CHILD_ENV];
  if (isBundle()) loadUpTo(Number(loads), serve);
}

/** A worker started as the bundle must be one: a program that is none would start its pool again, and so on. */
function isBundle(): boolean {
  if (bundleFile() !== null) return true;
  console.error(`concurrent-futures: this worker was started as a bundle, but the program runs the package from its files: not running it; ${BUNDLING_DOC}`);
  process.exit(1);
}
