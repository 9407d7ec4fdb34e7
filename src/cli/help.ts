/** The top-level usage of `concurrent-futures`, and its version. */
import { readFileSync } from 'node:fs';

export const usage = `usage: concurrent-futures <command> [options]

Python's concurrent.futures for Node.js, from the shell.

commands:
  map MODULE#EXPORT   call a module's function on each input line, in parallel,
                      with JSON lines out (see: concurrent-futures map --help)
  demo                run the six thread-pool patterns of the seed notebook
  worker              a BullMQ worker (needs bullmq and ioredis)

options:
  -h, --help          this help
  -v, --version       the package version

examples:
  seq 1000 | concurrent-futures map ./square.mjs#square > squares.jsonl
  concurrent-futures map --input urls.txt -e async -j 20 --unordered ./fetch.mjs#status
  concurrent-futures map --dashboard --input jobs.txt ./work.mjs#run   # a live page: its URL on stderr
  concurrent-futures demo`;

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
