/**
 * How an iteration that knows how many items it will yield tells `progress()`:
 * `asCompleted()` and `map()` over arrays keep the count under this key, which
 * `progress()` reads for the bar's total. A registered symbol, so that two
 * copies of the package still understand each other. @internal
 */
export const ITEM_COUNT: unique symbol = Symbol.for('concurrent-futures.itemCount');

/** The count an iteration keeps under `ITEM_COUNT`, if it is a count. @internal */
export function itemCount(source: object): number | undefined {
  const count = (source as { [ITEM_COUNT]?: unknown })[ITEM_COUNT];
  return typeof count === 'number' && Number.isInteger(count) && count >= 0 ? count : undefined;
}
