// A program that uses each pool and never shuts it down: it must still end once its work is done,
// also when it waited with timeouts far longer than the work took (and one timed wait ran out).
import { ThreadPoolExecutor, ProcessPoolExecutor, Future, wait, asCompleted } from 'concurrent-futures';

const threads = new ThreadPoolExecutor(2);
const children = new ProcessPoolExecutor(2);
console.log(await threads.submit((x) => x * 2, 21).result(60_000), await children.submit((x) => x * 2, 21).result());
const f = threads.submit((x) => x + 1, 1);
const { done } = await wait([f], { timeout: 60_000 });
for await (const g of asCompleted([f], { timeout: 60_000 })) console.log(done.size, await g.exception(3_600_000));
console.log(await new Future().result(5).catch((e) => e.name));
