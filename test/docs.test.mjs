// The API reference: TypeDoc builds it from the doc comments of every entry point of the
// package, and fails on an export (or an export's member) that has none, so `npm test` does too.
// Then the pages are read as a visitor sees them: one title, a table of contents that keeps the
// code of its headings, and no internal class anywhere.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const config = JSON.parse(readFileSync(join(root, 'typedoc.json'), 'utf8'));

/** The package's entry points, as users import them, and the source each is built from. */
const entries = Object.entries(pkg.exports)
  .filter(([subpath]) => subpath !== './package.json')
  .map(([subpath, target]) => ({
    name: `${pkg.name}${subpath.slice(1)}`,
    source: target.default.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'),
  }));

let out;
let build;

before(() => {
  out = mkdtempSync(join(tmpdir(), 'cf-docs-'));
  build = spawnSync(process.execPath, [join(root, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--out', out], {
    cwd: root,
    encoding: 'utf8',
    timeout: 170_000,
  });
});

after(() => {
  if (out) rmSync(out, { recursive: true, force: true });
});

const page = (path) => readFileSync(join(out, path), 'utf8');
/** TypeDoc's page file for a module or a reflection in it: `/` in a module name becomes `_`. */
const file = (dir, moduleName, name) => join(dir, `${moduleName.replaceAll('/', '_')}${name === undefined ? '' : `.${name}`}.html`);
/** The data TypeDoc keeps compressed in assets/NAME.js. */
function assetData(name) {
  const [, data] = /"([^"]+)"/.exec(page(join('assets', `${name}.js`)));
  return inflateSync(Buffer.from(data, 'base64')).toString('utf8');
}
const text = (html) =>
  html
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');

test('TypeDoc documents every entry point of the package, with every export documented', { timeout: 180_000 }, async () => {
  assert.equal(config.validation.notDocumented, true);
  assert.equal(config.treatValidationWarningsAsErrors, true);
  // An entry point added to package.json's exports (./dashboard, say) must be added here too.
  assert.deepEqual([...config.entryPoints].sort(), entries.map((e) => e.source).sort());
  assert.equal(build.status, 0, `typedoc failed:\n${build.stdout}\n${build.stderr}`);
  assert.doesNotMatch(build.stdout + build.stderr, /warning|error/i);
  for (const entry of entries) {
    const modulePage = file('modules', entry.name);
    assert.ok(existsSync(join(out, modulePage)), `${entry.name} has its page (${modulePage})`);
    assert.match(page(modulePage), new RegExp(`<h1>Module ${entry.name}</h1>`));
    // Each value it exports has a page of its own.
    const exported = Object.keys(await import(entry.name));
    assert.ok(exported.length > 0);
    for (const name of exported) {
      const found = ['classes', 'functions', 'variables'].some((dir) => existsSync(join(out, file(dir, entry.name, name))));
      assert.ok(found, `${entry.name}'s export ${name} has a page`);
    }
  }
});

test('API reference: the front page has one title, and its table of contents keeps the code of its headings', () => {
  const index = page('index.html');
  assert.equal(index.match(/<h1\b/g).length, 1, 'one <h1>');
  const toc = /<details[^>]*tsd-page-navigation[^]*?<\/details>/.exec(index)?.[0];
  assert.ok(toc, 'the page has its table of contents');
  const entriesShown = [...toc.matchAll(/<a href="#[^"]*"><span>([^]*?)<\/span><\/a>/g)].map((m) => text(m[1]).trim());
  const headings = [...readFileSync(join(root, 'README.md'), 'utf8').replace(/^```[^]*?^```$/gm, '').matchAll(/^#{2,4} (.+)$/gm)].map((m) =>
    m[1].replace(/`/g, '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').trim(),
  );
  assert.ok(headings.some((h) => h.startsWith('AsyncPoolExecutor(')), 'the README has headings made of code');
  assert.deepEqual(entriesShown, headings);
});

test('API reference: no internal class shows, and the executors extend Executor in the hierarchy', () => {
  const pages = [];
  const walk = (dir) => {
    for (const entry of readdirSync(join(out, dir), { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else if (entry.name.endsWith('.html')) pages.push(join(dir, entry.name));
    }
  };
  walk('.');
  assert.ok(pages.length > 30, `${pages.length} pages`);
  for (const path of pages) assert.doesNotMatch(page(path), /WorkerPool/, `${path} names the internal WorkerPoolExecutor`);
  for (const data of ['hierarchy', 'navigation', 'search']) assert.doesNotMatch(assetData(data), /WorkerPool/, `assets/${data}.js`);

  const hierarchy = JSON.parse(assetData('hierarchy'));
  const byName = new Map(Object.values(hierarchy.reflections).map((r) => [r.name, r]));
  const children = (byName.get('Executor').children ?? []).map((id) => hierarchy.reflections[id].name).sort();
  assert.deepEqual(children, ['AsyncPoolExecutor', 'BullMQExecutor', 'ProcessPoolExecutor', 'ThreadPoolExecutor']);
  const thread = page(file('classes', pkg.name, 'ThreadPoolExecutor'));
  assert.match(text(/<section class="tsd-panel tsd-hierarchy"[^]*?<\/section>/.exec(thread)[0]).replace(/\s+/g, ' '), /Executor ThreadPoolExecutor/);
  // What it inherits is shown as Executor's.
  assert.match(thread, /Inherited from <a href="[^"]*Executor\.html[^"]*">Executor/);
});
