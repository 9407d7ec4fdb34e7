// What a user gets from npm: the packed tarball, installed offline into a fresh
// strict TypeScript project, type-checked with skipLibCheck off under the oldest
// and newest TypeScript the package supports, and run, with the README's examples.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { redisForTests, redisSkipReason } from './redis-server.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const modules = join(root, 'node_modules');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const REPO_URL = 'https://github.com/concurrent-futures/concurrent-futures';

/** The TypeScript versions the package supports, oldest to newest (README: "TypeScript 5.2 to 7"). */
const TYPESCRIPTS = [
  { name: 'oldest', dir: 'typescript-5.2', version: /^Version 5\.2\./ },
  { name: 'the build\'s', dir: 'typescript', version: /^Version 5\./ },
  { name: 'newest', dir: 'typescript-7', version: /^Version 7\./ },
];

let work;
let app;
let installed;
let packedFiles;

function run(command, args, options = {}) {
  // The tsx command keeps its IPC folder in the temporary directory: let it be ours, removed after.
  const env = { ...process.env, TMPDIR: work };
  const out = spawnSync(command, args, { encoding: 'utf8', timeout: 120_000, env, ...options });
  if (out.error) throw out.error;
  return out;
}

function runOk(command, args, options) {
  const out = run(command, args, options);
  assert.equal(out.status, 0, `${command} ${args.join(' ')} failed:\n${out.stdout}\n${out.stderr}`);
  return out;
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'cf-package-'));
  // npm test has just built dist/; packing must not rebuild (prepack) nor reach the network.
  const packed = runOk('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: root });
  const [info] = JSON.parse(packed.stdout);
  packedFiles = info.files.map((f) => f.path);
  app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  runOk('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', join(work, info.filename)], { cwd: app });
  installed = join(app, 'node_modules', 'concurrent-futures');
  // A user's project has @types/node: lend it ours (TypeScript follows the link to its dependencies).
  mkdirSync(join(app, 'node_modules', '@types'));
  symlinkSync(join(modules, '@types', 'node'), join(app, 'node_modules', '@types', 'node'), 'dir');
  // And the optional peers that concurrent-futures/bullmq and /progress name in their types.
  for (const peer of ['bullmq', 'ioredis', 'cli-progress', join('@types', 'cli-progress')]) {
    symlinkSync(join(modules, peer), join(app, 'node_modules', peer), 'dir');
  }
  cpSync(join(root, 'test', 'consumer'), app, { recursive: true });
  cpSync(join(root, 'examples', 'getting-started'), join(app, 'getting-started'), { recursive: true });
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the tarball holds what a user needs and nothing else', { timeout: 30_000 }, () => {
  for (const file of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'dist/index.js', 'dist/index.d.ts', 'dist/cli.js']) {
    assert.ok(packedFiles.includes(file), `${file} is in the tarball`);
  }
  assert.deepEqual(packedFiles.filter((f) => /^(test|bench|examples|node_modules|docs)\//.test(f)), []);
  assert.match(readFileSync(join(installed, 'LICENSE'), 'utf8'), /^MIT License/);
  assert.equal(pkg.license, 'MIT');
  assert.equal(pkg.repository.url, `git+${REPO_URL}.git`);
  assert.equal(pkg.homepage, `${REPO_URL}#readme`);
  assert.equal(pkg.bugs.url, `${REPO_URL}/issues`);
});

test('installing the package runs no script of its own, so npm has nothing to warn about', { timeout: 120_000 }, () => {
  for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) {
    assert.equal(pkg.scripts[hook], undefined, `package.json has no "${hook}" script: npm would run it on install (or warn that it did not)`);
  }
  // Packing (npm pack, npm publish) is what builds dist/; so do the scripts a contributor runs first.
  assert.equal(pkg.scripts.prepack, 'npm run build');
  for (const script of ['test', 'demo', 'bench']) assert.match(pkg.scripts[script], /^npm run build --silent && /);
  // As a user installs it: scripts allowed, where npm 11 warns about any install-time script it does not run.
  const quiet = join(work, 'quiet-install');
  mkdirSync(quiet);
  writeFileSync(join(quiet, 'package.json'), JSON.stringify({ name: 'quiet', private: true, type: 'module' }));
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  const out = runOk('npm', ['install', '--offline', '--no-audit', '--no-fund', '--no-package-lock', join(work, tarball)], { cwd: quiet });
  assert.doesNotMatch(out.stderr, /concurrent-futures|install-scripts|prepare/, `npm install printed:\n${out.stderr}`);
  assert.ok(existsSync(join(quiet, 'node_modules', 'concurrent-futures', 'dist', 'index.js')), 'the install ships dist/, built at pack time');
});

test('every source map in the tarball points at sources that ship with it', { timeout: 30_000 }, () => {
  const maps = packedFiles.filter((f) => f.endsWith('.map'));
  assert.ok(maps.length > 10, 'the package ships its source maps');
  for (const map of maps) {
    const { sources } = JSON.parse(readFileSync(join(installed, map), 'utf8'));
    for (const source of sources) {
      const target = relative(installed, resolve(installed, dirname(map), source));
      assert.ok(packedFiles.includes(target), `${map} points at ${target}, which is not in the tarball`);
    }
  }
});

test('README links work on the npm page: relative ones name shipped files, GitHub ones name files of this repository', { timeout: 30_000 }, () => {
  const readme = readFileSync(join(installed, 'README.md'), 'utf8');
  const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]);
  assert.ok(links.length > 0);
  for (const link of links) {
    if (link.startsWith(`${REPO_URL}/blob/main/`) || link.startsWith(`${REPO_URL}/tree/main/`)) {
      const path = link.slice(`${REPO_URL}/blob/main/`.length).split('#')[0];
      assert.ok(existsSync(join(root, path)), `${link} names ${path}, which is not in the repository`);
    } else if (/^https?:\/\//.test(link) || link.startsWith('#')) {
      continue;
    } else {
      assert.ok(packedFiles.includes(link.split('#')[0]), `README links to ${link}, which is not in the tarball`);
    }
  }
});

test('the public declarations name nothing marked @internal, nor any underscored member', () => {
  const internal = new Set();
  const pattern = /\/\*\*(?:(?!\*\/)[^])*@internal(?:(?!\*\/)[^])*\*\/\s*export (?:abstract )?(?:interface|type|class|function|const|let) (\w+)/g;
  for (const file of packedFiles.filter((f) => f.startsWith('src/') && f.endsWith('.ts'))) {
    for (const match of readFileSync(join(installed, file), 'utf8').matchAll(pattern)) internal.add(match[1]);
  }
  assert.ok(internal.has('FutureOwner') && internal.has('PoolOptions'), `found the internal names: ${[...internal].join(', ')}`);
  // The declarations a user's program reads: index.d.ts and what it imports, transitively.
  const reachable = new Set(['dist/index.d.ts']);
  for (const file of reachable) {
    for (const m of readFileSync(join(installed, file), 'utf8').matchAll(/(?:from |import\()'(\.[^']+)\.js'/g)) {
      reachable.add(relative(installed, resolve(installed, dirname(file), `${m[1]}.d.ts`)));
    }
  }
  assert.ok(reachable.has('dist/pool/worker-pool.d.ts'));
  for (const file of reachable) {
    // Code only: a name in a comment or a string literal (`'PENDING'`) is no reference.
    const text = readFileSync(join(installed, file), 'utf8').replace(/\/\*[^]*?\*\/|\/\/.*|'[^']*'|"[^"]*"/g, '');
    for (const name of internal) assert.doesNotMatch(text, new RegExp(`\\b${name}\\b`), `${file} names the internal ${name}`);
    assert.doesNotMatch(text, /^\s*(?:(?:public|protected|readonly|static|abstract) )*_\w+/m, `${file} declares an underscored member`);
  }
});

test('package-lock.json is in step with package.json (npm install changes nothing)', () => {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  const top = lock.packages[''];
  assert.equal(lock.name, pkg.name);
  assert.equal(lock.version, pkg.version);
  for (const field of ['name', 'version', 'license', 'dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies', 'engines']) {
    assert.deepEqual(top[field], pkg[field], `package-lock.json's ${field} matches package.json`);
  }
  const bin = Object.fromEntries(Object.entries(pkg.bin ?? {}).map(([k, v]) => [k, v.replace(/^\.\//, '')]));
  assert.deepEqual(top.bin, bin);
  for (const name of Object.keys(pkg.devDependencies)) assert.ok(lock.packages[`node_modules/${name}`], `${name} is locked`);
});

test('the consumer program uses every export of the package', () => {
  const index = readFileSync(join(installed, 'dist', 'index.d.ts'), 'utf8');
  const names = [...index.matchAll(/export (?:type )?\{([^}]*)\}/g)]
    .flatMap((m) => m[1].split(','))
    .map((s) => s.trim().replace(/^type\s+/, ''))
    .filter(Boolean);
  assert.ok(names.length >= 25, `found the exports: ${names.join(', ')}`);
  const source = readFileSync(join(root, 'test', 'consumer', 'app.ts'), 'utf8') + readFileSync(join(root, 'test', 'consumer', 'tasks.ts'), 'utf8');
  const unused = names.filter((name) => !new RegExp(`\\b${name}\\b[^]*\\b${name}\\b`).test(source));
  assert.deepEqual(unused, [], 'each export is imported and used');
});

for (const ts of TYPESCRIPTS) {
  test(`the shipped types compile in a strict nodenext project with skipLibCheck off, TypeScript ${ts.name}`, { timeout: 120_000 }, () => {
    const tsc = join(modules, ts.dir, 'bin', 'tsc');
    assert.match(runOk(process.execPath, [tsc, '--version']).stdout, ts.version);
    const config = JSON.parse(readFileSync(join(app, 'tsconfig.json'), 'utf8'));
    assert.equal(config.compilerOptions.strict, true);
    assert.equal(config.compilerOptions.skipLibCheck, undefined, 'skipLibCheck stays at its default, false');
    const out = run(process.execPath, [tsc, '-p', app, '--listFiles'], { cwd: app });
    assert.equal(out.status, 0, out.stdout + out.stderr);
    assert.match(out.stdout, /node_modules\/concurrent-futures\/dist\/pool\/worker-pool\.d\.ts/, 'the library\'s declarations were checked');
  });
}

test('the consumer program runs under tsx', { timeout: 120_000 }, () => {
  const out = runOk(process.execPath, [join(modules, 'tsx', 'dist', 'cli.mjs'), 'app.ts'], { cwd: app });
  assert.equal(out.stdout.trim(), 'consumer ok');
});

const EXAMPLE_OUTPUT = 'fib(30) = 832040\n55\n6765\n75025\n';

test('README getting started, TypeScript: main.ts runs under tsx', { timeout: 120_000 }, () => {
  const out = runOk(process.execPath, [join(modules, 'tsx', 'dist', 'cli.mjs'), 'main.ts'], { cwd: join(app, 'getting-started') });
  assert.equal(out.stdout, EXAMPLE_OUTPUT);
});

test('README getting started, JavaScript: main.mjs runs on plain Node', { timeout: 120_000 }, () => {
  const out = runOk(process.execPath, ['main.mjs'], { cwd: join(app, 'getting-started') });
  assert.equal(out.stdout, EXAMPLE_OUTPUT);
});

test('the README shows the getting-started examples exactly as they run here', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const dir = join(root, 'examples', 'getting-started');
  const files = readdirSync(dir);
  assert.deepEqual(files.sort(), ['main.mjs', 'main.ts', 'tasks.mjs', 'tasks.ts']);
  for (const file of files) {
    const lang = file.endsWith('.ts') ? 'ts' : 'js';
    const block = '```' + lang + '\n' + readFileSync(join(dir, file), 'utf8') + '```\n';
    assert.ok(readme.includes(block), `README shows examples/getting-started/${file} verbatim`);
  }
  const start = readme.indexOf('## Getting started');
  assert.ok(start > 0 && start < readme.indexOf('## Set-up'), 'Getting started comes before the contributor set-up');
  assert.ok(readme.includes('npm install concurrent-futures'));
});

// The installed package under Deno and Bun, from the binaries that CF_DENO and CF_BUN name (.ci/run sets them;
// test/runtimes.test.mjs runs the whole runtime suite under both), with exactly the command lines README "Runtimes" gives.
const PROCESS_PROGRAM = `import { ProcessPoolExecutor } from 'concurrent-futures';
import { tasks } from './tasks.mjs';

const executor = new ProcessPoolExecutor(2);
console.log(await executor.submit(tasks.fib, 25).result());
await executor.shutdown();
`;
const DASHBOARD_PROGRAM = `import { ThreadPoolExecutor } from 'concurrent-futures';
import { serveDashboard } from 'concurrent-futures/dashboard';
import { tasks } from './tasks.mjs';

const executor = new ThreadPoolExecutor(2);
const dashboard = await serveDashboard(executor);
await executor.submit(tasks.fib, 20).result();
const state = await (await fetch(dashboard.url + 'state.json')).json();
console.log(state.executors[0].tasks.fib.completed);
await dashboard.close();
await executor.shutdown();
`;
const BULLMQ_PROGRAM = `import { BullMQExecutor, runWorker } from 'concurrent-futures/bullmq';
import { tasks } from './tasks.mjs';

const connection = process.env.REDIS_URL;
const worker = await runWorker({ connection, queueName: 'fib', modules: ['./tasks.mjs'] });
const executor = new BullMQExecutor({ connection, queueName: 'fib' });
console.log(await executor.submit(tasks.fib, 25).result());
await executor.shutdown();
await worker.close();
`;
// The BullMQ lines run against a Redis of this file's (without redis-server they are skipped, loudly; under CI they fail).
const redisSkip = redisSkipReason();
const redis = redisForTests(redisSkip);
const RUNTIME_COMMANDS = {
  Deno: [
    ['deno run --allow-read main.mjs', EXAMPLE_OUTPUT],
    ['deno run --allow-read --sloppy-imports main.ts', EXAMPLE_OUTPUT],
    ['deno run --allow-read --allow-env --allow-run processes.mjs', '75025\n'],
    ['deno run --allow-read --allow-net=127.0.0.1 dashboard.mjs', '1\n'],
    ['deno run --allow-read --allow-env --allow-net bullmq.mjs', '75025\n'],
  ],
  Bun: [
    ['bun main.mjs', EXAMPLE_OUTPUT],
    ['bun main.ts', EXAMPLE_OUTPUT],
    ['bun processes.mjs', '75025\n'],
    ['bun dashboard.mjs', '1\n'],
    ['bun bullmq.mjs', '75025\n'],
  ],
};

for (const [name, commands] of Object.entries(RUNTIME_COMMANDS)) {
  const variable = `CF_${name.toUpperCase()}`;
  test(`README Runtimes: the installed package runs under ${name} with the command lines the README gives`, { timeout: 120_000 }, (t) => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    for (const [line] of commands) assert.ok(readme.includes(`\`${line}\``), `README shows \`${line}\``);
    const binary = process.env[variable];
    if (!binary) {
      const reason = `${variable} is not set: it names the ${name} binary to test (.ci/run installs it from npm and sets it)`;
      if (process.env.CF_RUNTIMES_REQUIRED === '1') assert.fail(`${reason}; CF_RUNTIMES_REQUIRED=1 wants every runtime tested`);
      t.skip(reason);
      return;
    }
    const cwd = join(app, 'getting-started');
    writeFileSync(join(cwd, 'processes.mjs'), PROCESS_PROGRAM);
    writeFileSync(join(cwd, 'dashboard.mjs'), DASHBOARD_PROGRAM);
    writeFileSync(join(cwd, 'bullmq.mjs'), BULLMQ_PROGRAM);
    for (const [line, expected] of commands) {
      if (line.endsWith('bullmq.mjs') && redisSkip) {
        t.diagnostic(`not run: ${line}: ${redisSkip}`);
        continue;
      }
      const out = runOk(binary, line.split(' ').slice(1), { cwd, env: { ...process.env, TMPDIR: work, NO_COLOR: '1', ...(redis.url === undefined ? {} : { REDIS_URL: redis.url }) }, input: '' });
      assert.equal(out.stdout, expected, line);
    }
  });
}
