// What the dashboard's charts and task stream are drawn from, without a browser: the per-second series
// (throughput and latency over time) and the bars of a worker's row. The page test shows them drawn; these
// check the numbers, at the sizes where the fast paths (a second's boundary, a ring that wraps) take over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Series } from '../dist/dashboard/series.js';
import { BarRing, FAILED } from '../dist/dashboard/bars.js';
import { EventStream } from '../dist/dashboard/stream.js';

const DONE = 0;
const FAILED_OUTCOME = 1;
const CANCELLED_OUTCOME = 2;

test('series: each task counts in the second it ended, empty seconds read zero, a second closes when the next begins', () => {
  const s = new Series();
  // Second 10: 1,000 tasks of 2 ms, waiting 5 ms; two failures; one cancelled (it never ran).
  for (let i = 0; i < 1000; i++) s.add(10_000 + i * 0.9, DONE, 2, 5);
  s.add(10_950, FAILED_OUTCOME, 2, 5);
  s.add(10_951, FAILED_OUTCOME, 2, 5);
  s.add(10_999.5, CANCELLED_OUTCOME, -1, -1);
  assert.deepEqual(s.all(), [], 'the second being counted is not a point yet');
  // Second 13: one task of 40 ms; 11 and 12 had none.
  s.add(13_000, DONE, 40, 0.5);
  const [ten, eleven, twelve] = s.all();
  assert.deepEqual(ten.slice(0, 4), [10, 1000, 2, 1]);
  for (const [i, want] of [[4, 2], [5, 2], [6, 2], [7, 5], [8, 5], [9, 5]]) {
    assert.ok(Math.abs(ten[i] - want) / want < 0.15, `field ${i} reads ${ten[i]} ms, not about ${want}`);
  }
  assert.deepEqual(eleven, [11, 0, 0, 0, -1, -1, -1, -1, -1, -1]);
  assert.deepEqual(twelve, [12, 0, 0, 0, -1, -1, -1, -1, -1, -1]);
  assert.equal(s.all().length, 3);
  // A tick with no task still closes the seconds behind it.
  s.advance(14_200);
  const thirteen = s.all()[3];
  assert.deepEqual(thirteen.slice(0, 4), [13, 1, 0, 0]);
  assert.ok(Math.abs(thirteen[4] - 40) / 40 < 0.15, `run p50 ${thirteen[4]}`);
  assert.deepEqual(s.fresh().map((p) => p[0]), [10, 11, 12, 13], 'fresh() gives what was appended since the last call');
  assert.deepEqual(s.fresh(), []);
  // A late task (ended in a second already closed) counts in the current one.
  s.add(13_500, DONE, 1, 1);
  s.advance(15_000);
  assert.deepEqual(s.fresh().map((p) => p.slice(0, 2)), [[14, 1]]);
});

test('series: a task right on a second\'s boundary belongs to the new second', () => {
  const s = new Series();
  s.add(1999.999, DONE, 1, 1);
  s.add(2000, DONE, 1, 1);
  s.add(2000, DONE, 1, 1);
  s.advance(3000);
  assert.deepEqual(s.all().map((p) => p.slice(0, 2)), [[1, 1], [2, 2]]);
});

test('bars: quick tasks of one name that follow each other share a bar; failures, other names and gaps do not', () => {
  const ring = new BarRing();
  ring.push(0, 0, 1, 0);
  ring.push(0, 1.5, 2, 0); // joins
  ring.push(1, 2.5, 3, 0); // another name
  ring.push(1, 40, 41, 0); // a gap of 37 ms
  ring.push(1, 41, 42, FAILED); // a failure stands alone
  ring.push(1, 42, 100, 0); // 58 ms: too long to join anything
  assert.deepEqual(ring.changed(100), [
    [0, 0, 0, 2, 0, 2],
    [1, 1, 2.5, 3, 0, 1],
    [2, 1, 40, 41, 0, 1],
    [3, 1, 41, 42, FAILED, 1],
    [4, 1, 42, 100, 0, 1],
  ]);
  assert.equal(ring.tasks, 6);
  assert.deepEqual(ring.changed(100), [], 'nothing changed since');
  ring.push(1, 100.5, 101, 0); // after a long one: a bar of its own
  ring.push(1, 101.5, 102, 0); // joins that one, which is sent again with its new count
  assert.deepEqual(ring.changed(100), [[5, 1, 100.5, 102, 0, 2]]);
});

test('bars: past its capacity the ring keeps the newest, by seq, and a page with nothing gets the last minute', () => {
  const ring = new BarRing(8);
  // 20 bars 30 ms apart, each too far from the one before to join it.
  for (let i = 0; i < 20; i++) ring.push(i % 3, i * 30, i * 30 + 1, 0);
  assert.deepEqual(ring.changed(100).map((b) => b[0]), [12, 13, 14, 15, 16, 17, 18, 19]);
  assert.deepEqual(ring.recent(15 * 30, 100).map((b) => b[0]), [15, 16, 17, 18, 19], 'only those that ended after the cut');
  assert.deepEqual(ring.recent(-1, 3).map((b) => b[0]), [17, 18, 19], 'at most max, the newest');
  assert.throws(() => new BarRing(100), /power of two, got 100/);
});

/** A page's response as the stream sees it: `full` says whether its socket's buffer is past its mark. */
function fakePage() {
  const drains = [];
  const kinds = [];
  const res = {
    destroyed: false,
    full: false,
    socket: null,
    writeHead() {},
    on(event, fn) {
      if (event === 'drain') drains.push(fn);
    },
    write(text) {
      if (text.includes('data: ')) kinds.push(text.startsWith('event: full') ? 'full' : 'delta');
      return !this.full;
    },
    end() {},
  };
  return { req: { on() {} }, res, kinds, drain: () => ((res.full = false), drains.forEach((fn) => fn())) };
}

test('stream: a message past the buffer\'s mark is still whole; only a tick skipped while stalled makes the next one full', () => {
  const stream = new EventStream();
  const page = fakePage();
  stream.open(page.req, page.res, () => {});
  const tick = () => stream.send(() => '{}', () => '{"all":1}');
  // The first picture is full, and past the mark: the page drains before the next tick, so it misses nothing.
  page.res.full = true;
  tick();
  page.drain();
  tick();
  tick();
  assert.deepEqual(page.kinds, ['full', 'delta', 'delta']);
  // Stalled across a tick: nothing is sent while it is, then the whole picture, then changes again.
  page.res.full = true;
  tick();
  tick();
  tick();
  page.drain();
  tick();
  tick();
  assert.deepEqual(page.kinds, ['full', 'delta', 'delta', 'delta', 'full', 'delta']);
});
