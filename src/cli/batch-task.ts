/**
 * The side of `concurrent-futures map` that runs where the user's function
 * runs: a worker thread, a child process, or this thread. The function is
 * loaded by module URL and export path, once per worker (the pool's
 * initializer), never sent as source text: a module function may use its
 * module's imports. Lines then come in batches and each call stands alone, so
 * that one failing line fails nothing but itself.
 */
import { isThenable } from '../checks.js';
import { defineTasks, importModule } from '../tasks.js';
import { toJsonLine } from './result-json.js';
import { importTypeScript } from './tsx.js';

/** What one batch of lines produced. */
export interface BatchOutcome {
  /**
   * The output, as text ready to write: the results between one failure and
   * the next (`parts.length === errors.length + 1`), one JSON line each.
   */
  parts: string[];
  /** The failures: the line number and the error, described on one line. */
  errors: Array<[number, string]>;
  /** Lines that were input (blank lines are none in JSON). */
  count: number;
}

/** How a batch reads its lines and writes its results. */
export interface BatchFormat {
  /** Each line is JSON (blank lines are skipped); otherwise the raw line is the argument. */
  json: boolean;
  /** Each result says its line: `{"line":N,"result":R}`. */
  tagged: boolean;
  /** Milliseconds a call may take, or `null`. */
  timeout: number | null;
}

type AnyFunction = (...args: any[]) => unknown;

let target: AnyFunction | null = null;
let loadError: string | null = null;

/** The `code` of the error of a batch whose worker could not load the function. */
export const LOAD_FAILED = 'CONCURRENT_FUTURES_LOAD_FAILED';

/** The value at `path` (export name, then keys) in a module namespace. */
export function lookupPath(namespace: Record<string, unknown>, path: readonly string[]): unknown {
  let value: unknown = namespace;
  for (const key of path) {
    if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** One line per error: `TypeError: message`, with its `code` where it has one and the message does not say it already. */
export function describeError(error: unknown): string {
  let text: string;
  if (error instanceof Error || (error !== null && typeof error === 'object' && 'message' in error)) {
    const { name = 'Error', message, code } = error as { name?: string; message?: unknown; code?: unknown };
    const said = String(message);
    // A system error's message starts with its code ("ENOENT: no such file or directory, open 'x'").
    const tag = typeof code === 'string' && code !== '' && !said.split(/[^\w]+/).includes(code) ? ` [${code}]` : '';
    text = `${name}${tag}: ${said}`;
  } else {
    text = `thrown value: ${typeof error === 'string' ? JSON.stringify(error) : String(error)}`;
  }
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

function timeoutError(ms: number): Error {
  const error = new Error(`the call took longer than ${ms} ms`);
  error.name = 'TimeoutError';
  return error;
}

function withTimeout(value: PromiseLike<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeoutError(ms)), ms);
  });
  return Promise.race([value, expired]).finally(() => clearTimeout(timer));
}

function parseJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch (error) {
    throw new SyntaxError(`the line is not JSON (${(error as Error).message})`);
  }
}

export const batchTasks = defineTasks(import.meta.url, {
  /** The pool's initializer: imports the module (through tsx when `tsxApi` is given) and keeps the function. */
  async load(moduleUrl: string, path: string[], tsxApi: string | null): Promise<void> {
    // A failure is kept for the batches to report, once, rather than break the pool with a trace on stderr.
    try {
      const namespace = tsxApi === null ? await importModule(moduleUrl) : await importTypeScript(tsxApi, moduleUrl);
      const value = lookupPath(namespace, path);
      if (typeof value !== 'function') throw new TypeError(`${path.join('.')} in ${moduleUrl} is not a function`);
      target = value as AnyFunction;
    } catch (error) {
      loadError = describeError(error);
    }
  },

  /**
   * Calls the function on each line of `text` (lines `first`, `first + 1`, ...):
   * the raw line, or in JSON the parsed value (an array is spread into the
   * arguments). Lines travel as one string and results come back as text: one
   * string costs far less to pass between threads than an array of them.
   */
  async run(text: string, first: number, format: BatchFormat): Promise<BatchOutcome> {
    const fn = target;
    if (fn === null) {
      throw Object.assign(new Error(loadError ?? 'the function was not loaded in this worker'), { code: LOAD_FAILED });
    }
    const { json, tagged, timeout } = format;
    const lines = text.split('\n');
    const parts: string[] = [];
    const errors: Array<[number, string]> = [];
    let out = '';
    let count = 0;
    for (let i = 0; i < lines.length; i++) {
      let line = lines[i]!;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (json && line.trim() === '') continue;
      count++;
      try {
        const started = timeout === null ? 0 : performance.now();
        let value: unknown;
        if (json) {
          const input = parseJson(line);
          value = Array.isArray(input) ? fn(...input) : fn(input);
        } else value = fn(line);
        if (isThenable(value)) value = await (timeout === null ? value : withTimeout(value, timeout));
        else if (timeout !== null && performance.now() - started > timeout) throw timeoutError(timeout);
        out += tagged ? `{"line":${first + i},"result":${toJsonLine(value)}}\n` : `${toJsonLine(value)}\n`;
      } catch (error) {
        parts.push(out);
        out = '';
        errors.push([first + i, describeError(error)]);
      }
    }
    parts.push(out);
    return { parts, errors, count };
  },
});
