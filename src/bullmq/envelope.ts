/**
 * What travels through Redis: a job's arguments and its outcome, each as one
 * string of `v8.serialize` bytes in base64, or as plain JSON where JSON is exact.
 *
 * Why not JSON: BullMQ stores job data and results with `JSON.stringify`,
 * which turns a `Date` into a string, drops `undefined`, throws on `BigInt`
 * and makes `{}` of a `Map`, a `Set` or a typed array — values that would
 * arrive silently changed. `v8.serialize` is the structured clone that the
 * thread and process pools already use, so a value that crosses to a thread
 * crosses to another machine alike: `Date`, `BigInt`, `Map`, `Set`,
 * `undefined`, typed arrays, `RegExp`, cycles, errors. What structured clone
 * cannot carry (functions, symbols, class prototypes aside) fails at once:
 * at `submit` for arguments, at the worker for results. Deserializing builds
 * data only: nothing in a job is ever evaluated.
 *
 * Strings, booleans, `null` and finite numbers other than -0 are the values
 * JSON carries exactly. Arguments that are all such values, and such a result,
 * travel in BullMQ's JSON as they are: a `v8.serialize` or `deserialize` call
 * and its base64 cost about 10 µs (a serializer object each time), more than
 * a small task and the worker's own bookkeeping together. The two forms
 * cannot be mistaken for each other: encoded bytes are a string, JSON
 * arguments and outcomes an array.
 */
import { deserialize, serialize } from 'node:v8';
import { describe } from '../checks.js';
import { decodeError, encodeError } from '../codec.js';
import { chunkHead, type Chunk, type ChunkOutcome } from '../chunk.js';
import { findUnsendable, unsendableError } from '../pool/unsendable.js';
import type { TraceCarrier } from './trace-context.js';

/** A job's data on the queue. @internal */
export interface JobData {
  /**
   * The arguments (for a chunk of `map` items: the arity, then each item's arguments), encoded;
   * or, when JSON carries each of them exactly, the arguments themselves.
   */
  a: string | JsonExact[];
  /** Set for a chunk of `map` items. */
  c?: 1;
  /** The OpenTelemetry context active at `submit` (trace-context.ts); only when there was one. */
  t?: TraceCarrier;
}

/** How a job ended, as the worker reports it. @internal */
export const VALUE = 0;
/** @internal */ export const ERROR = 1;
/** @internal */ export const CHUNK = 2;
/** The task was interrupted by `cancel({ interrupt: true })`: its future is cancelled already. @internal */
export const INTERRUPTED = 3;

/**
 * The most arguments a job may pass to its task (or to each `map` item of a chunk): a call
 * spreads them, and a few hundred thousand overflow the stack. @internal
 */
export const MAX_ARGS = 65_536;

/** A value that JSON carries exactly. @internal */
export type JsonExact = string | number | boolean | null;

/** An outcome sent as JSON: a task's value that JSON carries exactly. @internal */
export type JsonOutcome = [kind: typeof VALUE, value: JsonExact];

/** What a worker returns for a job: encoded bytes, or an outcome as JSON. @internal */
export type Outcome = string | JsonOutcome;

/** Whether JSON gives back exactly this value (NaN, ±Infinity and -0 it does not). */
function isJsonExact(value: unknown): value is JsonExact {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0);
    default:
      return value === null;
  }
}

/** Encodes a task's arguments; throws a `TypeError` naming the argument that cannot travel, and what to do. @internal */
export function encodeArgs(args: unknown[]): string | JsonExact[] {
  if (args.length > MAX_ARGS) throw new RangeError(`a task may take at most ${MAX_ARGS} arguments through Redis, got ${args.length}`);
  if (args.every(isJsonExact)) return args;
  try {
    return serialize(args).toString('base64');
  } catch (error) {
    const found = findUnsendable(args, false, serialize);
    if (found === null) throw cannotTravel(error);
    throw unsendableError(found, false, 'through Redis', error);
  }
}

/**
 * Encodes a chunk of `map` items. An item that cannot travel cuts it short:
 * the items before it travel (`a` null when there are none), and `cut` is
 * that item's error, which `map` meets at the item's own position.
 * @internal
 */
export function encodeChunk(chunk: Chunk): { a: string | null; cut: TypeError | null } {
  try {
    return { a: serialize(chunk).toString('base64'), cut: null };
  } catch (error) {
    const found = findUnsendable(chunk, true, serialize);
    if (found === null) throw cannotTravel(error);
    const a = found.item === 0 ? null : serialize(chunkHead(chunk, found.item)).toString('base64');
    return { a, cut: unsendableError(found, true, 'through Redis', error) };
  }
}

function cannotTravel(error: unknown): TypeError {
  return new TypeError(`the task's arguments cannot be sent through Redis: ${(error as Error)?.message ?? error}`, { cause: error });
}

/** A job's arguments as the worker runs them: a task's own, or a chunk of `map` items (chunk.ts's layout). @internal */
export interface DecodedJob {
  args: unknown[];
  chunk: boolean;
  /** The submitting side's trace context; a `t` that is not an object is ignored, as W3C's rules ignore a bad `traceparent`. */
  trace: TraceCarrier | undefined;
}

/**
 * Decodes a job's data in a worker. Anything may have written it, so every
 * length is checked before a call or a loop is sized by it; what does not
 * hold is a `TypeError` saying what is wrong. @internal
 */
export function decodeJob(data: unknown): DecodedJob {
  if (data === null || typeof data !== 'object') throw new TypeError(`the job's data is not an object (got ${describe(data)})`);
  const { a, c, t } = data as Partial<Record<'a' | 'c' | 't', unknown>>;
  const trace = t !== null && typeof t === 'object' && !Array.isArray(t) ? (t as TraceCarrier) : undefined;
  if (c !== undefined && c !== 1) throw new TypeError(`the job's chunk mark 'c' must be 1 or absent, got ${describe(c)}`);
  const chunk = c === 1;
  let args: unknown[];
  if (Array.isArray(a)) {
    // Parsed from JSON by BullMQ already: dense, each element written out.
    args = a;
  } else if (typeof a === 'string') {
    const bytes = Buffer.from(a, 'base64');
    const decoded: unknown = deserialize(bytes);
    if (!Array.isArray(decoded)) throw new TypeError(`the job's arguments are not an array (got ${describe(decoded)})`);
    // Each element of a dense array takes a byte at least; a longer array is sparse, its length a mere number.
    if (decoded.length > bytes.length) {
      throw new TypeError(`the job's arguments are a sparse array of length ${decoded.length}, carried in ${bytes.length} bytes: BullMQExecutor sends no such array`);
    }
    args = decoded;
  } else {
    throw new TypeError('the job carries no encoded arguments (was it added by something other than BullMQExecutor?)');
  }
  if (!chunk) {
    if (args.length > MAX_ARGS) throw new TypeError(`the job passes ${args.length} arguments, more than the ${MAX_ARGS} a task may take`);
    return { args, chunk, trace };
  }
  const arity = args[0];
  if (typeof arity !== 'number' || !Number.isInteger(arity) || arity < 1 || arity > MAX_ARGS) {
    throw new TypeError(`the chunk's arity (its first element) must be an integer from 1 to ${MAX_ARGS}, got ${describe(arity)}`);
  }
  const rest = args.length - 1;
  if (rest === 0 || rest % arity !== 0) {
    throw new TypeError(`the chunk carries ${rest} arguments after its arity, which is not a positive multiple of ${arity}`);
  }
  return { args, chunk, trace };
}

/**
 * Encodes a task's outcome in the worker. A result that cannot travel becomes the task's error,
 * which `refused` is told. @internal
 */
export function encodeOutcome(kind: number, payload: unknown, refused?: (why: TypeError) => void): Outcome {
  if (kind === VALUE && isJsonExact(payload)) return [VALUE, payload];
  if (kind === ERROR) payload = encodeError(payload);
  else if (kind === CHUNK) {
    const outcome = payload as ChunkOutcome<unknown>;
    payload = { values: outcome.values, failed: outcome.failed, error: encodeError(outcome.error), ms: outcome.ms };
  }
  try {
    return serialize([kind, payload]).toString('base64');
  } catch (error) {
    const why = new TypeError(`the task's result cannot be sent back through Redis: ${(error as Error)?.message ?? error}`);
    refused?.(why);
    return serialize([ERROR, encodeError(why)]).toString('base64');
  }
}

/** A decoded outcome: its kind and its value (for `ERROR`, the rebuilt error). @internal */
export function decodeOutcome(text: unknown): [kind: number, value: unknown] {
  if (Array.isArray(text) && text.length === 2 && text[0] === VALUE && isJsonExact(text[1])) return [VALUE, text[1]];
  if (typeof text !== 'string') throw new TypeError(`the job's result is not one BullMQExecutor's worker made (got ${typeof text})`);
  const [kind, payload] = deserialize(Buffer.from(text, 'base64')) as [number, unknown];
  if (kind === ERROR) return [kind, decodeError(payload)];
  if (kind === CHUNK) (payload as ChunkOutcome<unknown>).error = decodeError((payload as ChunkOutcome<unknown>).error);
  return [kind, payload];
}
