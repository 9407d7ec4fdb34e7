// The progress bar as a person sees it: the CLI under a pseudo-terminal (tmux), read from the screen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, fixture, lines } from './cli-helpers.mjs';
import { sleep } from './helpers.mjs';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
// CI installs tmux (.ci/run): there a missing tmux is a failure, not a skip.
const skip = !hasTmux && !process.env.CI ? 'tmux is not installed (apt-get install tmux)' : false;

test('map on a terminal: the bar is drawn in place and ends at 100%', { timeout: 60_000, skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cf-tty-'));
  const session = `cf-test-${process.pid}`;
  const socket = join(dir, 'tmux.sock');
  const tmux = (...args) => execFileSync('tmux', ['-S', socket, ...args], { encoding: 'utf8' });
  try {
    const input = join(dir, 'in.txt');
    const out = join(dir, 'out.txt');
    writeFileSync(input, lines(200));
    const command = `'${process.execPath}' '${CLI}' map -j 4 --input '${input}' '${fixture('cli-fns.mjs')}#slow' > '${out}'; echo "exit=$?"; sleep 60`;
    tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '10', command);
    const screens = [];
    const deadline = Date.now() + 40_000;
    while (Date.now() < deadline) {
      const screen = tmux('capture-pane', '-p', '-t', session);
      screens.push(screen);
      if (/exit=\d+/.test(screen)) break;
      await sleep(100);
    }
    const last = screens.at(-1);
    assert.match(last, /exit=0/, last);
    // The final screen: one bar line, full, and nothing else of the run.
    const bar = last.split('\n').filter((line) => line.includes('slow |'));
    assert.equal(bar.length, 1, last);
    assert.match(bar[0], /^slow \|#{24}\| 200\/200 100% \| [\d.]+\/s \| ETA 0:00\s*$/);
    // Seen mid-way: a partly filled bar on the same line, redrawn rather than printed anew.
    assert.ok(screens.some((screen) => /slow \|#*-+\| \d+\/200 \d+%/.test(screen)), 'no partial bar was seen');
    assert.ok(screens.every((screen) => screen.split('\n').filter((line) => line.includes('slow |')).length <= 1));
    assert.equal(readFileSync(out, 'utf8'), lines(200));
  } finally {
    spawnSync('tmux', ['-S', socket, 'kill-server']);
    rmSync(dir, { recursive: true, force: true });
  }
});
