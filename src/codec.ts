/**
 * What crosses between the main thread and a worker besides plain data:
 * errors, with their class, own properties, cause chain and stack, and
 * values marked by `transfer()` to be moved instead of copied.
 */

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
  cause?: unknown;
  hasCause: boolean;
  errors?: unknown[];
}

/** Turns a thrown value into data that structured clone keeps whole. @internal */
export function encodeError(error: unknown, depth = 0): unknown {
  if (!(error instanceof Error) || depth > 16) return error;
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(error)) {
    if (key === 'cause' || key === 'errors' || key === 'name') continue;
    const value = (error as any)[key];
    if (isCloneable(value)) props[key] = value;
  }
  let ctor = 'Error';
  for (let proto = Object.getPrototypeOf(error); proto !== null; proto = Object.getPrototypeOf(proto)) {
    const name = proto.constructor?.name;
    if (name in BUILTIN_ERRORS || name === 'AggregateError') {
      ctor = name;
      break;
    }
  }
  const encoded: EncodedError = {
    __error__: true,
    ctor,
    name: error.name,
    message: error.message,
    stack: error.stack,
    props,
    hasCause: 'cause' in error,
  };
  if (encoded.hasCause) encoded.cause = encodeError(error.cause, depth + 1);
  if (error instanceof AggregateError) encoded.errors = error.errors.map((e) => encodeError(e, depth + 1));
  return encoded;
}

/** Rebuilds an error from `encodeError`'s data: built-in classes restored, the rest as `Error` with its name. @internal */
export function decodeError(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || (value as EncodedError).__error__ !== true) return value;
  const e = value as EncodedError;
  const options = e.hasCause ? { cause: decodeError(e.cause) } : undefined;
  const error: Error =
    e.ctor === 'AggregateError'
      ? new AggregateError((e.errors ?? []).map(decodeError), e.message, options)
      : new (BUILTIN_ERRORS[e.ctor] ?? Error)(e.message, options);
  if (error.name !== e.name) {
    Object.defineProperty(error, 'name', { value: e.name, writable: true, configurable: true, enumerable: false });
  }
  Object.defineProperty(error, 'stack', { value: e.stack, writable: true, configurable: true, enumerable: false });
  Object.assign(error, e.props);
  return error;
}

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
