/** Checks the options thread and process pools share. @internal */
export function checkPoolOptions(
  initializer: unknown,
  initargs: unknown,
  maxTasks: unknown,
  maxTasksName: string,
  idleTimeout: unknown,
): { initializer: ((...args: any[]) => unknown) | undefined; initargs: unknown[]; maxTasks: number; idleTimeout: number } {
  if (initializer !== undefined && typeof initializer !== 'function') throw new TypeError('initializer must be a function');
  if (initargs !== undefined && !Array.isArray(initargs)) throw new TypeError('initargs must be an array');
  if (maxTasks !== undefined && (typeof maxTasks !== 'number' || !Number.isInteger(maxTasks) || maxTasks < 1)) {
    throw new RangeError(`${maxTasksName} must be a positive integer`);
  }
  if (idleTimeout !== undefined && (typeof idleTimeout !== 'number' || Number.isNaN(idleTimeout) || idleTimeout < 0)) {
    throw new RangeError('idleTimeout must be a number of milliseconds >= 0');
  }
  return {
    initializer: initializer as ((...args: any[]) => unknown) | undefined,
    initargs: (initargs as unknown[] | undefined) ?? [],
    maxTasks: (maxTasks as number | undefined) ?? Infinity,
    idleTimeout: (idleTimeout as number | undefined) ?? Infinity,
  };
}
