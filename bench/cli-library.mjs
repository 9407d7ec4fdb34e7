// The same job as the command, written against the library: read the lines, the library's chunked
// map over them, one JSON line out per result. Prints the map's own time (ms) on stderr.
import { readFileSync } from 'node:fs';
import { ThreadPoolExecutor } from '../dist/index.js';

const [file, chunksize] = process.argv.slice(2);
const items = readFileSync(file, 'utf8').split('\n');
if (items.at(-1) === '') items.pop();
const executor = new ThreadPoolExecutor(2);
const started = performance.now();
let out = '';
for await (const result of executor.map((x) => x, items, { chunksize: Number(chunksize) })) {
  out += JSON.stringify(result) + '\n';
  if (out.length > 65536) {
    process.stdout.write(out);
    out = '';
  }
}
process.stdout.write(out);
process.stderr.write(`${performance.now() - started}\n`);
await executor.shutdown();
