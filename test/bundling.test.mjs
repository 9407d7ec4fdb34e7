// Bundled programs run their pools. The program in test/fixtures/bundle-app (thread and process
// pools, inline functions, two defineTasks modules, map with chunksize, an initializer, the dashboard) is bundled
// by esbuild, rollup and webpack with the README's configs ("Bundling"), into ES module and
// CommonJS files; the project is then deleted and each output file, copied alone into an empty
// folder (no node_modules), is run there.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { rollup } from 'rollup';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import webpack from 'webpack';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixture = join(root, 'test', 'fixtures', 'bundle-app');

const STARTED = 'the program started';
const APP_RESULTS = {
  threadInline: 42,
  processInline: 42,
  threadTask: 832040,
  processTask: 75025,
  sameKey: ['tasks:a', 'more:b'],
  threadMap: [1, 4, 9, 16, 25],
  processMap: [1, 8, 27, 64],
  inlineMap: [9, 19, 29],
  initialized: ['thread', 'process'],
  otherProcess: true,
  dashboard: { threadSquares: 5, procCubes: 4, page: true },
};
const TLA_RESULTS = { threadInline: 42, threadTask: 832040, processTask: 75025, afterAwait: [15, 21] };

let work;
let project;
/** Output files by name, in `work/out`: `{ file, warnings }`. */
const outputs = new Map();

/** A project as a user has one: the program, and the package installed in node_modules (copied: nothing may link back). */
function makeProject(dir) {
  cpSync(fixture, dir, { recursive: true });
  const installed = join(dir, 'node_modules', 'concurrent-futures');
  mkdirSync(installed, { recursive: true });
  cpSync(join(root, 'dist'), join(installed, 'dist'), { recursive: true });
  cpSync(join(root, 'package.json'), join(installed, 'package.json'));
  return installed;
}

async function buildEsbuild(entry, format, file) {
  const outfile = join(work, 'out', file);
  const result = await esbuild.build({
    absWorkingDir: project,
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format,
    outfile,
    logLevel: 'silent',
  });
  outputs.set(`esbuild ${format} ${entry}`, { file: outfile, warnings: result.warnings.map((w) => w.id) });
}

async function buildRollup(entry, format, file) {
  const warnings = [];
  const bundle = await rollup({ input: join(project, entry), plugins: [nodeResolve()], onwarn: (w) => warnings.push(w.code) });
  const outfile = join(work, 'out', file);
  await bundle.write({ file: outfile, format });
  await bundle.close();
  outputs.set(`rollup ${format} ${entry}`, { file: outfile, warnings });
}

function webpackConfig(entry, esm, file) {
  return {
    context: project,
    mode: 'production',
    target: 'node',
    entry: `./${entry}`,
    output: { path: join(work, 'out'), filename: file, ...(esm ? { module: true } : {}) },
    ...(esm ? { experiments: { outputModule: true } } : {}),
  };
}

function buildWebpack(builds) {
  return new Promise((resolve, reject) => {
    const compiler = webpack(builds.map(([entry, esm, file]) => webpackConfig(entry, esm, file)));
    compiler.run((error, stats) => {
      compiler.close(() => {});
      if (error) return reject(error);
      stats.stats.forEach((s, i) => {
        const [entry, esm, file] = builds[i];
        if (s.hasErrors()) return reject(new Error(s.toString({ all: false, errors: true })));
        outputs.set(`webpack ${esm ? 'esm' : 'cjs'} ${entry}`, { file: join(work, 'out', file), warnings: s.compilation.warnings.map((w) => w.message) });
      });
      resolve();
    });
  });
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'cf-bundling-'));
  project = join(work, 'project');
  makeProject(project);
  await Promise.all([
    buildEsbuild('app.mjs', 'esm', 'esbuild-app.mjs'),
    buildEsbuild('app.mjs', 'cjs', 'esbuild-app.cjs'),
    buildEsbuild('tla-app.mjs', 'esm', 'esbuild-tla.mjs'),
    buildEsbuild('late-app.mjs', 'esm', 'esbuild-late.mjs'),
    buildEsbuild('tail-app.mjs', 'esm', 'esbuild-tail.mjs'),
    buildRollup('app.mjs', 'es', 'rollup-app.mjs'),
    buildRollup('app.mjs', 'cjs', 'rollup-app.cjs'),
    buildRollup('tla-app.mjs', 'es', 'rollup-tla.mjs'),
  ]);
  await buildWebpack([
    ['app.mjs', true, 'webpack-app.mjs'],
    ['app.mjs', false, 'webpack-app.cjs'],
    ['tla-app.mjs', true, 'webpack-tla.mjs'],
  ]);
  // Nothing a bundle names may be there when it runs: not the sources, not the installed package.
  rmSync(project, { recursive: true, force: true });
});

after(() => rmSync(work, { recursive: true, force: true }));

/** Runs an output file copied alone into an empty folder. */
function runAlone(name) {
  const { file } = outputs.get(name);
  const dir = join(work, `run-${basename(file).replace(/\W/g, '-')}`);
  mkdirSync(dir);
  cpSync(file, join(dir, basename(file)));
  const out = spawnSync(process.execPath, [basename(file)], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
  if (out.error) throw out.error;
  return out;
}

function expectRun(name, results) {
  const out = runAlone(name);
  assert.equal(out.stderr, '', `${name}: nothing on stderr`);
  assert.equal(out.status, 0, `${name} exited with ${out.status}:\n${out.stdout}`);
  const lines = out.stdout.trim().split('\n');
  // Once: the workers, started from the bundle, never ran the program's own code.
  assert.deepEqual(lines.slice(0, -1), [STARTED], `${name}: the program ran once`);
  assert.deepEqual(JSON.parse(lines.at(-1)), results, name);
}

for (const [bundler, formats] of [
  ['esbuild', ['esm', 'cjs']],
  ['rollup', ['es', 'cjs']],
  ['webpack', ['esm', 'cjs']],
]) {
  for (const format of formats) {
    test(`${bundler} (${format}): the bundle alone runs thread and process pools, inline and defineTasks functions, map`, () => {
      expectRun(`${bundler} ${format} app.mjs`, APP_RESULTS);
    });
  }
  const esm = formats[0];
  test(`${bundler} (${esm}): a program of top-level awaits (one in a task module's import too), bundled, runs its pools`, () => {
    expectRun(`${bundler} ${esm} tla-app.mjs`, TLA_RESULTS);
  });
}

test('the bundlers build the package without a warning of its own', () => {
  for (const [name, { warnings }] of outputs) {
    // esbuild's CommonJS output empties import.meta (the fixture's own defineTasks calls use it): expected, harmless.
    const own = warnings.filter((w) => !(name.startsWith('esbuild cjs') && w === 'empty-import-meta'));
    assert.deepEqual(own, [], name);
  }
});

test('a task module imported only once the bundle runs fails at submit, saying why and pointing to "Bundling"', () => {
  const out = runAlone('esbuild esm late-app.mjs');
  assert.equal(out.status, 0, out.stderr);
  const results = JSON.parse(out.stdout);
  assert.equal(results.inline, 2);
  assert.match(results.late, /^TypeError: task 'fib' was defined after the bundle .* had loaded/);
  assert.match(results.late, /Import the task module statically/);
  assert.match(results.late, /see "Bundling" in the README/);
});

test('the last task module: its functions work by their own names; through the object defineTasks returns, the error says why', () => {
  const out = runAlone('esbuild esm tail-app.mjs');
  assert.equal(out.status, 0, out.stderr);
  const results = JSON.parse(out.stdout);
  assert.equal(results.byName, 42);
  assert.match(results.viaObject, /^TypeError: .*\(in a worker started from the bundle, which stopped loading it inside this module's defineTasks\(\) call/);
  assert.match(results.viaObject, /Have task functions use each other by their own names; see "Bundling" in the README/);
});

test('a task module merged into an entry that leaves the package outside: the error says what to do in a bundle', async () => {
  const dir = join(work, 'external');
  makeProject(dir);
  await esbuild.build({ absWorkingDir: dir, entryPoints: ['app.mjs'], bundle: true, packages: 'external', platform: 'node', format: 'esm', outfile: join(dir, 'out.mjs'), logLevel: 'silent' });
  const out = spawnSync(process.execPath, ['out.mjs'], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
  assert.equal(out.status, 1);
  assert.match(out.stderr, /TypeError: task 'initialize' is defined in the program's entry module .*out\.mjs/);
  assert.match(out.stderr, /bundle concurrent-futures into it too; see "Bundling" in the README/);
});

test('worker entry files missing from the package: each pool breaks, saying so once, with a reason and no made-up exit code', () => {
  const dir = join(work, 'partial');
  const installed = makeProject(dir);
  rmSync(join(installed, 'dist', 'thread', 'worker.js'));
  rmSync(join(installed, 'dist', 'process', 'child.js'));
  const out = spawnSync(process.execPath, ['missing-entry.mjs'], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
  assert.equal(out.status, 0, out.stderr);
  const errors = out.stdout.trim().split('\n').map((line) => JSON.parse(line));
  assert.deepEqual(errors.map((e) => e.name), ['BrokenThreadPoolError', 'BrokenProcessPoolError']);
  for (const [e, file] of [[errors[0], join('thread', 'worker.js')], [errors[1], join('process', 'child.js')]]) {
    assert.match(e.message, /could not be started/);
    assert.ok(e.message.includes(`the worker entry file ${join(installed, 'dist', file)} is missing`), e.message);
    assert.match(e.message, /see "Bundling" in the README/);
    assert.match(e.reason, /is missing/);
    assert.equal(e.exitCode, null, 'no worker ran, so none exited');
    // Reported once on stderr, and Node printed nothing of its own (no child tried to start).
    assert.equal(out.stderr.split(e.message).length - 1, 1, out.stderr);
  }
  assert.doesNotMatch(out.stderr, /Cannot find module/);
});
