/** The error classes of the package; each has `name` equal to its class name. */

/** The future was cancelled: `result()` and `exception()` of a cancelled future reject with it. */
export class CancelledError extends Error {
  /** Always `'CancelledError'`. */
  override name = 'CancelledError';
}

/**
 * A timeout ran out before the operation completed: from `result()`, `exception()`,
 * `asCompleted()` (`'N (of M) futures unfinished'`) and `map()`.
 */
export class TimeoutError extends Error {
  /** Always `'TimeoutError'`. */
  override name = 'TimeoutError';
}

/**
 * A `TimeoutError` raised when a timer fires. Its stack would show only the
 * timer's frames, and capturing them costs more than the timer itself, so it has none.
 * @internal
 */
export function timerTimeoutError(message: string): TimeoutError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new TimeoutError(message);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** The operation is not allowed in the future's current state: `setResult()`/`setException()` on a done future. */
export class InvalidStateError extends Error {
  /** Always `'InvalidStateError'`. */
  override name = 'InvalidStateError';
}

/** The executor cannot run the work: the base class of the thread and process pools' errors. */
export class BrokenExecutorError extends Error {
  /** Always `'BrokenExecutorError'`. */
  override name = 'BrokenExecutorError';
}

/**
 * A thread pool worker died or its initializer failed.
 * `exitCode` (and `reason`) tell why a worker ended, when one did.
 */
export class BrokenThreadPoolError extends BrokenExecutorError {
  /** Always `'BrokenThreadPoolError'`. */
  override name = 'BrokenThreadPoolError';
  /** The exit code of the worker that ended mid-task or before it was up; `undefined` when no worker ended (an initializer that threw, a worker that could not be started). */
  exitCode?: number;
  /** Why the worker ended, when known, e.g. `'out of memory (...)'` or the uncaught error. */
  reason?: string;
}

/** A process pool child died or its initializer failed; `exitCode`/`signal` tell how. */
export class BrokenProcessPoolError extends BrokenExecutorError {
  /** Always `'BrokenProcessPoolError'`. */
  override name = 'BrokenProcessPoolError';
  /** The exit code of the child that ended mid-task or before it was up; `null` when a signal ended it; `undefined` when no child ended (an initializer that threw). */
  exitCode?: number | null;
  /** The signal that ended the child (e.g. `'SIGKILL'`), or `null`. */
  signal?: NodeJS.Signals | null;
  /** Why the child ended or could not start, when known (e.g. a missing entry file). */
  reason?: string;
}

/** `submit()` or `map()` was called after `shutdown()`; the message is Python's, `cannot schedule new futures after shutdown`. */
export class ExecutorShutdownError extends Error {
  /** Always `'ExecutorShutdownError'`. */
  override name = 'ExecutorShutdownError';
  constructor(message = 'cannot schedule new futures after shutdown', options?: ErrorOptions) {
    super(message, options);
  }
}
