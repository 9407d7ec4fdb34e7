/**
 * What crosses between the main thread and a worker besides plain data:
 * errors, with their class, own properties, cause chain and stack, and
 * values marked by `transfer()` to be moved instead of copied.
 */
import { deserialize, serialize } from 'node:v8';
import { describe } from './checks.js';

const BUILTIN_ERRORS: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/** An error as it travels: plain data that structured clone keeps whole. @internal */
export interface EncodedError {
  __error__: true;
  ctor: string;
  name: string;
  message: string;
  stack: string | undefined;
  props: Record<string, unknown>;
  hasCause: boolean;
  /** The cause, or `{ __ref__: n }` for the n-th error of this encoding when the chain loops back. */
  cause?: unknown;
  errors?: unknown[];
}

const MAX_DEPTH = 16;

/**
 * Turns a thrown value into data that structured clone keeps whole. Total:
 * cycles, throwing getters and proxies give a faithful-as-possible error, never an exception.
 * @internal
 */
export function encodeError(error: unknown): unknown {
  try {
    return encodeOne(error, [], 0);
  } catch (why) {
    return encodeOne(new Error(`the task threw a value that cannot be read (${describeFailure(why)})`), [], 0);
  }
}

function encodeOne(error: unknown, seen: unknown[], depth: number): unknown {
  if (error !== null && typeof error === 'object') {
    const ref = seen.indexOf(error);
    if (ref >= 0) return { __ref__: ref };
  }
  if (!(error instanceof Error)) {
    if (isCloneable(error)) return error;
    if (depth < MAX_DEPTH && (Array.isArray(error) || isPlainObject(error))) {
      // An object around an error that loops back (`{ inner: error }`): kept, its loop encoded as a reference.
      seen.push(error);
      const entries: Array<[string, unknown]> = [];
      for (const key of Object.keys(error as object)) {
        const value = read(error as object, key);
        if (value !== UNREADABLE) entries.push([key, encodeOne(value, seen, depth + 1)]);
      }
      return { __container__: Array.isArray(error) ? 'array' : 'object', entries };
    }
    return `${describe(error)} (cannot be copied from the worker)`;
  }
  seen.push(error);
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(error)) {
    if (key === 'cause' || key === 'errors' || key === 'name') continue;
    const value = read(error, key);
    if (value !== UNREADABLE && isCloneable(value)) props[key] = value;
  }
  let ctor = 'Error';
  for (let proto = Object.getPrototypeOf(error); proto !== null; proto = Object.getPrototypeOf(proto)) {
    const name = read(proto, 'constructor')?.name;
    if (name in BUILTIN_ERRORS || name === 'AggregateError') {
      ctor = name;
      break;
    }
  }
  const name = read(error, 'name');
  const message = read(error, 'message');
  const stack = read(error, 'stack');
  const encoded: EncodedError = {
    __error__: true,
    ctor,
    name: typeof name === 'string' ? name : 'Error',
    message: typeof message === 'string' ? message : '',
    stack: typeof stack === 'string' ? stack : undefined,
    props,
    hasCause: 'cause' in error,
  };
  const deeper = depth < MAX_DEPTH;
  if (encoded.hasCause) {
    const cause = read(error, 'cause');
    encoded.cause = cause === UNREADABLE ? '(the cause cannot be read)' : deeper ? encodeOne(cause, seen, depth + 1) : String(cause);
  }
  if (ctor === 'AggregateError') {
    const errors = read(error, 'errors');
    if (Array.isArray(errors)) encoded.errors = deeper ? errors.map((e) => encodeOne(e, seen, depth + 1)) : [];
  }
  return encoded;
}

const UNREADABLE = Symbol('unreadable');

/** A property, or UNREADABLE when its getter (or a proxy trap) throws. */
function read(target: object, key: string): any {
  try {
    return (target as any)[key];
  } catch {
    return UNREADABLE;
  }
}

/** Rebuilds an error from `encodeError`'s data: built-in classes restored, the rest as `Error` with its name. @internal */
export function decodeError(value: unknown): unknown {
  return decodeOne(value, []);
}

function decodeOne(value: unknown, made: object[]): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (made.length > 0 && typeof (value as { __ref__?: unknown }).__ref__ === 'number') return made[(value as { __ref__: number }).__ref__];
  const container = (value as { __container__?: unknown }).__container__;
  if (container === 'array' || container === 'object') {
    const out: Record<string, unknown> = container === 'array' ? ([] as unknown as Record<string, unknown>) : {};
    made.push(out);
    for (const [key, item] of (value as { entries: Array<[string, unknown]> }).entries) out[key] = decodeOne(item, made);
    return out;
  }
  if ((value as EncodedError).__error__ !== true) return value;
  const e = value as EncodedError;
  const error: Error = e.ctor === 'AggregateError' ? new AggregateError([], e.message) : new (BUILTIN_ERRORS[e.ctor] ?? Error)(e.message);
  made.push(error);
  if (error.name !== e.name) {
    Object.defineProperty(error, 'name', { value: e.name, writable: true, configurable: true, enumerable: false });
  }
  Object.defineProperty(error, 'stack', { value: e.stack, writable: true, configurable: true, enumerable: false });
  if (e.hasCause) Object.defineProperty(error, 'cause', { value: decodeOne(e.cause, made), writable: true, configurable: true, enumerable: false });
  if (e.errors !== undefined) {
    Object.defineProperty(error, 'errors', { value: e.errors.map((x) => decodeOne(x, made)), writable: true, configurable: true, enumerable: false });
  }
  Object.assign(error, e.props);
  return error;
}

/** Whether a value survives a structured clone both ways (an Error whose cause loops does not). */
function isCloneable(value: unknown): boolean {
  if (typeof value === 'function' || typeof value === 'symbol') return false;
  if (value === null || typeof value !== 'object') return true;
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}

function isPlainObject(value: unknown): boolean {
  try {
    const proto = Object.getPrototypeOf(value);
    return proto === Object.prototype || proto === null;
  } catch {
    return false;
  }
}

function describeFailure(why: unknown): string {
  return why instanceof Error ? why.message : String(why);
}

/**
 * A value packed to cross to the other side: v8 bytes that the receiver
 * unpacks on its own, so a value it cannot rebuild fails just its own task.
 * @internal
 */
export function pack(value: unknown): Uint8Array {
  return serialize(value);
}

/** Unpacks `pack`'s bytes; throws a `TypeError` saying why when they cannot be rebuilt. @internal */
export function unpack(bytes: Uint8Array): unknown {
  try {
    return deserialize(bytes);
  } catch (why) {
    throw new TypeError(`the task's result cannot be received from the worker: ${describeFailure(why)}`, { cause: why });
  }
}

const TRANSFER = Symbol.for('concurrent-futures.transfer');

/** A value to move, not copy, to or from a worker. */
export interface Transfer<T> {
  readonly [TRANSFER]: true;
  readonly value: T;
  readonly transferList: readonly unknown[];
}

/**
 * Marks `value` to be moved rather than copied when it is a task's argument
 * or result. `transferList` defaults to the value itself when it is an
 * `ArrayBuffer` or `MessagePort`, or to its buffer when it is a typed array.
 * The sender can no longer use what was moved. Throws a `TypeError` without a
 * usable `transferList`. For thread and process pools only.
 */
export function transfer<T>(value: T, transferList?: readonly unknown[]): T {
  let list = transferList;
  if (list === undefined) {
    if (value instanceof ArrayBuffer) list = [value];
    else if (ArrayBuffer.isView(value)) list = [value.buffer];
    else if (value !== null && typeof value === 'object' && typeof (value as any).postMessage === 'function') list = [value];
    else throw new TypeError('transfer(): give a transferList for a value that is not an ArrayBuffer, typed array or MessagePort');
  }
  if (!Array.isArray(list)) throw new TypeError('transfer(): transferList must be an array');
  // Typed as T so that `return transfer(buffer)` keeps the task's result type.
  return { [TRANSFER]: true, value, transferList: list } as unknown as T;
}

/** Whether a value is a `transfer()` mark. @internal */
export function isTransfer(value: object): boolean {
  return (value as any)[TRANSFER] === true;
}

/** Unwraps a `transfer()` mark, adding what it moves to `list`. @internal */
export function unwrapTransfer(value: unknown, list: unknown[]): unknown {
  if (value === null || typeof value !== 'object' || (value as any)[TRANSFER] !== true) return value;
  const t = value as Transfer<unknown>;
  for (const item of t.transferList) list.push(item);
  return t.value;
}
