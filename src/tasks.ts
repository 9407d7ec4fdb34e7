/**
 * How a task function reaches a worker: as its own source text, compiled once
 * per worker, or as a reference into a module made with `defineTasks`.
 */
import { realpathSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BUNDLING_DOC, bundleFile, loadedCalls, nextDefineCall, noteDefined, noteSubmit } from './bundle.js';
import { checkFunction } from './checks.js';
import { isScriptFlag } from './exec-argv.js';
import { compileTask } from './task-source.js';
import { isTypeScriptPath, preloadedTsx, tsxApiFrom } from './tsx.js';

const TASK_REF = Symbol.for('concurrent-futures.task');

/** Where a `defineTasks` function lives: the module's URL and its key there. */
export interface TaskRef {
  /** The `file:` (or `data:`) URL of the module that called `defineTasks`. */
  readonly module: string;
  /** The function's key in the object given to `defineTasks`. */
  readonly name: string;
  /** The `namespace` given to `defineTasks`, if any: queues name the task `namespace.name`. */
  readonly namespace?: string;
}

/** The options of `defineTasks`. */
export interface DefineTasksOptions {
  /**
   * Prefixes the names under which the tasks travel through queues (`namespace.key`),
   * so that two modules with the same keys can run on one worker.
   */
  namespace?: string;
}

/**
 * What a worker needs to get a task function: its source, or its module and key; in a bundle,
 * also the number of the `defineTasks()` call that made it, under which the bundle's worker finds it.
 * @internal
 */
export type TaskDef = { source: string; name: string } | { module: string; name: string; call?: number };

type AnyFunction = (...args: any[]) => unknown;

/** Functions defined by modules loaded in this thread, for workers to look up. */
const registry = new Map<string, AnyFunction>();
/** The same by `defineTasks()` call: in a bundle every module may have one URL (the bundle's), so keys can clash. */
const byCall = new Map<string, AnyFunction>();
/** The `defineTasks()` call that first declared each function. */
const callOf = new WeakMap<AnyFunction, number>();

/**
 * Declares the task functions of a module so that worker executors can run
 * them by reference: call it as `export const tasks = defineTasks(import.meta.url, { ... })`.
 * The object comes back unchanged, its functions still callable here and typed
 * as written; each now carries its module URL and name. The module must not be the
 * program's entry module. Throws a `TypeError` for a URL that is not the module's or a non-function.
 */
export function defineTasks<T extends Record<string, AnyFunction>>(moduleUrl: string | URL, tasks: T, options?: DefineTasksOptions): T {
  const module = normalizeModule(moduleUrl);
  const call = nextDefineCall();
  if (tasks === null || typeof tasks !== 'object') throw new TypeError('defineTasks(): the second argument must be an object of functions');
  const namespace = options?.namespace;
  if (namespace !== undefined && (typeof namespace !== 'string' || !/^[\w$-]+(\.[\w$-]+)*$/.test(namespace))) {
    throw new TypeError(`defineTasks(): namespace must be a non-empty string of letters, digits, '_', '$', '-' and dots, got ${JSON.stringify(namespace) ?? String(namespace)}`);
  }
  for (const [name, fn] of Object.entries(tasks)) {
    if (typeof fn !== 'function') throw new TypeError(`defineTasks(): '${name}' is not a function`);
    const existing = (fn as any)[TASK_REF] as TaskRef | undefined;
    if (existing === undefined) {
      const ref: TaskRef = namespace === undefined ? { module, name } : { module, name, namespace };
      Object.defineProperty(fn, TASK_REF, { value: Object.freeze(ref), enumerable: false });
    }
    registry.set(`${module}#${name}`, fn);
    byCall.set(`${call}:${name}`, fn);
    if (!callOf.has(fn)) callOf.set(fn, call);
  }
  // Last: in a worker started from a bundle, this may be where loading stops (it throws).
  noteDefined(defineTasks);
  return tasks;
}

/** The module reference a `defineTasks` function carries; `undefined` for any other value. Never throws. */
export function taskRef(fn: unknown): TaskRef | undefined {
  return typeof fn === 'function' ? ((fn as any)[TASK_REF] as TaskRef | undefined) : undefined;
}

function normalizeModule(moduleUrl: string | URL): string {
  // A bundler's CommonJS output has no import.meta.url; there the bundle is the module.
  const bundle = moduleUrl === undefined ? bundleFile() : null;
  if (bundle !== null) return bundle.href;
  const text = String(moduleUrl);
  if (text.startsWith('file:') || text.startsWith('data:')) return text;
  if (text.startsWith('/')) return pathToFileURL(text).href;
  throw new TypeError(`defineTasks(): the first argument must be the module's import.meta.url, got '${text}'`);
}

let nextId = 1;
const idsByFunction = new WeakMap<AnyFunction, number>();
const idsByKey = new Map<string, number>();
const defs = new Map<number, TaskDef>();

/**
 * The id under which workers know `fn`, registering it on first sight.
 * Throws a `TypeError` for what cannot travel: native and bound functions, classes.
 * @internal
 */
export function taskId(fn: unknown, submitted = true): number {
  checkFunction(fn, 'submit()');
  const known = idsByFunction.get(fn as AnyFunction);
  if (known !== undefined) return known;
  // The program is submitting work: a bundle's loading is over (a worker's ends here).
  if (submitted) noteSubmit();
  const ref = taskRef(fn);
  let key: string;
  let def: TaskDef;
  const call = ref === undefined ? undefined : callOf.get(fn as AnyFunction);
  if (ref !== undefined && call !== undefined && bundleFile() !== null) {
    if (call > loadedCalls()) {
      throw new TypeError(
        `task '${ref.name}' was defined after the bundle ${fileURLToPath(bundleFile()!)} had loaded (by an import() or code that ran later): ` +
          "a worker started from the bundle loads the task modules that the bundle loads before the program submits work, never the program's own code. " +
          `Import the task module statically (import ... from) in the program; ${BUNDLING_DOC}`,
      );
    }
    key = `call:${call}#${ref.name}`;
    def = { module: ref.module, name: ref.name, call };
  } else if (ref !== undefined) {
    if (ref.module === mainModuleUrl()) {
      throw new TypeError(
        `task '${ref.name}' is defined in the program's entry module ${fileURLToPath(ref.module)}: ` +
          'a worker would import that module and run the whole program again. ' +
          'Move the defineTasks() call into a module of its own and import it from the program. ' +
          `If the entry is a bundle that a bundler merged the task module into, bundle concurrent-futures into it too; ${BUNDLING_DOC}`,
      );
    }
    key = `module:${ref.module}#${ref.name}`;
    def = { module: ref.module, name: ref.name };
  } else {
    const source = Function.prototype.toString.call(fn);
    if (/\{\s*\[native code\]\s*\}$/.test(source)) {
      throw new TypeError(
        `${fn.name.startsWith('bound ') ? 'a bound' : 'a native'} function (${fn.name || 'anonymous'}) cannot be sent to a worker: ` +
          'pass a self-contained function, or one made with defineTasks(import.meta.url, { ... })',
      );
    }
    if (/^class\b/.test(source)) throw new TypeError(`a class (${fn.name}) cannot be a task: pass a function`);
    key = `source:${source}`;
    def = { source, name: fn.name };
  }
  let id = idsByKey.get(key);
  if (id === undefined) {
    id = nextId++;
    idsByKey.set(key, id);
    defs.set(id, def);
  }
  idsByFunction.set(fn as AnyFunction, id);
  return id;
}

/** The definition behind a task id. @internal */
export function taskDef(id: number): TaskDef {
  return defs.get(id)!;
}

let entryUrl: string | null | undefined;

/**
 * The program's entry module as a `file:` URL (symlinks resolved, as for
 * `import.meta.url`), or null (a REPL, `-e`). A task module must not be it.
 */
function mainModuleUrl(): string | null {
  if (entryUrl !== undefined) return entryUrl;
  entryUrl = null;
  const entry = process.argv[1];
  if (entry === undefined || process.execArgv.some(isScriptFlag)) return entryUrl;
  // `node main` runs main.js: the entry may be named without its extension.
  for (const candidate of [entry, `${entry}.js`, `${entry}.mjs`, `${entry}.cjs`, `${entry}.ts`]) {
    try {
      if (statSync(candidate).isFile()) return (entryUrl = pathToFileURL(realpathSync(candidate)).href);
    } catch {
      // not this one
    }
  }
  return entryUrl;
}

/** Compiles source text or imports a module to get a task function, in a worker. @internal */
export async function loadTask(def: TaskDef): Promise<AnyFunction> {
  if ('source' in def) return compileTask(def.source);
  if (def.call !== undefined) {
    // A worker started from the bundle: the bundle has loaded the module already, and importing it would run the program.
    const fn = byCall.get(`${def.call}:${def.name}`);
    // The same call of the same module: a bundle whose calls came in another order here would find another function.
    if (fn !== undefined && taskRef(fn)?.module === def.module) return fn;
    throw new Error(
      `a worker started from the bundle ${fileURLToPath(bundleFile() ?? def.module)} found no task '${def.name}' (defineTasks() call ${def.call}) ` +
        'in what it loaded: the file holding this package and the task modules it loads. A task module in another output file ' +
        '(code splitting) or one defined only outside workers is not there: bundle the program into one file, and define tasks ' +
        `at the top level of their modules; ${BUNDLING_DOC}`,
    );
  }
  let namespace: Record<string, unknown>;
  try {
    namespace = await importModule(def.module);
  } catch (cause) {
    throw new Error(`cannot load the task module ${def.module} in a worker: ${(cause as Error)?.message ?? cause}`, { cause });
  }
  const fn = registry.get(`${def.module}#${def.name}`) ?? findExported(namespace, def);
  if (fn === undefined) {
    throw new Error(`the task module ${def.module} defines no task '${def.name}' (is it exported from a defineTasks() call?)`);
  }
  return fn;
}

/** Imports a module in this thread, through tsx for `.ts` where the program runs under tsx. @internal */
export async function importModule(url: string): Promise<Record<string, unknown>> {
  // Before the first import: a failed import is cached and cannot be retried.
  if (isTypeScriptPath(new URL(url).pathname)) await registerTsx();
  // Whatever module the program names at run time: a bundler must leave this import to Node.
  return import(/* webpackIgnore: true */ url);
}

let tsxRegistered: Promise<boolean> | undefined;

/** A worker of a program started with tsx cannot import `.ts` modules until tsx registers here too. */
function registerTsx(): Promise<boolean> {
  tsxRegistered ??= (async () => {
    const spec = preloadedTsx();
    if (spec === undefined) return false;
    const from = spec.startsWith('file:') ? new URL(spec).pathname : spec.startsWith('/') ? spec : `${process.cwd()}/`;
    const api = await tsxApiFrom(from);
    if (api === null) return false;
    try {
      ((await import(/* webpackIgnore: true */ api)) as { register(): unknown }).register();
      return true;
    } catch {
      return false;
    }
  })();
  return tsxRegistered;
}

/** When this package is loaded twice, the registry is not shared: look through the exports. */
function findExported(namespace: Record<string, unknown>, def: { module: string; name: string }): AnyFunction | undefined {
  for (const value of Object.values(namespace)) {
    const fn = value !== null && typeof value === 'object' ? (value as any)[def.name] : undefined;
    const ref = taskRef(fn);
    if (ref?.module === def.module && ref.name === def.name) return fn;
  }
  return undefined;
}
