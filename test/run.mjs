// Runs the test files given (`npm test`: test/*.test.mjs) one at a time with the
// quiet reporter, each in a private temporary directory, then fails the run if
// any test left a file or folder there. A file whose process outlives its tests,
// or a test that never ends, fails alone (watchdog.mjs): the run goes on.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node test/run.mjs FILE.test.mjs...');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'cf-test-run-'));
let status;
try {
  const run = spawnSync(
    process.execPath,
    [
      `--import=${new URL('./watchdog.mjs', import.meta.url).href}`, '--test', '--test-concurrency=1',
      `--test-reporter=${fileURLToPath(new URL('./reporter.mjs', import.meta.url))}`, '--test-reporter-destination=stdout', ...files,
    ],
    // TMPDIR is what os.tmpdir() reads; tsx's cache would otherwise count as something left behind.
    // CF_TEST_FILES tells the watchdog which processes are the test files' own.
    { stdio: 'inherit', env: { ...process.env, TMPDIR: dir, TSX_DISABLE_CACHE: '1', CF_TEST_FILES: JSON.stringify(files.map((f) => resolve(f))) } },
  );
  status = run.status ?? 1;
  const left = readdirSync(dir);
  if (left.length > 0) {
    console.error(`the tests left ${left.length} entries in the temporary directory: ${left.join(', ')}`);
    status = 1;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(status);
