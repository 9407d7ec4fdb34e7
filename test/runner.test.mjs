// `npm test` itself: quiet when tests pass, complete when one fails, and strict
// about what tests leave in the temporary directory.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const runner = fileURLToPath(new URL('./run.mjs', import.meta.url));
const fixture = (name) => fileURLToPath(new URL(`./fixtures/runner/${name}.mjs`, import.meta.url));

function runTests(...names) {
  return runTestsWith({}, ...names);
}

function runTestsWith(extraEnv, ...names) {
  // Without NODE_TEST_CONTEXT, the inner runner reports as at top level, not to this one.
  const { CF_TEST_OUTPUT, NODE_TEST_CONTEXT, CF_TEST_FILES, ...env } = process.env;
  return spawnSync(process.execPath, [runner, ...names.map(fixture)], { encoding: 'utf8', timeout: 60_000, env: { ...env, ...extraEnv } });
}

test('passing tests print dots and the summary, not the output they provoke on purpose', { timeout: 60_000 }, () => {
  const out = runTests('noisy');
  assert.equal(out.status, 0, out.stdout + out.stderr);
  assert.doesNotMatch(out.stdout + out.stderr, /planted trace/);
  assert.match(out.stdout, /^\.\n/);
  assert.match(out.stdout, /ℹ tests 1\n/);
  assert.match(out.stdout, /\n1 passed, 0 failed, 0 skipped\n$/);
});

test('a failure is shown in full, with the output of its file', { timeout: 60_000 }, () => {
  const out = runTests('noisy', 'failing');
  assert.equal(out.status, 1);
  assert.match(out.stdout, /✖ a failing test \(.*failing\.mjs:5\)/);
  assert.match(out.stdout, /2 !== 3/);
  assert.match(out.stdout, /context the failure needs/);
  // Named once more after everything else, so that a log cut to its tail still says which test failed.
  assert.match(out.stdout, /\nfailed: a failing test \(.*failing\.mjs:5\): [^\n]*2 !== 3[^\n]*\nℹ tests 2\n/);
  assert.match(out.stdout, /\n1 passed, 1 failed, 0 skipped\n$/);
});

test('a test that leaves something in the temporary directory fails the run, naming it', { timeout: 60_000 }, () => {
  const out = runTests('litter');
  assert.equal(out.status, 1);
  assert.match(out.stdout, /1 passed, 0 failed/);
  assert.match(out.stderr, /the tests left 1 entries in the temporary directory: forgotten-/);
});

test('a file whose process outlives its tests, and a test that never ends, fail the run alone, named; the other files still run and report', { timeout: 60_000 }, () => {
  const out = runTestsWith({ CF_TEST_LINGER_MS: '1000', CF_TEST_HANG_MS: '2000' }, 'hangs-after', 'hangs-forever', 'noisy');
  assert.equal(out.error, undefined, `the run itself hung: ${out.error}`);
  assert.equal(out.status, 1, out.stdout + out.stderr);
  assert.match(out.stdout, /✖ .*hangs-after\.mjs/);
  assert.match(out.stdout, /hangs-after\.mjs: its tests have ended, but 1000 ms later its process is still alive \(active: .*Timeout/);
  assert.match(out.stdout, /✖ .*hangs-forever\.mjs/);
  assert.match(out.stdout, /hangs-forever\.mjs: the test "a test that never ends" has run for 2000 ms without ending/);
  const tail = out.stdout.slice(out.stdout.lastIndexOf('\n--- output of'));
  assert.equal(tail.match(/^failed: .*hangs-(after|forever)\.mjs/gm)?.length, 2, tail);
  // The passing tests, those of the held files and the file after them, are counted; the summary is printed.
  assert.match(out.stdout, /ℹ pass 3\n/);
  assert.match(out.stdout, /\n3 passed, 2 failed, 0 skipped\n$/);
});
