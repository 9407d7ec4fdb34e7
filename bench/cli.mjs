// `node bench/cli.mjs`: `concurrent-futures map` over 1,000,000 lines through `x => x` with -j 2 --chunksize 512,
// against the library's own chunked map doing the same job, and `xargs -P 2 -n 512 node -e ...` spawning a
// process per batch. Every contender is a whole process from start to exit, output to /dev/null; rounds rotate
// the order; medians and ratios are printed in one report.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const N = Number(process.env.BENCH_LINES ?? 1_000_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
// xargs spawns ~2,000 processes a round (minutes on 2 cores), and is two orders of magnitude behind: one round unless asked.
const xargsRounds = Number(process.env.BENCH_XARGS_ROUNDS ?? 1);
const here = (file) => fileURLToPath(new URL(file, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'cf-bench-cli-'));
const input = join(dir, 'lines.txt');
writeFileSync(input, Array.from({ length: N }, (_, i) => `${i + 1}\n`).join(''));

const node = process.execPath;
const xargsScript = 'const f = (x) => x; let o = ""; for (const a of process.argv.slice(1)) o += JSON.stringify(f(a)) + "\\n"; process.stdout.write(o);';
const contenders = {
  'concurrent-futures map (CLI)': { cmd: node, args: [here('../dist/cli.js'), 'map', '-j', '2', '--chunksize', '512', '--input', input, `${here('cli-identity.mjs')}#identity`] },
  'library map (script)': { cmd: node, args: [here('cli-library.mjs'), input, '512'] },
  'xargs -P 2 -n 512 node -e': { cmd: 'sh', args: ['-c', `xargs -P 2 -n 512 '${node}' -e '${xargsScript}' < '${input}'`], rounds: xargsRounds },
};

function runOnce(name) {
  const { cmd, args } = contenders[name];
  const out = openSync('/dev/null', 'w');
  const started = performance.now();
  const result = spawnSync(cmd, args, { stdio: ['ignore', out, 'pipe'], encoding: 'utf8' });
  const ms = performance.now() - started;
  closeSync(out);
  if (result.status !== 0) throw new Error(`${name} exited ${result.status}: ${result.stderr}`);
  return { ms, inner: name.startsWith('library') ? Number(result.stderr.trim()) : undefined };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

// Check once that the three write the same thing.
{
  const outputs = Object.keys(contenders).map((name) => {
    const { cmd, args } = contenders[name];
    return spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 30, env: { ...process.env } }).stdout;
  });
  // xargs -P interleaves its batches: the same lines, in another order.
  const sorted = (text) => text.split('\n').sort().join('\n');
  if (!(outputs[0] === outputs[1] && sorted(outputs[1]) === sorted(outputs[2]) && outputs[0].split('\n').length === N + 1)) {
    throw new Error('the contenders disagree on the output');
  }
}

const times = Object.fromEntries(Object.keys(contenders).map((name) => [name, []]));
const inner = [];
for (let round = 0; round < rounds; round++) {
  const names = Object.keys(contenders);
  const order = names.map((_, i) => names[(i + round) % names.length]);
  for (const name of order) {
    if (times[name].length >= (contenders[name].rounds ?? rounds)) continue;
    const { ms, inner: mapMs } = runOnce(name);
    times[name].push(ms);
    if (mapMs !== undefined) inner.push(mapMs);
    process.stderr.write(`round ${round + 1}: ${name} ${ms.toFixed(0)} ms\n`);
  }
}
rmSync(dir, { recursive: true, force: true });

const cli = median(times['concurrent-futures map (CLI)']);
const lib = median(times['library map (script)']);
const xargs = median(times['xargs -P 2 -n 512 node -e']);
const rate = (ms) => `${((N / ms) * 1000 / 1e6).toFixed(2)}M lines/s`;
console.log(`\n${N.toLocaleString('en-US')} lines through x => x, -j 2 --chunksize 512, node ${process.version} (medians; ${rounds} rounds, xargs ${xargsRounds})`);
console.log(`| contender | median wall time | throughput |`);
console.log(`|---|---|---|`);
console.log(`| concurrent-futures map (CLI) | ${cli.toFixed(0)} ms | ${rate(cli)} |`);
console.log(`| library map (script: read, map, write) | ${lib.toFixed(0)} ms (its map loop alone: ${median(inner).toFixed(0)} ms) | ${rate(lib)} |`);
console.log(`| xargs -P 2 -n 512 node -e | ${xargs.toFixed(0)} ms | ${rate(xargs)} |`);
console.log(`\nCLI vs library map: ${(lib / cli).toFixed(2)}x the throughput (goal >= 0.5x); vs its map loop alone: ${(median(inner) / cli).toFixed(2)}x`);
console.log(`CLI vs xargs: ${(xargs / cli).toFixed(1)}x the throughput (goal >= 3x)`);
