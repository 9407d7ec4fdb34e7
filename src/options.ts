/** Checks `maxWorkers`; `undefined` means the executor's default. @internal */
export function checkMaxWorkers(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number') throw new TypeError(`maxWorkers must be a number, got ${value === null ? 'null' : typeof value}`);
  if (!Number.isInteger(value) || value <= 0) throw new RangeError('maxWorkers must be greater than 0');
  return value;
}
