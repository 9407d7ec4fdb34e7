// A program that uses each pool and never shuts it down: it must still end once its work is done.
import { ThreadPoolExecutor, ProcessPoolExecutor } from 'concurrent-futures';

const threads = new ThreadPoolExecutor(2);
const children = new ProcessPoolExecutor(2);
console.log(await threads.submit((x) => x * 2, 21).result(), await children.submit((x) => x * 2, 21).result());
