/**
 * Finds the function `map MODULE#EXPORT` names, in this thread, so that a
 * missing module, a missing export or one that is no function is a usage
 * error before any work starts. Workers then load it by the same module URL
 * and export path.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { taskRef } from '../tasks.js';
import { lookupPath } from './batch-task.js';
import { underTsx } from '../tsx.js';
import { findTsxApi, importTypeScript, isTypeScript, runsTypeScript } from './tsx.js';
import { UsageError } from './usage-error.js';

type AnyFunction = (...args: any[]) => unknown;

/** The function to map, and how a worker finds it. */
export interface LoadedFunction {
  fn: AnyFunction;
  /** The module's URL. */
  module: string;
  /** The export name, then keys inside it (`tasks.fib`). */
  path: string[];
  /** tsx's API for workers to register, for a `.ts` module; `null` otherwise. */
  tsxApi: string | null;
}

/** Splits `MODULE#EXPORT`; without `#EXPORT`, the default export. */
export function parseTarget(spec: string): { module: string; exportName: string } {
  const hash = spec.lastIndexOf('#');
  const module = hash > 0 ? spec.slice(0, hash) : spec;
  const exportName = hash > 0 ? spec.slice(hash + 1) : 'default';
  if (module === '') throw new UsageError(`'${spec}' names no module: use MODULE#EXPORT, e.g. ./tasks.mjs#double`);
  if (exportName === '' || exportName.split('.').some((key) => key === '')) {
    throw new UsageError(`'${spec}' names no export after '#': use MODULE#EXPORT, e.g. ./tasks.mjs#double`);
  }
  return { module, exportName };
}

/** A module specifier as a URL: a path from the working directory, a `file:` URL, or a package name. */
export function resolveModule(module: string, cwd = process.cwd()): string {
  if (module.startsWith('file:')) return module;
  const looksLikePath = module.startsWith('.') || isAbsolute(module) || /\.[cm]?[jt]sx?$/.test(module);
  const path = resolve(cwd, module);
  if (looksLikePath || existsSync(path)) {
    if (!existsSync(path)) throw new UsageError(`cannot find module '${module}' (no file ${path})`);
    return pathToFileURL(path).href;
  }
  try {
    return pathToFileURL(createRequire(resolve(cwd, 'noop.js')).resolve(module)).href;
  } catch (error) {
    throw new UsageError(`cannot find module '${module}' from ${cwd} (${firstLine(error)})`);
  }
}

export async function loadFunction(spec: string): Promise<LoadedFunction> {
  const { module, exportName } = parseTarget(spec);
  const url = resolveModule(module);
  let tsxApi: string | null = null;
  // Bun and Deno run TypeScript themselves. Under tsx too, the workers' own loader would miss a
  // `.ts` file that tsx compiles as CommonJS.
  if (isTypeScript(url) && !runsTypeScript()) {
    tsxApi = await findTsxApi(url);
    if (tsxApi === null && !underTsx()) {
      throw new UsageError(`${module} is TypeScript, which needs tsx: install it (npm install --save-dev tsx) or compile the module to JavaScript`);
    }
  }
  let namespace: Record<string, unknown>;
  try {
    namespace = tsxApi === null ? await import(url) : await importTypeScript(tsxApi, url);
  } catch (error) {
    throw new UsageError(`cannot load module '${module}': ${firstLine(error)}`);
  }
  const path = exportName.split('.');
  let value = lookupPath(namespace, path);
  let found = path;
  if (value === undefined && path.length === 1) {
    // `tasks.mjs#fib` for the task `fib` of an exported defineTasks object.
    const owners = Object.keys(namespace).filter((key) => taskRef(lookupPath(namespace, [key, exportName])) !== undefined);
    if (owners.length > 1) throw new UsageError(`'${exportName}' is a task of several exports of '${module}' (${owners.join(', ')}): name one, e.g. ${module}#${owners[0]}.${exportName}`);
    if (owners.length === 1) {
      found = [owners[0]!, exportName];
      value = lookupPath(namespace, found);
    }
  }
  if (value === undefined) {
    const names = Object.keys(namespace);
    throw new UsageError(`module '${module}' has no export '${exportName}'${names.length > 0 ? ` (it exports: ${names.join(', ')})` : ''}`);
  }
  if (typeof value !== 'function') throw new UsageError(`'${exportName}' in '${module}' is not a function (it is ${describeValue(value)})`);
  if (/^class\b/.test(Function.prototype.toString.call(value))) throw new UsageError(`'${exportName}' in '${module}' is a class, not a function`);
  return { fn: value as AnyFunction, module: url, path: found, tsxApi };
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}` : String(error);
  return text.split('\n')[0]!;
}
