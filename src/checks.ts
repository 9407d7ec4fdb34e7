/**
 * Argument checks shared by every executor, `wait`, `asCompleted` and `map`,
 * so that a bad value gets the same kind of message wherever it is passed:
 * what was expected, and what was given.
 * @internal
 */

/** A value as a message names it: `null`, `NaN`, `1.5`, `a string`, `an object of class Foo`. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  switch (typeof value) {
    case 'number':
    case 'bigint':
    case 'boolean':
      return `${typeof value} ${String(value)}${typeof value === 'bigint' ? 'n' : ''}`;
    case 'string':
      return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
    case 'function':
      return `function ${value.name || '(anonymous)'}`;
    case 'symbol':
      return String(value);
    default: {
      let name: unknown;
      try {
        name = (value as object).constructor?.name;
      } catch {
        name = undefined;
      }
      return typeof name === 'string' && name !== '' ? `${name === 'Object' ? 'an object' : `an instance of ${name}`}` : 'an object';
    }
  }
}

/** Throws a `TypeError` unless `fn` is a function; `caller` names the call, as in `submit() expects a function, got number 3`. */
export function checkFunction(fn: unknown, caller: string): asserts fn is (...args: any[]) => unknown {
  if (typeof fn !== 'function') throw new TypeError(`${caller} expects a function, got ${describe(fn)}`);
}

/** Checks a timeout in milliseconds: `undefined` and `Infinity` mean none, a negative one is 0. */
export function checkTimeout(timeout: unknown): number | undefined {
  if (timeout === undefined || timeout === Infinity) return undefined;
  if (typeof timeout !== 'number' || Number.isNaN(timeout)) {
    throw new TypeError(`timeout must be a number of milliseconds or undefined, got ${describe(timeout)}`);
  }
  return timeout < 0 ? 0 : timeout;
}

/** Checks `maxWorkers`: a positive integer; `undefined` means the executor's default. */
export function checkMaxWorkers(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number') throw new TypeError(`maxWorkers must be a number, got ${describe(value)}`);
  if (value <= 0) throw new RangeError('maxWorkers must be greater than 0');
  if (!Number.isSafeInteger(value)) throw new RangeError(`maxWorkers must be greater than 0 and a whole number, got ${describe(value)}`);
  return value;
}

/** Checks a count such as `chunksize`: an integer >= 1, or undefined; `message` is Python's text for one below 1. */
export function checkCount(value: unknown, name: string, message: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`${name} must be an integer or undefined, got ${describe(value)}`);
  if (value < 1) throw new RangeError(message);
  return value;
}

/** Checks an options argument: an object or undefined. */
export function checkOptions<T extends object>(options: unknown, caller: string, known?: readonly (keyof T & string)[]): Partial<T> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${caller}: options must be an object or undefined, got ${describe(options)}`);
  }
  if (known !== undefined) checkKnownKeys(options, caller, known);
  return options as Partial<T>;
}

/** A misspelt option (`maxworkers`) is an error, as Python's unexpected keyword argument is, not a silent default. */
export function checkKnownKeys(options: object, caller: string, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new TypeError(`${caller}: unknown option '${key}' (the options are ${known.join(', ')})`);
  }
}

/** Whether a value is a promise-like to wait for; one whose `then` cannot even be read is not. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
  try {
    return typeof (value as { then?: unknown }).then === 'function';
  } catch {
    return false;
  }
}

/**
 * What a task's return value makes it wait for: the promise itself, a promise of
 * the thenable, or null for a plain value. A value that cannot even be asked
 * (a revoked proxy throws from `instanceof` and from reading `then`) is a plain value.
 */
export function promiseOf(value: unknown): Promise<unknown> | null {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return null;
  try {
    if (value instanceof Promise) return value;
  } catch {
    return null;
  }
  return isThenable(value) ? Promise.resolve(value) : null;
}

/** A rate limit: at most `max` task starts in any `interval` milliseconds. */
export interface RateLimit {
  max: number;
  interval: number;
}

/** Checks a `rateLimit` option: `{ max, interval }` with `max` a positive integer and `interval` a positive number of ms; `undefined` is none. */
export function checkRateLimit(value: unknown, caller: string): RateLimit | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object') throw new TypeError(`${caller}: rateLimit must be an object { max, interval } or undefined, got ${describe(value)}`);
  for (const key of Object.keys(value)) {
    if (key !== 'max' && key !== 'interval') throw new TypeError(`${caller}: unknown rateLimit option '${key}' (the options are max and interval)`);
  }
  const { max, interval } = value as Partial<Record<keyof RateLimit, unknown>>;
  if (typeof max !== 'number') throw new TypeError(`${caller}: rateLimit.max must be a number of task starts, got ${describe(max)}`);
  if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`${caller}: rateLimit.max must be an integer >= 1, got ${describe(max)}`);
  if (typeof interval !== 'number') throw new TypeError(`${caller}: rateLimit.interval must be a number of milliseconds, got ${describe(interval)}`);
  if (!(interval > 0) || !Number.isFinite(interval)) throw new RangeError(`${caller}: rateLimit.interval must be a finite number of milliseconds > 0, got ${describe(interval)}`);
  return { max, interval };
}
