// The progress helper, drawn on a fake terminal stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AsyncPoolExecutor, ThreadPoolExecutor, asCompleted } from 'concurrent-futures';
import { progress } from 'concurrent-futures/progress';
import { sleep } from './helpers.mjs';

const T = { timeout: 30_000 };

/** A stream that says it is a terminal and keeps what is written. */
function fakeTerminal({ isTTY = true } = {}) {
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      stream.text += String(chunk);
      callback();
    },
  });
  stream.text = '';
  stream.isTTY = isTTY;
  stream.columns = 100;
  return stream;
}

/** What a terminal would show last on the bar's line: the text after the last carriage move. */
function lastDrawn(text) {
  // eslint-disable-next-line no-control-regex
  const frames = text.split(/\x1b\[1G/).map((frame) => frame.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, '').trim());
  return frames.filter((frame) => frame !== '').at(-1) ?? '';
}

test('progress(asCompleted(...)): yields every future, the bar redraws in place and ends at 100%', T, async () => {
  const stream = fakeTerminal();
  const executor = new AsyncPoolExecutor(4);
  try {
    const futures = Array.from({ length: 8 }, (_, i) => executor.submit(async (n) => (await sleep(40 + 10 * n), n), i));
    const seen = [];
    for await (const future of progress(asCompleted(futures), { total: futures.length, stream, label: 'squares' })) {
      seen.push(await future.result());
    }
    assert.deepEqual(seen.sort(), [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.match(lastDrawn(stream.text), /^squares \|#+\| 8\/8 100% \| [\d.]+\/s \| ETA 0:00$/);
    // Redrawn in place: the cursor goes back to column 1, and several states were drawn.
    assert.ok(stream.text.split('\x1b[1G').length > 2, JSON.stringify(stream.text));
    assert.match(stream.text, /\|-+\| 0\/8 0%/);
    assert.ok(stream.text.endsWith('\n'));
  } finally {
    await executor.shutdown();
  }
});

test('progress(asCompleted(futures)) and progress(map over arrays) know their total without being told', T, async () => {
  const executor = new AsyncPoolExecutor(2);
  try {
    const futures = Array.from({ length: 6 }, (_, i) => executor.submit(async (n) => (await sleep(5), n), i));
    futures.push(futures[0]); // asCompleted yields each distinct future once: so does the count
    const stream = fakeTerminal();
    let seen = 0;
    for await (const future of progress(asCompleted(futures), { stream })) seen += (await future.result()) >= 0 ? 1 : 0;
    assert.equal(seen, 6);
    assert.match(stream.text, /\|-+\| 0\/6 0%/, 'the first frame already shows the total');
    assert.match(lastDrawn(stream.text), /6\/6 100%/);

    const zipped = fakeTerminal();
    const sums = [];
    for await (const sum of progress(executor.map((a, b) => a + b, [1, 2, 3, 4], [10, 20, 30]), { stream: zipped })) sums.push(sum);
    assert.deepEqual(sums, [11, 22, 33]);
    assert.match(zipped.text, /\|-+\| 0\/3 0%/, 'zip() of arrays ends with the shortest');
    assert.match(lastDrawn(zipped.text), /3\/3 100%/);

    // A total given wins over the count.
    const told = fakeTerminal();
    for await (const _ of progress(asCompleted(futures), { stream: told, total: 10 }));
    assert.match(lastDrawn(told.text), /6\/10 60%/);
  } finally {
    await executor.shutdown();
  }
});

test('progress(futures): yields them in order, counts completions and failures as they happen', T, async () => {
  const stream = fakeTerminal();
  const executor = new AsyncPoolExecutor(3);
  try {
    const futures = [30, 10, 20].map((ms, i) =>
      executor.submit(async (wait, index) => {
        await sleep(wait);
        if (index === 1) throw new Error('boom');
        return index;
      }, ms, i),
    );
    const order = [];
    for await (const future of progress(futures, { stream })) order.push(futures.indexOf(future));
    assert.deepEqual(order, [0, 1, 2]);
    // The loop ends once all are done, and the last state counts the failure.
    assert.ok(futures.every((f) => f.done()));
    assert.match(lastDrawn(stream.text), /3\/3 100% .*\| 1 failed$/);
  } finally {
    await executor.shutdown();
  }
});

test('progress(executor.map(...)): with executor.stats() feeding the unknown total, ends at the count', T, async () => {
  const stream = fakeTerminal();
  const executor = new ThreadPoolExecutor(2);
  try {
    const results = [];
    // A generator: the map cannot know how many items are coming.
    function* inputs() {
      yield* [1, 2, 3, 4, 5];
    }
    for await (const value of progress(executor.map((x) => x * 2, inputs(), { buffersize: 2 }), { executor, stream })) {
      results.push(value);
    }
    assert.deepEqual(results, [2, 4, 6, 8, 10]);
    assert.match(lastDrawn(stream.text), /5\/5 100%/);
  } finally {
    await executor.shutdown();
  }
});

test('progress: without a total or executor, the line counts what is done', T, async () => {
  const stream = fakeTerminal();
  async function* numbers() {
    for (let i = 0; i < 4; i++) yield i;
  }
  const seen = [];
  for await (const n of progress(numbers(), { stream })) seen.push(n);
  assert.deepEqual(seen, [0, 1, 2, 3]);
  assert.match(lastDrawn(stream.text), /^4 done \| .*\/s \| 0:00 elapsed$/);
  assert.doesNotMatch(stream.text, /%/);
});

test('progress: a failing map counts the failure and rethrows; leaving early closes the source', T, async () => {
  const stream = fakeTerminal();
  const executor = new AsyncPoolExecutor(2);
  try {
    const failing = executor.map((x) => {
      if (x === 2) throw new RangeError('two');
      return x;
    }, [1, 2, 3]);
    await assert.rejects(async () => {
      for await (const _ of progress(failing, { stream, total: 3 }));
    }, RangeError);
    assert.match(lastDrawn(stream.text), /2\/3 66% .*\| 1 failed$/);

    let ran = 0;
    const long = executor.map(async (x) => (ran++, await sleep(20), x), Array.from({ length: 100 }, (_, i) => i));
    for await (const x of progress(long, { stream: fakeTerminal(), total: 100 })) if (x === 3) break;
    await sleep(100);
    assert.ok(ran < 20, `the map went on after the loop left (${ran} ran)`);
  } finally {
    await executor.shutdown();
  }
});

test('progress: nothing on a stream that is no terminal, plain lines when asked, nothing when disabled', T, async () => {
  const pipe = fakeTerminal({ isTTY: false });
  for await (const _ of progress([1, 2, 3], { stream: pipe }));
  assert.equal(pipe.text, '');
  const log = fakeTerminal({ isTTY: false });
  for await (const _ of progress([1, 2, 3], { stream: log, lines: true, label: 'items' }));
  assert.match(log.text, /^items 3\/3 100% \| .*\n$/);
  const disabled = fakeTerminal();
  for await (const _ of progress([1, 2], { stream: disabled, disable: true }));
  assert.equal(disabled.text, '');
});

test('progress: on a narrow terminal the line is cut to its width, so that it can be redrawn in place', T, async () => {
  const stream = fakeTerminal();
  stream.columns = 30;
  for await (const _ of progress([1, 2, 3], { stream, label: 'a long label for a narrow terminal' }));
  for (const frame of stream.text.split('\x1b[1G')) {
    // eslint-disable-next-line no-control-regex
    assert.ok(frame.replace(/\x1b\[[0-9;?]*[A-Za-z]|\n/g, '').length < 30, JSON.stringify(frame));
  }
  assert.doesNotMatch(stream.text, /\x1b\[\?7l/);
});

test('progress: bad arguments are refused at the call', () => {
  assert.throws(() => progress(42), /progress\(\) expects an iterable or async iterable, got number/);
  assert.throws(() => progress([], { total: -1 }), RangeError);
});

test('progress: without cli-progress installed, a terminal gets a hint and plain lines', T, () => {
  // A copy of the package where cli-progress cannot be found.
  const dir = mkdtempSync(join(tmpdir(), 'cf-no-bar-'));
  try {
    const root = fileURLToPath(new URL('..', import.meta.url));
    cpSync(join(root, 'dist'), join(dir, 'dist'), { recursive: true });
    cpSync(join(root, 'package.json'), join(dir, 'package.json'));
    const script = `
      import { Writable } from 'node:stream';
      import { progress } from './dist/progress.js';
      let text = '';
      const stream = new Writable({ write(chunk, _e, cb) { text += chunk; cb(); } });
      stream.isTTY = true;
      for await (const _ of progress([1, 2, 3], { stream }));
      process.stdout.write(text);`;
    writeFileSync(join(dir, 'check.mjs'), script);
    const out = spawnSync(process.execPath, ['check.mjs'], { cwd: dir, encoding: 'utf8', timeout: 20_000 });
    assert.equal(out.status, 0, out.stderr);
    assert.match(out.stdout, /install cli-progress to see a progress bar/);
    assert.match(out.stdout, /progress: 3\/3 100%/);
    assert.doesNotMatch(out.stdout, /\x1b\[/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
