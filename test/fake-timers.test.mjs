// Under fake timers, as a test suite that uses Jest's (@sinonjs/fake-timers 13, what Jest 30 installs) runs
// this library: timeouts end when the fake clock passes them, and every time the library reports (stats(),
// the tracing context) is read off that same clock. The library reads the global `performance` and timers
// each time, so that whatever replaces them replaces them for it too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tracingChannel } from 'node:diagnostics_channel';
import FakeTimers from '@sinonjs/fake-timers';
import { AsyncPoolExecutor, Future, TimeoutError, asCompleted, wait } from '../dist/index.js';

const TO_FAKE = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'performance', 'Date'];

async function withFakeClock(body) {
  const clock = FakeTimers.install({ toFake: TO_FAKE });
  try {
    await body(clock);
  } finally {
    clock.uninstall();
  }
}

test('fake timers: result(), exception(), wait() and asCompleted() time out when the fake clock passes their timeout', async () => {
  await withFakeClock(async (clock) => {
    const f = new Future();
    const outcomes = {};
    f.result(100).then(() => (outcomes.result = 'resolved'), (e) => (outcomes.result = e));
    f.exception(200).then(() => (outcomes.exception = 'resolved'), (e) => (outcomes.exception = e));
    wait([f], { timeout: 300 }).then((r) => (outcomes.wait = r));
    asCompleted([f], { timeout: 400 }).next().then(() => (outcomes.asCompleted = 'yielded'), (e) => (outcomes.asCompleted = e));
    await clock.tickAsync(99);
    assert.deepEqual(outcomes, {}, 'nothing is due before 100 ms of fake time');
    await clock.tickAsync(1);
    assert.ok(outcomes.result instanceof TimeoutError, `result(100): ${outcomes.result}`);
    assert.equal(outcomes.exception, undefined);
    await clock.tickAsync(300);
    assert.ok(outcomes.exception instanceof TimeoutError, `exception(200): ${outcomes.exception}`);
    assert.deepEqual([outcomes.wait.done.size, outcomes.wait.notDone.size], [0, 1]);
    assert.ok(outcomes.asCompleted instanceof TimeoutError, `asCompleted: ${outcomes.asCompleted}`);
    assert.equal(f.done(), false);
  });
});

test('fake timers: stats() and the tracing context read task times off the fake clock', async () => {
  const ended = [];
  const onEnd = (context) => ended.push(context);
  const channel = tracingChannel('concurrent-futures:task');
  channel.asyncEnd.subscribe(onEnd);
  try {
    await withFakeClock(async (clock) => {
      const ex = new AsyncPoolExecutor(1);
      // Two tasks of 50 fake ms on one slot: the second waits 50 ms for the first.
      const sleep = () => new Promise((resolve) => setTimeout(resolve, 50));
      const futures = [ex.submit(sleep), ex.submit(sleep)];
      await clock.tickAsync(100);
      assert.deepEqual(futures.map((f) => f.done()), [true, true]);
      const { runTime, waitTime } = ex.stats();
      assert.equal(runTime.count, 2);
      assert.ok(Math.abs(runTime.mean - 50) < 1, `runTime.mean ${runTime.mean}`);
      assert.ok(Math.abs(waitTime.mean - 25) < 1, `waitTime.mean ${waitTime.mean} (0 and 50)`);
      const mine = ended.filter((c) => c.executor === ex);
      assert.equal(mine.length, 2);
      for (const c of mine) assert.ok(Math.abs(c.endedAt - c.startedAt - 50) < 1, `ran ${c.endedAt - c.startedAt} ms`);
      assert.ok(Math.abs(mine[1].startedAt - mine[1].queuedAt - 50) < 1, `waited ${mine[1].startedAt - mine[1].queuedAt} ms`);
      await ex.shutdown();
    });
  } finally {
    channel.asyncEnd.unsubscribe(onEnd);
  }
});
