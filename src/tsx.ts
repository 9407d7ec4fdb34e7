/**
 * tsx, for TypeScript task modules: whether this process runs under it, and
 * where its API is. Node runs `.ts` only through such a loader, and the worker
 * threads of Node 20 do not inherit one (`--import` preloads do not run there).
 * @internal
 */
import { pathToFileURL } from 'node:url';

/** An argument that names tsx: `tsx`, `tsx/esm`, `.../node_modules/tsx/...`, `tsx@4`. */
const NAMES_TSX = /(^|[/\\])tsx([/\\@]|$)/;

/** Whether a module path is TypeScript (`.ts`, `.mts`, `.cts`, `.tsx`). */
export function isTypeScriptPath(pathname: string): boolean {
  return /\.[cm]?tsx?$/.test(pathname);
}

/** Whether this process was started under tsx (`tsx cli.js`, `node --import tsx`). */
export function underTsx(): boolean {
  return process.execArgv.some((arg) => NAMES_TSX.test(arg));
}

/** The tsx module this process preloads (`--import tsx`, `--loader tsx/esm`, ...), as given; undefined when there is none. */
export function preloadedTsx(): string | undefined {
  const args = process.execArgv;
  return args.find((arg, i) => NAMES_TSX.test(arg) && i > 0 && /^--(import|loader|experimental-loader|require)$/.test(args[i - 1]!));
}

/** The URL of tsx's ES module API as installed for the file `from`; null where it is not. */
export async function tsxApiFrom(from: string): Promise<string | null> {
  // Imported where it is used, not at the top: a bundler that saw createRequire(...).resolve('tsx/...')
  // would bundle tsx into the program.
  const { createRequire } = await import('node:module');
  try {
    // `require.resolve` finds tsx's CommonJS build; its ES module build sits beside it.
    return pathToFileURL(createRequire(from).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  } catch {
    return null; // not installed there
  }
}
