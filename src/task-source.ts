/**
 * How a task's source text becomes a function again in a worker. The text is
 * compiled as strict code, as it was written in an ES module: a `function` or
 * method called without a receiver sees `this` as `undefined`. An arrow
 * function's `this` belongs to the scope it was written in, which stays behind:
 * in a worker it is an object that throws on any use, never the worker's global.
 * @internal
 */

type AnyFunction = (...args: any[]) => unknown;

// Indirect: the source sees the worker's globals only, none of this module's names.
const evaluate = eval;

const NO_THIS = "a task's own `this` does not travel to a worker: pass what the task needs as an argument";

const NO_ARGUMENTS =
  'the task function uses `arguments` of the scope where it was written, which does not travel to a worker: ' +
  'pass the values as arguments of the task itself';

function refuse(): never {
  throw new TypeError(NO_THIS);
}

/** What an arrow task finds as `this`: every operation on it throws, saying why. */
const leftBehind: ProxyHandler<object> = {
  get: refuse,
  set: refuse,
  has: refuse,
  deleteProperty: refuse,
  ownKeys: refuse,
  getOwnPropertyDescriptor: refuse,
  defineProperty: refuse,
  getPrototypeOf: refuse,
  setPrototypeOf: refuse,
  isExtensible: refuse,
  preventExtensions: refuse,
};

/**
 * Its constructor returns the stand-in `this`, so a subclass's field initializers
 * run with it as theirs. A field initializer is the one place where an arrow gets
 * a chosen `this` and no `arguments`: inside a function wrapper it would find
 * the wrapper's empty `arguments`, whereas in a field initializer using
 * `arguments` is a SyntaxError.
 */
class LeftBehind {
  constructor() {
    return new Proxy(Object.create(null), leftBehind);
  }
}
// An arrow's `super.x` is left behind too: there it would read this class's prototype.
Object.setPrototypeOf(LeftBehind.prototype, new Proxy(Object.create(null), leftBehind));

/** The function that `source` (what `Function.prototype.toString` gave) defines. Throws a SyntaxError for text that is none. */
export function compileTask(source: string): AnyFunction {
  if (/^(async\s+)?function\b/.test(source)) return evaluate(`'use strict';(${source}\n)`);
  try {
    return asArrow(source);
  } catch (arrowError) {
    if (!(arrowError instanceof SyntaxError)) throw arrowError;
    try {
      // Method shorthand (`fib(n) { ... }`) is no expression on its own.
      return asMethod(source);
    } catch (methodError) {
      if (!(methodError instanceof SyntaxError) || !parses(source, false)) throw methodError;
    }
    // An arrow that compiles alone, strict too, but not as a field: it uses `arguments`.
    if (parses(source, true)) throw new SyntaxError(NO_ARGUMENTS);
    throw arrowError;
  }
}

function asArrow(source: string): AnyFunction {
  const define = evaluate(`(function () { return class extends this { #task = (${source}\n); static take(o) { return o.#task; } }; })`);
  const Holder = define.call(LeftBehind);
  return Holder.take(new Holder());
}

function asMethod(source: string): AnyFunction {
  const holder = evaluate(`'use strict';({${source}\n})`);
  return Object.values(holder)[0] as AnyFunction;
}

function parses(source: string, strict: boolean): boolean {
  try {
    evaluate(`${strict ? "'use strict';" : ''}(${source}\n)`);
    return true;
  } catch {
    return false;
  }
}
