// The source tree as a newcomer must find it (ARCHITECTURE.md): no file too long to read in one
// sitting, no import circle (type imports included: a circle of types is still a circle to read),
// between files or between folders, and the executor base class below the pools, which build on it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
/** About 400 lines: the figure ARCHITECTURE.md and the team's rules give. */
const MAX_LINES = 410;

const files = readdirSync(SRC, { recursive: true })
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.split('\\').join('/'));

/** Each file's imports of other files of src/, static or `import type`, as paths relative to src/. */
function importsOf(file) {
  const text = readFileSync(join(SRC, file), 'utf8');
  const out = new Set();
  for (const m of text.matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.[^']+)\.js'/gm)) {
    out.add(relative(SRC, resolve(SRC, dirname(file), `${m[1]}.ts`)).split('\\').join('/'));
  }
  return [...out].filter((f) => files.includes(f));
}

/** The import circles of a graph (node -> the nodes it imports), each as 'a -> b -> a'. */
function circlesOf(graph) {
  const state = new Map();
  const circles = [];
  const visit = (node, path) => {
    if (state.get(node) === 'done') return;
    if (state.get(node) === 'open') {
      circles.push([...path.slice(path.indexOf(node)), node].join(' -> '));
      return;
    }
    state.set(node, 'open');
    for (const next of graph.get(node)) visit(next, [...path, node]);
    state.set(node, 'done');
  };
  for (const node of graph.keys()) visit(node, []);
  return circles;
}

test('no source file is much over 400 lines', () => {
  const long = files
    .map((f) => [f, readFileSync(join(SRC, f), 'utf8').split('\n').length - 1])
    .filter(([, n]) => n > MAX_LINES)
    .map(([f, n]) => `${f} (${n})`);
  assert.deepEqual(long, [], `files over ${MAX_LINES} lines: ${long.join(', ')}`);
});

test('no import circle among the source files, type imports included', () => {
  const graph = new Map(files.map((f) => [f, importsOf(f)]));
  assert.deepEqual(circlesOf(graph), []);
});

test('nothing runs back up: no folder of src/ imports a file that imports that folder, however far round', () => {
  // A folder is one room, each file at the top one: the rooms must import each other in no circle.
  const room = (f) => (f.includes('/') ? `${f.split('/')[0]}/` : f);
  const graph = new Map();
  for (const f of files) {
    const out = graph.get(room(f)) ?? new Set();
    for (const g of importsOf(f)) if (room(g) !== room(f)) out.add(room(g));
    graph.set(room(f), out);
  }
  assert.deepEqual(circlesOf(graph), []);
});

test('the executor base class imports nothing of the pools, BullMQ or the map strategies that build on it', () => {
  const above = importsOf('executor.ts').filter((f) => /^(pool|thread|process|bullmq)\/|^map\/(per-item|chunks|batch)\.ts$/.test(f));
  assert.deepEqual(above, []);
});
