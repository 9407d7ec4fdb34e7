// Every TypeScript block of the README, as a user copies it into a project: type-checked with
// the compiler options the README states, by the oldest and the newest TypeScript the package
// supports (and by TypeScript 7's `tsc --init` file with the changes the README names), then
// compiled and run on Node against the built package.
//
// A block is a file of its own; its first line `// NAME.ts` names it, and `./NAME.js` in another
// block imports the nearest such block above it. Directly above a block, an HTML comment
// `<!-- compile-only: WHY -->` keeps it from running, and `<!-- preamble: CODE -->` puts CODE
// before it (declarations the snippet assumes).
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const modules = join(root, 'node_modules');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

const COMPILERS = [
  { name: 'TypeScript 5.2', tsc: join(modules, 'typescript-5.2', 'bin', 'tsc'), version: /^Version 5\.2\./ },
  { name: 'TypeScript 7', tsc: join(modules, 'typescript-7', 'bin', 'tsc'), version: /^Version 7\./ },
];

/** The README's ```ts blocks, with their line, file name, markers and the blocks they import. */
function tsBlocks(text) {
  const blocks = [];
  for (const match of text.matchAll(/^```ts\n([^]*?)^```$/gm)) {
    const line = text.slice(0, match.index).split('\n').length;
    const code = match[1];
    const markers = /((?:<!--(?:(?!-->)[^])*-->\n)+)$/.exec(text.slice(0, match.index))?.[1] ?? '';
    let compileOnly = null;
    let preamble = '';
    for (const [, body] of markers.matchAll(/<!--((?:(?!-->)[^])*)-->/g)) {
      const marker = /^\s*(compile-only|preamble):\s*([^]*?)\s*$/.exec(body);
      assert.ok(marker, `README line ${line}: the comment above the block is neither compile-only: nor preamble: (${body.trim()})`);
      if (marker[1] === 'compile-only') compileOnly = marker[2];
      else preamble += `${marker[2]}\n`;
      assert.notEqual(marker[2], '', `README line ${line}: ${marker[1]}: says nothing`);
    }
    const name = /^\/\/ ([\w-]+\.ts)\b/.exec(code)?.[1] ?? null;
    blocks.push({ index: blocks.length, line, code, name, compileOnly, preamble });
  }
  for (const block of blocks) {
    block.imports = [...block.code.matchAll(/from '\.\/([\w-]+)\.js'/g)].map(([, stem]) => {
      const target = blocks.slice(0, block.index).reverse().find((b) => b.name === `${stem}.ts`);
      assert.ok(target, `README line ${block.line}: the block imports ./${stem}.js, but no block above it is // ${stem}.ts`);
      return target;
    });
  }
  return blocks;
}

/** The compiler options the README states: its JSON block with "compilerOptions". */
function statedConfig(text) {
  const found = [...text.matchAll(/^```json\n([^]*?)^```$/gm)].map((m) => m[1]).filter((json) => json.includes('"compilerOptions"'));
  assert.equal(found.length, 1, 'the README states one set of compiler options');
  return JSON.parse(found[0]);
}

const blocks = tsBlocks(readme);
const stated = statedConfig(readme);
let work;

/**
 * A project as a user has it: "type": "module", the package and @types/node installed, and each
 * block in a folder of its own with the blocks it imports.
 */
function project(name, writeConfig) {
  const dir = join(work, name);
  mkdirSync(join(dir, 'node_modules', '@types'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'readme-examples', private: true, type: 'module' }));
  // The package as built (dist/, package.json's exports), found by its name.
  symlinkSync(root, join(dir, 'node_modules', 'concurrent-futures'), 'dir');
  symlinkSync(join(modules, '@types', 'node'), join(dir, 'node_modules', '@types', 'node'), 'dir');
  for (const block of blocks) {
    const folder = join(dir, `block-${block.line}`);
    mkdirSync(folder);
    const files = new Map();
    const add = (b) => {
      files.set(b.name ?? 'example.ts', b);
      b.imports.forEach(add);
    };
    add(block);
    for (const [file, b] of files) writeFileSync(join(folder, file), b.preamble + b.code);
  }
  writeConfig(dir);
  return dir;
}

/** The README line of a line of a file in a block's folder. */
function readmeLine(folderLine, file, row) {
  const block = blocks.find((b) => b.line === folderLine);
  const source = file === (block.name ?? 'example.ts') ? block : blocks.find((b) => b.name === file && b.index < block.index);
  return source.line + row - source.preamble.split('\n').length + 1;
}

/** Type-checks and compiles a project; the errors point at README lines. */
function compile(dir, compiler) {
  const out = spawnSync(process.execPath, [compiler.tsc, '-p', dir], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  if (out.error) throw out.error;
  const text = (out.stdout + out.stderr).replace(/block-(\d+)\/([\w-]+\.ts)\((\d+),\d+\)/g, (whole, line, file, row) => `${whole} [README line ${readmeLine(Number(line), file, Number(row))}]`);
  assert.equal(out.status, 0, `${compiler.name} rejects README examples:\n${text}`);
}

/** Runs the compiled runnable blocks with Node. */
function runAll(dir, compiler) {
  let ran = 0;
  for (const block of blocks) {
    const js = join(dir, `block-${block.line}`, (block.name ?? 'example.ts').replace(/\.ts$/, '.js'));
    const emitted = readFileSync(js, 'utf8');
    // Node 20 and 22 cannot parse `using` declarations: the compiled code must not have any.
    assert.doesNotMatch(emitted, /^\s*(?:await\s+)?using\s+\w+\s*=/m, `README line ${block.line}: ${compiler.name} left \`using\` in the JavaScript`);
    if (block.compileOnly !== null) continue;
    const out = spawnSync(process.execPath, [js], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    if (out.error) throw out.error;
    assert.equal(out.status, 0, `README line ${block.line}, compiled by ${compiler.name}, failed on Node ${process.version}:\n${out.stdout}\n${out.stderr}`);
    assert.equal(out.stderr, '', `README line ${block.line} wrote on stderr`);
    ran++;
  }
  return ran;
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'cf-readme-'));
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the README states strict compiler options, and every TypeScript block is checked', () => {
  assert.equal(stated.compilerOptions.strict, true);
  assert.equal(stated.compilerOptions.noUncheckedIndexedAccess, true);
  assert.equal(stated.compilerOptions.module, 'nodenext');
  assert.ok(blocks.length >= 7, `found ${blocks.length} blocks`);
  // Each block is tested whole: one that cannot run says why.
  const runnable = blocks.filter((b) => b.compileOnly === null);
  assert.ok(runnable.length >= 5, `${runnable.length} blocks run`);
  assert.equal(readme.match(/^```(?:ts|typescript|tsx)\b/gm).length, blocks.length, 'every TypeScript block is a ```ts one');
});

for (const compiler of COMPILERS) {
  test(`README examples: ${compiler.name} type-checks them with the stated options, and Node runs them`, { timeout: 240_000 }, () => {
    assert.match(spawnSync(process.execPath, [compiler.tsc, '--version'], { encoding: 'utf8' }).stdout, compiler.version);
    const dir = project(`stated-${compiler.name.replace(/\W+/g, '')}`, (d) => writeFileSync(join(d, 'tsconfig.json'), JSON.stringify(stated)));
    compile(dir, compiler);
    assert.ok(runAll(dir, compiler) >= 5);
  });
}

test('README examples: TypeScript 7\'s tsc --init, changed as the README says, compiles them for Node 20', { timeout: 240_000 }, () => {
  const compiler = COMPILERS[1];
  const dir = project('tsc-init', (d) => {
    const init = spawnSync(process.execPath, [compiler.tsc, '--init'], { cwd: d, encoding: 'utf8' });
    assert.equal(init.status, 0, init.stdout + init.stderr);
    const written = readFileSync(join(d, 'tsconfig.json'), 'utf8');
    // What the README tells a user to change, each exactly once.
    const changed = written
      .replace(/^(\s*)"target": "esnext",$/m, `$1"target": ${JSON.stringify(stated.compilerOptions.target)},`)
      .replace(/^(\s*)"types": \[\],$/m, `$1"types": ${JSON.stringify(stated.compilerOptions.types)},`);
    assert.equal(changed.split('\n').filter((l, i) => l !== written.split('\n')[i]).length, 2, `tsc --init wrote:\n${written}`);
    assert.match(changed, /"noUncheckedIndexedAccess": true/);
    writeFileSync(join(d, 'tsconfig.json'), changed);
  });
  compile(dir, compiler);
  assert.ok(runAll(dir, compiler) >= 5);
});

test('the six-patterns table shows code of the program below it, which runs', () => {
  const section = readme.slice(readme.indexOf('## The six patterns'), readme.indexOf('\n## ', readme.indexOf('## The six patterns') + 1));
  const program = blocks.find((b) => section.includes(b.code));
  assert.ok(program && program.compileOnly === null, 'the section has a runnable TypeScript program');
  const rows = section.split('\n').filter((l) => l.startsWith('| ') && !/^\| (pattern|---)/.test(l));
  assert.equal(rows.length, 6);
  const flat = (s) => s.replace(/\s+/g, ' ');
  for (const row of rows) {
    const typescript = row.split(' | ')[2];
    const spans = [...typescript.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    assert.ok(spans.length > 0, row);
    for (const span of spans) assert.ok(flat(program.code).includes(flat(span)), `the table's \`${span}\` is not in the program`);
  }
});

test('README: the executor table says BullMQ ships, and each executor it names is exported where it says', async () => {
  const table = readme.slice(readme.indexOf('### Which executor'), readme.indexOf('### Coming from another library'));
  assert.doesNotMatch(table, /not in this release|being built|coming soon/i);
  for (const row of table.split('\n').filter((l) => /^\| .*Executor/.test(l) && !l.startsWith('| your tasks'))) {
    const [name] = /\b\w+Executor\b/.exec(row);
    const entry = /from `(concurrent-futures(?:\/\w+)?)`/.exec(row)?.[1] ?? 'concurrent-futures';
    const mod = await import(entry);
    assert.equal(typeof mod[name], 'function', `${entry} exports ${name}`);
  }
  assert.ok(readdirSync(join(root, 'dist', 'bullmq')).includes('index.js'));
});
