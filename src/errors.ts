/** The error classes of the package; each has `name` equal to its class name. */

/** The future was cancelled. */
export class CancelledError extends Error {
  override name = 'CancelledError';
}

/** A timeout ran out before the operation completed. */
export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/** The operation is not allowed in the future's current state. */
export class InvalidStateError extends Error {
  override name = 'InvalidStateError';
}

/** The executor cannot run work anymore. */
export class BrokenExecutorError extends Error {
  override name = 'BrokenExecutorError';
}

/**
 * A thread pool worker died or its initializer failed.
 * `exitCode` (and `reason`) tell why a worker ended, when one did.
 */
export class BrokenThreadPoolError extends BrokenExecutorError {
  override name = 'BrokenThreadPoolError';
  exitCode?: number;
  reason?: string;
}

/** A process pool child died or its initializer failed; `exitCode`/`signal` tell how. */
export class BrokenProcessPoolError extends BrokenExecutorError {
  override name = 'BrokenProcessPoolError';
  exitCode?: number | null;
  signal?: NodeJS.Signals | null;
}

/** `submit()` was called after `shutdown()`. */
export class ExecutorShutdownError extends Error {
  override name = 'ExecutorShutdownError';
  constructor(message = 'cannot schedule new futures after shutdown', options?: ErrorOptions) {
    super(message, options);
  }
}
