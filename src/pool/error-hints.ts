/**
 * What a worker adds to a task's error so that it says what to do: a name the
 * task's source text used from the scope it was written in, or one a bundle's
 * module sets after the defineTasks() call where the worker stopped loading it.
 * @internal
 */
import { BUNDLING_DOC, stoppedInCall } from '../bundle.js';

const STOPPED_HINT =
  ' (in a worker started from the bundle, which stopped loading it inside this module\'s defineTasks() call: what the module sets ' +
  'from that call or after it, such as the object the call returns, is not there. Have task functions use each other by their own names; ' +
  `${BUNDLING_DOC})`;

const CAPTURE_HINT =
  ': the task function was sent to the worker as source text, so it cannot use names from the scope where it was written. ' +
  'Pass the value as an argument (executor.submit(fn, value)), or define the function in a module with defineTasks(import.meta.url, { ... }).';

/**
 * The error, its message given the hint that fits: `fromSource` for a task sent
 * as source text, `call` the number of the defineTasks() call that defined it.
 */
export function withHint(error: unknown, fromSource: boolean, call: number | undefined): unknown {
  if (fromSource && isCaptureError(error)) addHint(error, CAPTURE_HINT);
  else if (isNameError(error) && stoppedInCall() !== null && call === stoppedInCall()) addHint(error, STOPPED_HINT);
  return error;
}

function addHint(error: Error, hint: string): void {
  // The stack is formatted when first read: read before the message changes, or it shows the hint twice.
  const stack = error.stack;
  const first = `${error.name}: ${error.message}`;
  error.message += hint;
  if (stack?.startsWith(first)) error.stack = `${error.name}: ${error.message}${stack.slice(first.length)}`;
}

/** What a name that a module sets at or after its last `defineTasks()` call gives in a worker that stopped there. */
function isNameError(error: unknown): error is Error {
  try {
    return error instanceof ReferenceError || error instanceof TypeError;
  } catch {
    return false;
  }
}

/** A ReferenceError from a name the task's source used from the scope it was written in. */
function isCaptureError(error: unknown): error is ReferenceError {
  try {
    return error instanceof ReferenceError && / is not defined$/.test(error.message);
  } catch {
    return false; // a revoked proxy, say
  }
}
