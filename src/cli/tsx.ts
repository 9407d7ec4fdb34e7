/**
 * TypeScript modules for `map`, through tsx where it is installed. Node runs
 * `.ts` only through a loader, and the worker threads of Node 20 do not inherit
 * one registered at run time: so this thread imports the module through tsx,
 * and each worker does again (see `batchTasks.load`).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { isTypeScriptPath, tsxApiFrom, underTsx } from '../tsx.js';

export function isTypeScript(url: string): boolean {
  return url.startsWith('file:') && isTypeScriptPath(new URL(url).pathname);
}

/** Whether this runtime imports `.ts` itself (Bun, Deno): tsx's loader would only get in its way there. */
export function runsTypeScript(): boolean {
  return process.versions.bun !== undefined || process.versions.deno !== undefined;
}

/**
 * The URL of tsx's ES module API (`tsImport()`), looked for next to the
 * module, in the working directory, then beside this package; `null` where tsx
 * is not installed.
 */
export async function findTsxApi(moduleUrl: string): Promise<string | null> {
  for (const from of [join(dirname(fileURLToPath(moduleUrl)), 'noop.js'), join(process.cwd(), 'noop.js'), fileURLToPath(import.meta.url)]) {
    const api = await tsxApiFrom(from);
    if (api !== null) return api;
  }
  return null;
}

const loaded = new Map<string, Promise<Record<string, unknown>>>();

/**
 * Imports a TypeScript module in this thread through tsx, once per URL. The
 * main thread of a process started under tsx has its loaders: a plain import.
 * Elsewhere tsx's `tsImport`, not its `register()` and `import()`: outside a
 * `"type": "module"` package tsx compiles a `.ts` file as CommonJS, which that
 * loader alone hands back to Node's `require()` of an ES module ("in a
 * cycle"); `tsImport` loads it, with its exports by name, in either kind of package.
 */
export function importTypeScript(apiUrl: string, url: string): Promise<Record<string, unknown>> {
  if (isMainThread && underTsx()) return import(url);
  let namespace = loaded.get(url);
  if (namespace === undefined) {
    namespace = (async () => {
      const api = (await import(apiUrl)) as { tsImport(specifier: string, parentURL: string): Promise<Record<string, unknown>> };
      return esModuleView(await api.tsImport(url, import.meta.url));
    })();
    loaded.set(url, namespace);
  }
  return namespace;
}

/** A module compiled as CommonJS comes back as Node's view of one: its `default` is the exports object. */
function esModuleView(namespace: Record<string, unknown>): Record<string, unknown> {
  const exports = namespace.default as { __esModule?: unknown; default?: unknown } | null | undefined;
  if (exports === null || typeof exports !== 'object' || exports.__esModule !== true) return namespace;
  const { default: _exportsObject, ...named } = namespace;
  return 'default' in exports ? { ...named, default: exports.default } : named;
}
