/**
 * How an iteration that knows how many items it will yield tells `progress()`:
 * `asCompleted()` and `map()` over arrays keep the count under this key, which
 * `progress()` reads for the bar's total. A registered symbol, so that two
 * copies of the package still understand each other. @internal
 */
export const ITEM_COUNT: unique symbol = Symbol.for('concurrent-futures.itemCount');

/** Where `asCompleted()` keeps the futures it waits for: `progress()` shows the progress they report. @internal */
export const ITEM_FUTURES: unique symbol = Symbol.for('concurrent-futures.itemFutures');

/** The futures an iteration keeps under `ITEM_FUTURES`, if any. @internal */
export function itemFutures(source: object): readonly unknown[] | undefined {
  const futures = (source as { [ITEM_FUTURES]?: unknown })[ITEM_FUTURES];
  return Array.isArray(futures) ? futures : undefined;
}

/** The count an iteration keeps under `ITEM_COUNT`, if it is a count. @internal */
export function itemCount(source: object): number | undefined {
  const count = (source as { [ITEM_COUNT]?: unknown })[ITEM_COUNT];
  return typeof count === 'number' && Number.isInteger(count) && count >= 0 ? count : undefined;
}
