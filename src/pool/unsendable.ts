/**
 * Arguments that cannot travel: which one it is, and what to do instead.
 * Looked for only once a channel has refused a message, one value at a time,
 * with that channel's own serializer: the common case pays nothing.
 * @internal
 */
import { placeInChunk } from '../chunk.js';

/** Throws what a channel would throw for a value it cannot send. */
export type Probe = (value: unknown) => unknown;

/** The first argument a probe refused: its map item's index in a chunk (0 for a task), its place among the item's arguments, why. */
export interface Unsendable {
  item: number;
  arg: number;
  value: unknown;
  why: unknown;
}

/** The first of a task's arguments (or of a chunk's items' arguments) that `probe` refuses, or null. */
export function findUnsendable(args: unknown[], chunk: boolean, probe: Probe): Unsendable | null {
  for (let i = chunk ? 1 : 0; i < args.length; i++) {
    try {
      probe(args[i]);
    } catch (why) {
      const { item, arg } = chunk ? placeInChunk(args, i) : { item: 0, arg: i };
      return { item, arg, value: args[i], why };
    }
  }
  return null;
}

/** The error of the task, or map item, whose argument cannot be sent `where` ("to a worker", "through Redis"). */
export function unsendableError(found: Unsendable, chunk: boolean, where: string, cause: unknown): TypeError {
  const which = chunk ? `argument ${found.arg + 1} of the map item` : `argument ${found.arg + 1} of the task`;
  const why = String((found.why as Error)?.message ?? found.why).replace(/\.$/, '');
  return new TypeError(`${which} cannot be sent ${where}: ${why}. ${advice(found)}`, { cause });
}

function advice(found: Unsendable): string {
  if (typeof found.value === 'function') {
    return 'A function does not travel: pass data instead, and define the function where the task can call it (in the task itself, or in its defineTasks module).';
  }
  if (/transferList/.test(String((found.why as Error)?.message))) return 'Wrap it in transfer() to move it to the worker.';
  return 'Only data travels (what structuredClone copies: plain objects, arrays, Map, Set, Date, typed arrays, errors): pass that instead.';
}
