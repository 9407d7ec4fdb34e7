// Preloaded (--import) by test/run.mjs into the process of each test file. A file whose tests have
// all ended but whose process stays alive (a handle left referenced), or a test that never ends, would
// hang the whole run: either ends the file's process, failed, with a message naming the file (and the
// test), so that the other files still run and the summary is printed. Its timers are unreferenced:
// they fire only while something else holds the process. CF_TEST_LINGER_MS (default 10 s) and
// CF_TEST_HANG_MS (default 10 min, above any test's own timeout here) set the limits.
import { isMainThread } from 'node:worker_threads';
import { relative, resolve } from 'node:path';

const files = JSON.parse(process.env.CF_TEST_FILES ?? '[]');
const file = process.argv[1] === undefined ? '' : resolve(process.argv[1]);
// Not in the runner itself, nor in the threads and children that tests start with this process's flags.
if (isMainThread && process.env.NODE_TEST_CONTEXT?.startsWith('child') && files.includes(file)) {
  const { after, afterEach, beforeEach } = await import('node:test');
  const linger = Number(process.env.CF_TEST_LINGER_MS ?? 10_000);
  const hang = Number(process.env.CF_TEST_HANG_MS ?? 600_000);
  const name = relative(process.cwd(), file);
  const stop = (why) => {
    process.stderr.write(`\n!!! ${name}: ${why}; its process is ended, failed\n`);
    process.exit(1);
  };
  const running = new Map();
  let idle = null;
  const lingering = (ms) => {
    clearTimeout(idle);
    idle = setTimeout(() => {
      const held = process.getActiveResourcesInfo().filter((type) => type !== 'TTYWrap');
      stop(`its tests have ended, but ${ms} ms later its process is still alive (active: ${held.join(', ')})`);
    }, ms).unref();
  };
  beforeEach((t) => {
    clearTimeout(idle);
    running.set(t, setTimeout(() => stop(`the test "${t.name}" has run for ${hang} ms without ending`), hang).unref());
  });
  afterEach((t) => {
    clearTimeout(running.get(t));
    running.delete(t);
    // Should a runner not call the root's after() while the process is held: some time with no test running.
    if (running.size === 0) lingering(Math.max(linger, 60_000));
  });
  after(() => lingering(linger));
}
