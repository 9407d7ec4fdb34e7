/**
 * TypeScript modules for `map`, through tsx where it is installed. Node runs
 * `.ts` only through a loader, and the worker threads of Node 20 do not inherit
 * one registered at run time: so the loader is registered here, and each worker
 * registers it again before it imports the module (see `batchTasks.load`).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export function isTypeScript(url: string): boolean {
  return url.startsWith('file:') && /\.[cm]?tsx?$/.test(new URL(url).pathname);
}

/** Whether this runtime imports `.ts` itself (Bun, Deno): tsx's loader would only get in its way there. */
export function runsTypeScript(): boolean {
  return process.versions.bun !== undefined || process.versions.deno !== undefined;
}

/** Whether this process was started under tsx (`tsx cli.js`, `node --import tsx`), whose workers then register it themselves. */
export function underTsx(): boolean {
  return process.execArgv.some((arg) => /(^|[/\\])tsx([/\\@]|$)/.test(arg));
}

/**
 * The URL of tsx's ES module API (`register()`), looked for next to the
 * module, in the working directory, then beside this package; `null` where tsx
 * is not installed.
 */
export function findTsxApi(moduleUrl: string): string | null {
  const places = [join(dirname(fileURLToPath(moduleUrl)), 'noop.js'), join(process.cwd(), 'noop.js'), fileURLToPath(import.meta.url)];
  for (const from of places) {
    try {
      // `require.resolve` finds the CommonJS build; the ES module build sits beside it.
      return pathToFileURL(createRequire(from).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
    } catch {
      // not installed there
    }
  }
  return null;
}

const registered = new Set<string>();

/** Registers tsx's loader in this thread, once. */
export async function registerTsx(apiUrl: string): Promise<void> {
  if (registered.has(apiUrl)) return;
  registered.add(apiUrl);
  const api = (await import(apiUrl)) as { register(): unknown };
  api.register();
}
