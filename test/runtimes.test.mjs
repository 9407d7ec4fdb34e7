// Runs the runtime suite (test/runtimes/suite.mjs) under Node, and under Deno and Bun from the binaries
// that CF_DENO and CF_BUN name (.ci/run installs both from npm and sets them), with a Redis of its own for
// the suite's BullMQ checks. A runtime whose variable is unset is skipped with the reason, unless
// CF_RUNTIMES_REQUIRED=1 (as in CI), where that fails.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { redisForTests, redisSkipReason } from './redis-server.mjs';

const suite = fileURLToPath(new URL('./runtimes/suite.mjs', import.meta.url));
const TIMEOUT = 240_000;

const runtimes = [
  { name: 'Node', binary: process.execPath, args: [suite] },
  { name: 'Deno', variable: 'CF_DENO', binary: process.env.CF_DENO, args: ['run', '-A', suite] },
  { name: 'Bun', variable: 'CF_BUN', binary: process.env.CF_BUN, args: [suite] },
];

// The suite's BullMQ checks run against this Redis (without redis-server they are skipped, loudly; under CI they fail).
const redisSkip = redisSkipReason();
const redis = redisForTests(redisSkip);

function runSuite(binary, args) {
  const env = { ...process.env, NO_COLOR: '1', ...(redis.url === undefined ? {} : { CF_REDIS_URL: redis.url }) };
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk) => (output += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output });
    });
  });
}

for (const { name, variable, binary, args } of runtimes) {
  test(`the runtime suite passes under ${name}`, { timeout: TIMEOUT + 10_000 }, async (t) => {
    if (!binary) {
      const reason = `${variable} is not set: it names the ${name} binary to test (.ci/run installs it from npm and sets it)`;
      if (process.env.CF_RUNTIMES_REQUIRED === '1') assert.fail(`${reason}; CF_RUNTIMES_REQUIRED=1 wants every runtime tested`);
      t.skip(reason);
      return;
    }
    const { code, signal, output } = await runSuite(binary, args);
    assert.equal(code, 0, `the suite under ${name} (${binary}) ended with ${signal ?? `exit code ${code}`}:\n${output}`);
    // The last line counts the checks: each runtime runs every one it should, not none.
    assert.match(output, /: (\d+) of \1 checks passed/);
    if (redisSkip) t.diagnostic(`the BullMQ checks were skipped: ${redisSkip}`);
    else assert.match(output, /^ok BullMQ: /m);
  });
}
