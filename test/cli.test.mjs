// End-to-end tests of `concurrent-futures map` and friends: the real command, spawned.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, collect, fixture, lines, runCli, split } from './cli-helpers.mjs';

const fns = fixture('cli-fns.mjs');
const T = { timeout: 60_000 };

/** A usage error: exit code 2, one line on stderr that says `what`, no stack trace. */
function assertUsageError(result, what) {
  assert.equal(result.code, 2, result.stderr);
  const errLines = split(result.stderr);
  assert.equal(errLines.length, 1, `one line expected, got:\n${result.stderr}`);
  assert.match(errLines[0], /^concurrent-futures: /);
  assert.match(errLines[0], what);
  assert.doesNotMatch(result.stderr, /^\s+at /m);
  assert.equal(result.stdout, '');
}

test('map: results in input order, one JSON line each', T, async () => {
  const result = await runCli(['map', '-j', '2', '-c', '3', `${fns}#jitter`], { input: lines(50) });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, '');
  assert.deepEqual(split(result.stdout).map(Number), Array.from({ length: 50 }, (_, i) => i + 1));
});

test('map: --format lines passes the raw line; a last line without newline counts; strings come out as JSON', T, async () => {
  const result = await runCli(['map', `${fns}#identity`], { input: 'a b\n\n "quoted"\r\nlast' });
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(split(result.stdout).map((line) => JSON.parse(line)), ['a b', '', ' "quoted"', 'last']);
});

test('map: --unordered writes results as they complete, each with its line', T, async () => {
  const result = await runCli(['map', '--unordered', '-j', '4', `${fns}#jitter`], { input: lines(60) });
  assert.equal(result.code, 0, result.stderr);
  const records = split(result.stdout).map((line) => JSON.parse(line));
  assert.equal(records.length, 60);
  for (const { line, result: value } of records) assert.equal(value, line);
  assert.deepEqual(records.map((r) => r.line).sort((a, b) => a - b), Array.from({ length: 60 }, (_, i) => i + 1));
});

test('map: --format json spreads an array into the arguments, skips blank lines, counts them in line numbers', T, async () => {
  const input = '[1, 2]\n\n{"k": true}\n   \n"s"\nnot json\n[[3], null]\n';
  const result = await runCli(['map', '--format', 'json', '-u', `${fns}#pair`], { input });
  assert.equal(result.code, 1);
  const records = split(result.stdout).map((line) => JSON.parse(line)).sort((a, b) => a.line - b.line);
  assert.deepEqual(records, [
    { line: 1, result: { a: 1, b: 2 } },
    { line: 3, result: { a: { k: true } } },
    { line: 5, result: { a: 's' } },
    { line: 7, result: { a: [3], b: null } },
  ]);
  assert.match(result.stderr, /^concurrent-futures: line 6: SyntaxError: the line is not JSON/m);
});

test('map: a failing line gives one stderr line with its number; the run goes on; exit 1', T, async () => {
  const result = await runCli(['map', '-j', '2', '-c', '2', `${fns}#failOnMultiplesOf3`], { input: lines(10) });
  assert.equal(result.code, 1);
  assert.deepEqual(split(result.stdout).map(Number), [1, 2, 4, 5, 7, 8, 10]);
  assert.deepEqual(split(result.stderr), [
    'concurrent-futures: line 3: RangeError: no multiples of 3: 3',
    'concurrent-futures: line 6: RangeError: no multiples of 3: 6',
    'concurrent-futures: line 9: RangeError: no multiples of 3: 9',
  ]);
});

test('map: an error is written once, its code in brackets only when its message does not say it', T, async () => {
  const missing = join(tmpdir(), `concurrent-futures-no-such-file-${process.pid}`);
  const read = await runCli(['map', `${fns}#readText`], { input: `${missing}\n` });
  assert.equal(read.code, 1);
  assert.equal(read.stdout, '');
  assert.deepEqual(split(read.stderr), [`concurrent-futures: line 1: Error: ENOENT: no such file or directory, open '${missing}'`]);
  const coded = await runCli(['map', `${fns}#failWithCode`], { input: 'a\n' });
  assert.deepEqual(split(coded.stderr), ['concurrent-futures: line 1: Error [E_QUOTA]: over quota: a']);
});

test('map: a BigInt is written as a JSON number with all its digits; a value JSON cannot hold fails its line, saying what to return', T, async () => {
  const input = 'bigint\nnestedBigint\nnan\nnestedInfinity\nmap\nset\nundefined\nholes\n';
  const expectedOut = [
    '18446744073709551616',
    '{"n":[1,-1180591620717411303424],"s":"null {}"}',
    'null',
    '{"b":[null],"c":null,"d":"1970-01-01T00:00:00.000Z","e":{}}',
  ];
  const expectedErr = [
    'concurrent-futures: line 3: TypeError: the call returned NaN, which JSON cannot hold: return null, or a string such as String(value)',
    'concurrent-futures: line 4: TypeError: the result holds -Infinity (at key "max"), which JSON cannot hold: return null, or a string such as String(value)',
    'concurrent-futures: line 5: TypeError: the call returned a Map, which JSON cannot hold: return Object.fromEntries(map), or [...map] for its entries',
    'concurrent-futures: line 6: TypeError: the result holds a Set (at index 1), which JSON cannot hold: return [...set]',
  ];
  for (const executor of ['thread', 'process', 'async']) {
    const result = await runCli(['map', '-e', executor, '-j', '1', `${fns}#valueOf`], { input });
    assert.equal(result.code, 1, executor);
    assert.deepEqual(split(result.stdout), expectedOut, executor);
    assert.deepEqual(split(result.stderr), expectedErr, executor);
  }
  const tagged = await runCli(['map', '-u', '-c', '4', `${fns}#valueOf`], { input: 'bigint\nundefined\n' });
  assert.equal(tagged.code, 0, tagged.stderr);
  assert.deepEqual(split(tagged.stdout).sort(), ['{"line":1,"result":18446744073709551616}', '{"line":2,"result":null}']);
});

test('map: --fail-fast stops at the first failure and cancels the rest; exit 1', T, async () => {
  const started = performance.now();
  const result = await runCli(['map', '--fail-fast', '-j', '2', `${fns}#failSecond`], { input: lines(400) });
  assert.equal(result.code, 1);
  assert.deepEqual(split(result.stderr), ['concurrent-futures: line 2: Error: second line fails']);
  // Input order: only line 1 comes before the failure.
  assert.deepEqual(split(result.stdout), ['"1"']);
  // 400 lines at 50 ms on 2 workers would take 10 s.
  assert.ok(performance.now() - started < 8_000, 'the rest was not cancelled');
});

test('map: every executor runs the function where it should (thread, process, async)', T, async () => {
  const where = await runCli(['map', '-e', 'thread', `${fns}#whereAmI`], { input: lines(2) });
  assert.deepEqual(split(where.stdout), ['"worker"', '"worker"']);
  const inline = await runCli(['map', '-e', 'async', `${fns}#whereAmI`], { input: lines(2) });
  assert.deepEqual(split(inline.stdout), ['"main"', '"main"']);
  const child = spawn(process.execPath, [CLI, 'map', '-e', 'process', '-j', '2', `${fns}#pid`], { stdio: ['pipe', 'pipe', 'pipe'] });
  const processes = await collect(child, 60_000, () => child.stdin.end(lines(6)));
  assert.equal(processes.code, 0, processes.stderr);
  const pids = new Set(split(processes.stdout).map(Number));
  assert.ok(!pids.has(child.pid), 'ran in the main process');
  assert.ok(pids.size >= 1 && pids.size <= 2);
});

test('map: the default export without #, a defineTasks task by its name, and --input FILE', T, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cf-cli-'));
  try {
    const file = join(dir, 'in.txt');
    writeFileSync(file, lines(3, 10));
    const byDefault = await runCli(['map', '--input', file, fns]);
    assert.deepEqual(split(byDefault.stdout), ['"default:10"', '"default:11"', '"default:12"']);
    const task = await runCli(['map', '--format', 'json', '-e', 'process', `${fixture('tasks.mjs')}#fib`], { input: '10\n20\n' });
    assert.equal(task.code, 0, task.stderr);
    assert.deepEqual(split(task.stdout), ['55', '6765']);
    const dotted = await runCli(['map', '--format', 'json', `${fixture('tasks.mjs')}#tasks.fib`], { input: '7\n' });
    assert.deepEqual(split(dotted.stdout), ['13']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('map: a TypeScript module runs through tsx, in worker threads too', T, async () => {
  const result = await runCli(['map', '-f', 'json', '-j', '2', `${fixture('cli-fns.ts')}#norm`], { input: '[3,4]\n[6,8]\n' });
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(split(result.stdout), ['5', '10']);
});

test('map: a TypeScript module outside a "type": "module" package runs on every executor, under tsx or not', { timeout: 180_000 }, async () => {
  // tsx compiles such a file as CommonJS; its exports must still be found by name, its imports followed.
  const dir = mkdtempSync(join(tmpdir(), 'cf-cjs-ts-'));
  try {
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'no-type', private: true }));
    writeFileSync(join(dir, 'helper.ts'), 'export const double = (n: number): number => 2 * n;\n');
    writeFileSync(
      join(dir, 'fns.ts'),
      "import { double } from './helper.js';\n" +
        'export function twice(line: string): number {\n  return double(Number(line));\n}\n' +
        'export default (line: string): number => line.length;\n',
    );
    const tsx = fileURLToPath(new URL('../node_modules/tsx/dist/cli.mjs', import.meta.url));
    for (const executor of ['thread', 'process', 'async']) {
      for (const [how, command] of [['node', [CLI]], ['tsx', [tsx, CLI]]]) {
        for (const [target, expected] of [['fns.ts#twice', ['4', '66']], ['fns.ts', ['1', '2']]]) {
          // The tsx command keeps its IPC folder in the temporary directory: let it be this test's.
          const env = { ...process.env, TMPDIR: dir };
          const child = spawn(process.execPath, [...command, 'map', '-e', executor, '-j', '2', target], { cwd: dir, env, stdio: ['pipe', 'pipe', 'pipe'] });
          const result = await collect(child, 60_000, () => child.stdin.end('2\n33\n'));
          const what = `map -e ${executor} ${target} under ${how}`;
          assert.equal(result.code, 0, `${what}: ${result.stderr}`);
          assert.equal(result.stderr, '', what);
          assert.deepEqual(split(result.stdout), expected, what);
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('map: a TypeScript module where tsx is not installed is a usage error saying so', T, async () => {
  // A copy of the package with nothing installed beside it.
  const dir = mkdtempSync(join(tmpdir(), 'cf-no-tsx-'));
  try {
    cpSync(fileURLToPath(new URL('../dist', import.meta.url)), join(dir, 'dist'), { recursive: true });
    cpSync(fileURLToPath(new URL('../package.json', import.meta.url)), join(dir, 'package.json'));
    cpSync(fixture('cli-fns.ts'), join(dir, 'fns.ts'));
    const child = spawn(process.execPath, [join(dir, 'dist', 'cli.js'), 'map', '-f', 'json', './fns.ts#norm'], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
    assertUsageError(await collect(child, 30_000, () => child.stdin.end('[3,4]\n')), /fns\.ts is TypeScript, which needs tsx: install it/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('map: --timeout fails a call that takes too long, as a TimeoutError, and the run goes on', T, async () => {
  const result = await runCli(['map', '-j', '2', '--timeout', '300', `${fns}#sleepMs`], { input: '10\n5000\n20\n' });
  assert.equal(result.code, 1);
  assert.deepEqual(split(result.stdout), ['10', '20']);
  assert.match(result.stderr, /^concurrent-futures: line 2: TimeoutError: the call took longer than 300 ms$/m);
});

test('map: --timeout stops a worker that a call blocks', T, async () => {
  const started = performance.now();
  const result = await runCli(['map', '-j', '1', '--timeout', '200', `${fns}#spin`], { input: '20000\n5\n' });
  assert.equal(result.code, 1);
  assert.deepEqual(split(result.stdout), ['5']);
  assert.match(result.stderr, /line 1: TimeoutError: .*blocked its worker/);
  assert.ok(performance.now() - started < 15_000, 'the blocked worker was not stopped');
});

test('map: usage errors are one line and exit 2 (missing module, missing export, not a function, bad flags)', T, async () => {
  assertUsageError(await runCli(['map', fixture('no-such-module.mjs') + '#f']), /cannot find module/);
  assertUsageError(await runCli(['map', `${fns}#nope`]), /has no export 'nope' \(it exports: .*identity/);
  assertUsageError(await runCli(['map', `${fns}#notAFunction`]), /'notAFunction' .* is not a function \(it is a number\)/);
  assertUsageError(await runCli(['map', '--frobnicate', `${fns}#identity`]), /Unknown option '--frobnicate'/);
  assertUsageError(await runCli(['map', '-j', 'many', `${fns}#identity`]), /--workers must be a positive integer, got 'many'/);
  assertUsageError(await runCli(['map', '--executor', 'fiber', `${fns}#identity`]), /--executor must be thread, process or async/);
  assertUsageError(await runCli(['map']), /MODULE#EXPORT/);
  assertUsageError(await runCli(['map', '--input', '/no/such/file', `${fns}#identity`]), /cannot read --input/);
  assertUsageError(await runCli(['map', fixture('broken-module.mjs') + '#x']), /cannot load module/);
  assertUsageError(await runCli(['frobnicate']), /unknown command 'frobnicate'/);
});

test('map: a module that loads here but not in a worker is one error, exit 2', T, async () => {
  const result = await runCli(['map', `${fixture('cli-worker-only-fails.mjs')}#identity`], { input: lines(20) });
  assertUsageError(result, /cannot load .* in a worker: Error: this module refuses to load in a worker/);
});

test('map: Ctrl-C stops the workers, keeps what was written, exits 130', T, async () => {
  const child = spawn(process.execPath, [CLI, 'map', '-j', '2', `${fns}#slow`], { stdio: ['pipe', 'pipe', 'pipe'] });
  let firstOutput;
  const seen = new Promise((resolve) => (firstOutput = resolve));
  child.stdout.once('data', () => firstOutput());
  const done = collect(child, 30_000, () => child.stdin.end(lines(2000)));
  await seen;
  const interruptedAt = performance.now();
  child.kill('SIGINT');
  const result = await done;
  assert.equal(result.code, 130, result.stderr);
  assert.ok(performance.now() - interruptedAt < 5_000, 'it took too long to stop');
  const out = split(result.stdout).map(Number);
  assert.ok(out.length > 0 && out.length < 2000);
  // What was written is the beginning of the results, in order, whole lines.
  assert.deepEqual(out, Array.from({ length: out.length }, (_, i) => i + 1));
  assert.ok(result.stdout.endsWith('\n'));
  assert.doesNotMatch(result.stderr, /Error|at /);
});

test('map: Ctrl-C ends the run at once even while a task ignores its signal; more Ctrl-C while it stops are no error, exit 130', T, async () => {
  // sleepMs on the async executor cannot be stopped: the command must not wait for it.
  const child = spawn(process.execPath, [CLI, 'map', '-e', 'async', `${fns}#sleepMs`], { stdio: ['pipe', 'pipe', 'pipe'] });
  // The first line's result says the run has begun (a loaded machine can take over a second to get there).
  const begun = new Promise((resolve) => child.stdout.once('data', resolve));
  const done = collect(child, 30_000, () => child.stdin.end('1\n20000\n20000\n'));
  await begun;
  await new Promise((resolve) => setTimeout(resolve, 200));
  const interruptedAt = performance.now();
  child.kill('SIGINT');
  // A user leaning on Ctrl-C: every press until the process is gone, the last ones while it is leaving.
  const presses = setInterval(() => child.exitCode === null && child.signalCode === null && child.kill('SIGINT'), 2);
  const result = await done.finally(() => clearInterval(presses));
  assert.equal(result.code, 130, `ended by ${result.signal ?? 'its exit code'}: ${result.stderr}`);
  assert.ok(performance.now() - interruptedAt < 3000, 'it exits at once, not after the 20 s task');
  assert.doesNotMatch(result.stderr, /Error|at /);
});

test('map: a reader that closes early (| head -5) ends an endless run cleanly: exit 0, no EPIPE', T, async () => {
  const child = spawn(process.execPath, [CLI, 'map', '-c', '16', `${fns}#square`], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  // An endless stdin, written as fast as the command takes it.
  let n = 0;
  let feeding = true;
  child.stdin.on('error', () => (feeding = false));
  const feed = () => {
    while (feeding && child.stdin.write(`${++n}\n`));
    if (feeding) child.stdin.once('drain', feed);
  };
  feed();
  let received = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    received += chunk;
    if (split(received).length >= 5) child.stdout.destroy();
  });
  const code = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('did not exit after its reader closed')), 30_000);
    child.on('exit', (exitCode) => {
      clearTimeout(timer);
      resolve(exitCode);
    });
  });
  feeding = false;
  child.stdin.destroy();
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, /EPIPE|Error/);
  assert.deepEqual(split(received).slice(0, 5), ['1', '4', '9', '16', '25']);
});

test('map: an endless stdin is read only as fast as the work goes (bounded buffer)', T, async () => {
  const child = spawn(process.execPath, [CLI, 'map', '-j', '1', '--buffersize', '64', `${fns}#slow`], { stdio: ['pipe', 'pipe', 'pipe'] });
  let written = 0;
  let feeding = true;
  child.stdin.on('error', () => (feeding = false));
  const feed = () => {
    while (feeding && child.stdin.write(`${++written}\n`));
    if (feeding) child.stdin.once('drain', feed);
  };
  feed();
  const done = collect(child, 30_000);
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  feeding = false;
  const accepted = written;
  child.kill('SIGINT');
  const result = await done;
  assert.equal(result.code, 130, result.stderr);
  // At 40 ms a line, 2 s is ~50 lines; what sits in pipes and the reader's chunk is a few ten thousand lines
  // at most. A reader that did not wait for the work would have taken millions.
  assert.ok(accepted < 200_000, `${accepted} lines were taken in 2 s`);
  assert.ok(split(result.stdout).length < 100);
});

test('map: --progress writes plain progress lines on a stderr that is no terminal; none without it', T, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cf-cli-'));
  try {
    const file = join(dir, 'in.txt');
    writeFileSync(file, lines(30));
    const quiet = await runCli(['map', '--input', file, `${fns}#identity`]);
    assert.equal(quiet.stderr, '');
    const shown = await runCli(['map', '--progress', '--input', file, `${fns}#identity`]);
    assert.equal(shown.code, 0);
    assert.match(split(shown.stderr).at(-1), /^identity 30\/30 100% \| .*\/s \| ETA 0:00$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('map: --progress shows the share a running call reports with reportProgress()', T, async () => {
  const shown = await runCli(['map', '--progress', `${fns}#halfway`], { input: 'only\n' });
  assert.equal(shown.code, 0, shown.stderr);
  assert.equal(shown.stdout, '"only"\n');
  assert.ok(split(shown.stderr).some((line) => /^halfway 0 done \| .* \| running: 50%$/.test(line)), shown.stderr);
  assert.match(split(shown.stderr).at(-1), /^halfway 1 done \| /);
});

test('--help, map --help, --version, worker without BullMQ', T, async () => {
  const help = await runCli(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /usage: concurrent-futures <command>/);
  assert.match(help.stdout, /map MODULE#EXPORT/);
  const mapHelp = await runCli(['map', '--help']);
  assert.equal(mapHelp.code, 0);
  assert.match(mapHelp.stdout, /--unordered/);
  assert.match(mapHelp.stdout, /examples:\n\s+seq 100 \| concurrent-futures map/);
  const version = await runCli(['--version']);
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  assert.equal(version.stdout, `${pkg.version}\n`);
  // bullmq and ioredis are installed here (dev dependencies): the worker command is there, and says what is missing.
  assertUsageError(await runCli(['worker', '--redis', 'redis://127.0.0.1:1', '--queue', 'q']), /worker: give at least one task MODULE/);
});

test('demo runs the six patterns', T, async () => {
  const result = await runCli(['demo']);
  assert.equal(result.code, 0, result.stderr);
  for (const heading of ['## Map and Wait', '## Submit and Use As Completed', 'All tasks are done!']) assert.ok(result.stdout.includes(heading), heading);
});
