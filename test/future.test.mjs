// CPython's test_future, case by case, with the precisions of API.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Future, CancelledError, TimeoutError, InvalidStateError, asCompleted } from 'concurrent-futures';
import {
  pendingFuture, runningFuture, cancelledFuture, cancelledAndNotifiedFuture,
  exceptionFuture, successfulFuture, captureStderr, sleep,
} from './helpers.mjs';

test('a new future is pending', () => {
  const f = new Future();
  assert.equal(f.state, 'PENDING');
  assert.equal(f.done(), false);
  assert.equal(f.running(), false);
  assert.equal(f.cancelled(), false);
});

test('cancel() returns Python\'s answer in every state', () => {
  const pending = pendingFuture();
  assert.equal(pending.cancel(), true);
  assert.equal(pending.state, 'CANCELLED');

  const running = runningFuture();
  assert.equal(running.cancel(), false);
  assert.equal(running.state, 'RUNNING');

  assert.equal(cancelledFuture().cancel(), true);
  assert.equal(cancelledAndNotifiedFuture().cancel(), true);

  const failed = exceptionFuture();
  assert.equal(failed.cancel(), false);
  assert.equal(failed.state, 'FINISHED');

  const ok = successfulFuture();
  assert.equal(ok.cancel(), false);
  assert.equal(ok.state, 'FINISHED');
});

test('cancel({ interrupt: true }) on a future no executor owns behaves like cancel()', () => {
  assert.equal(runningFuture().cancel({ interrupt: true }), false);
  assert.equal(pendingFuture().cancel({ interrupt: true }), true);
  assert.equal(successfulFuture().cancel({ interrupt: true }), false);
});

test('cancelled(), running(), done() in every state', () => {
  const table = [
    [pendingFuture(), false, false, false],
    [runningFuture(), false, true, false],
    [cancelledFuture(), true, false, true],
    [cancelledAndNotifiedFuture(), true, false, true],
    [exceptionFuture(), false, false, true],
    [successfulFuture(), false, false, true],
  ];
  for (const [f, cancelled, running, done] of table) {
    assert.equal(f.cancelled(), cancelled, String(f));
    assert.equal(f.running(), running, String(f));
    assert.equal(f.done(), done, String(f));
  }
});

test('result() with timeout 0 on unfinished futures rejects with TimeoutError', async () => {
  await assert.rejects(pendingFuture().result(0), TimeoutError);
  await assert.rejects(runningFuture().result(0), TimeoutError);
  await assert.rejects(cancelledFuture().result(0), CancelledError);
  await assert.rejects(cancelledAndNotifiedFuture().result(0), CancelledError);
  const error = new Error('boom');
  await assert.rejects(exceptionFuture(error).result(0), (e) => e === error);
  assert.equal(await successfulFuture(42).result(0), 42);
});

test('result() waits for a result set later', async () => {
  const f = new Future();
  setTimeout(() => f.setResult(42), 10);
  assert.equal(await f.result(), 42);
});

test('result() waits for an exception set later', async () => {
  const f = new Future();
  const error = new TypeError('late');
  setTimeout(() => f.setException(error), 10);
  await assert.rejects(f.result(5000), (e) => e === error);
});

test('result() times out after the given milliseconds', async () => {
  const f = new Future();
  const t0 = performance.now();
  await assert.rejects(f.result(50), TimeoutError);
  assert.ok(performance.now() - t0 >= 45);
  f.setResult(1);
  assert.equal(await f.result(), 1);
});

test('a timed-out wait names what timed out; one that did not wait at all shows its caller in the stack', async () => {
  const f = new Future();
  await assert.rejects(f.result(5), { name: 'TimeoutError', message: 'result() timed out after 5 ms' });
  await assert.rejects(f.exception(5), { name: 'TimeoutError', message: 'exception() timed out after 5 ms' });
  const it = asCompleted([f], { timeout: 5 });
  await assert.rejects(it.next(), { name: 'TimeoutError', message: '1 (of 1) futures unfinished' });
  async function askingWithoutWaiting() {
    return f.result(0);
  }
  const error = await askingWithoutWaiting().catch((e) => e);
  assert.ok(error instanceof TimeoutError);
  assert.match(error.stack, /askingWithoutWaiting/);
  // A timer fired the others: their stacks would show only Node's timer frames, so they carry none.
  const timed = await f.result(1).catch((e) => e);
  assert.equal(timed.stack, 'TimeoutError: result() timed out after 1 ms');
  f.setResult(7);
  assert.equal(await f.result(1000), 7);
});

test('result() of a future cancelled while waited for rejects with CancelledError', async () => {
  const f = new Future();
  setTimeout(() => f.cancel(), 10);
  await assert.rejects(f.result(5000), CancelledError);
});

test('result() rejects on a bad timeout', async () => {
  await assert.rejects(new Future().result('10'), TypeError);
  await assert.rejects(new Future().result(NaN), TypeError);
});

test('exception() in every state', async () => {
  await assert.rejects(pendingFuture().exception(0), TimeoutError);
  await assert.rejects(runningFuture().exception(0), TimeoutError);
  await assert.rejects(cancelledFuture().exception(0), CancelledError);
  await assert.rejects(cancelledAndNotifiedFuture().exception(0), CancelledError);
  const error = new Error('boom');
  assert.equal(await exceptionFuture(error).exception(0), error);
  assert.equal(await successfulFuture().exception(0), undefined);
});

test('exception() waits for the exception', async () => {
  const f = new Future();
  const error = new Error('later');
  setTimeout(() => f.setException(error), 10);
  assert.equal(await f.exception(), error);
});

test('done callbacks run with the future, in registration order, synchronously', () => {
  const f = new Future();
  const calls = [];
  f.addDoneCallback((fut) => calls.push(['a', fut]));
  f.addDoneCallback((fut) => calls.push(['b', fut]));
  f.setResult(5);
  assert.deepEqual(calls, [['a', f], ['b', f]]);
});

test('a done callback sees the exception', async () => {
  const f = new Future();
  let seen;
  f.addDoneCallback((fut) => { seen = fut; });
  f.setException(new Error('x'));
  assert.equal((await seen.exception()).message, 'x');
});

test('a done callback runs on cancel', () => {
  const f = new Future();
  let cancelled;
  f.addDoneCallback((fut) => { cancelled = fut.cancelled(); });
  assert.equal(f.cancel(), true);
  assert.equal(cancelled, true);
});

test('a throwing callback is reported on stderr and does not stop the others', async () => {
  const f = new Future();
  const calls = [];
  const stderr = await captureStderr(() => {
    f.addDoneCallback(() => calls.push(1));
    f.addDoneCallback(() => { throw new Error('doh!'); });
    f.addDoneCallback(() => calls.push(3));
    f.setResult(5); // does not throw
  });
  assert.deepEqual(calls, [1, 3]);
  assert.match(stderr, /exception calling callback for <Future state=finished returned number>/);
  assert.match(stderr, /doh!/);
});

test('a callback added to a done future runs at once', async () => {
  for (const f of [successfulFuture(5), exceptionFuture(), cancelledFuture()]) {
    let called = 0;
    f.addDoneCallback(() => called++);
    assert.equal(called, 1);
  }
  const stderr = await captureStderr(() => successfulFuture().addDoneCallback(() => { throw new Error('now'); }));
  assert.match(stderr, /now/);
});

test('addDoneCallback refuses a non-function', () => {
  assert.throws(() => new Future().addDoneCallback(42), TypeError);
});

test('callbacks run once each, never twice', () => {
  const f = new Future();
  let n = 0;
  f.addDoneCallback(() => n++);
  f.setResult(1);
  assert.throws(() => f.setResult(2), InvalidStateError);
  assert.equal(f.cancel(), false);
  assert.equal(n, 1);
});

test('waiters are woken before callbacks run', async () => {
  const f = new Future();
  const order = [];
  const waiting = f.result().then(() => order.push('waiter'));
  f.addDoneCallback(() => order.push('callback'));
  f.setResult(1);
  order.push('after setResult');
  await waiting;
  assert.deepEqual(order, ['callback', 'after setResult', 'waiter']);
});

test('setRunningOrNotifyCancel(): Python\'s rules', () => {
  const f = new Future();
  assert.equal(f.setRunningOrNotifyCancel(), true);
  assert.equal(f.running(), true);
  assert.throws(() => f.setRunningOrNotifyCancel(), { message: 'Future in unexpected state' });

  const c = new Future();
  c.cancel();
  assert.equal(c.setRunningOrNotifyCancel(), false);
  assert.throws(() => c.setRunningOrNotifyCancel(), { message: 'Future in unexpected state' });

  const done = successfulFuture();
  assert.throws(() => done.setRunningOrNotifyCancel(), { message: 'Future in unexpected state' });
});

test('setResult / setException on a done future throw InvalidStateError', () => {
  for (const make of [successfulFuture, exceptionFuture, cancelledFuture, cancelledAndNotifiedFuture]) {
    const f = make();
    assert.throws(() => f.setResult(1), InvalidStateError);
    assert.throws(() => f.setException(new Error()), InvalidStateError);
  }
  const f = successfulFuture(1);
  assert.throws(() => f.setResult(2), (e) => e instanceof InvalidStateError && e.name === 'InvalidStateError' && /FINISHED/.test(e.message));
});

test('a future is not thenable', async () => {
  const f = successfulFuture(1);
  assert.equal('then' in f, false);
  assert.equal(await Promise.resolve(f), f);
  async function give() { return f; }
  assert.equal(await give(), f);
});

test('the string form tells the state, as Python\'s repr', () => {
  assert.equal(String(pendingFuture()), '<Future state=pending>');
  assert.equal(String(runningFuture()), '<Future state=running>');
  assert.equal(String(cancelledFuture()), '<Future state=cancelled>');
  assert.equal(String(exceptionFuture(new TypeError('x'))), '<Future state=finished raised TypeError>');
  assert.equal(String(successfulFuture([1])), '<Future state=finished returned Array>');
});

test('a failed future nobody asks about causes no unhandled rejection', () => {
  const script = `
    import { Future } from 'concurrent-futures';
    process.on('unhandledRejection', () => { console.log('UNHANDLED'); process.exit(3); });
    const f = new Future();
    f.setException(new Error('ignored'));
    const g = new Future();
    g.cancel();
    setTimeout(() => console.log('clean'), 20);
  `;
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  assert.equal(out.stdout.trim(), 'clean');
});

test('error classes carry their names and Python\'s hierarchy', async () => {
  const m = await import('concurrent-futures');
  for (const name of ['CancelledError', 'TimeoutError', 'InvalidStateError', 'BrokenExecutorError', 'BrokenThreadPoolError', 'BrokenProcessPoolError', 'ExecutorShutdownError']) {
    const e = new m[name]('x');
    assert.ok(e instanceof Error);
    assert.equal(e.name, name);
  }
  assert.ok(new m.BrokenThreadPoolError() instanceof m.BrokenExecutorError);
  assert.ok(new m.BrokenProcessPoolError() instanceof m.BrokenExecutorError);
  assert.equal(new m.ExecutorShutdownError().message, 'cannot schedule new futures after shutdown');
  await sleep(0);
});
