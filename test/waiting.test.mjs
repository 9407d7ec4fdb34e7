// CPython's test_wait and test_as_completed, with this package's precisions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  Future, wait, asCompleted, FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED, TimeoutError, AsyncPoolExecutor,
} from 'concurrent-futures';
import {
  pendingFuture, runningFuture, cancelledFuture, cancelledAndNotifiedFuture,
  exceptionFuture, successfulFuture, sleep, within,
} from './helpers.mjs';
import { collected } from './gc.mjs';

const later = (ms, fn) => setTimeout(fn, ms);

test('constants are Python\'s strings', () => {
  assert.equal(FIRST_COMPLETED, 'FIRST_COMPLETED');
  assert.equal(FIRST_EXCEPTION, 'FIRST_EXCEPTION');
  assert.equal(ALL_COMPLETED, 'ALL_COMPLETED');
});

test('wait FIRST_COMPLETED returns when one future finishes', async () => {
  const f1 = new Future();
  const f2 = new Future();
  const f3 = new Future();
  later(10, () => f1.setResult(1));
  const { done, notDone } = await wait([f1, f2, f3], { returnWhen: FIRST_COMPLETED });
  assert.deepEqual([...done], [f1]);
  assert.deepEqual([...notDone], [f2, f3]);
});

test('wait FIRST_COMPLETED with some already done returns at once', async () => {
  const ok = successfulFuture();
  const bad = exceptionFuture();
  const pending = pendingFuture();
  const { done, notDone } = await within(1000, wait([ok, bad, pending], { returnWhen: FIRST_COMPLETED }));
  assert.deepEqual(done, new Set([ok, bad]));
  assert.deepEqual(notDone, new Set([pending]));
});

test('wait FIRST_EXCEPTION returns on the first failure', async () => {
  const ok = successfulFuture();
  const cancelled = cancelledAndNotifiedFuture();
  const failing = new Future();
  const slow = new Future();
  later(10, () => failing.setException(new Error('x')));
  const { done, notDone } = await within(2000, wait([ok, cancelled, failing, slow], { returnWhen: FIRST_EXCEPTION }));
  assert.deepEqual(done, new Set([ok, cancelled, failing]));
  assert.deepEqual(notDone, new Set([slow]));
});

test('wait FIRST_EXCEPTION with a failure already there returns at once', async () => {
  const bad = exceptionFuture();
  const pending = pendingFuture();
  const { done, notDone } = await within(1000, wait([bad, pending], { returnWhen: FIRST_EXCEPTION }));
  assert.deepEqual(done, new Set([bad]));
  assert.deepEqual(notDone, new Set([pending]));
});

test('wait FIRST_EXCEPTION ignores cancellation and success until all are done', async () => {
  const a = new Future();
  const b = new Future();
  later(5, () => a.cancel());
  later(15, () => b.setResult(2));
  const { done, notDone } = await within(2000, wait([a, b], { returnWhen: FIRST_EXCEPTION }));
  assert.deepEqual(done, new Set([a, b]));
  assert.equal(notDone.size, 0);
});

test('wait ALL_COMPLETED returns when every future is done', async () => {
  const fs = [successfulFuture(), exceptionFuture(), cancelledFuture(), new Future(), new Future()];
  later(5, () => fs[3].setResult(3));
  later(15, () => fs[4].setException(new Error('late')));
  const { done, notDone } = await within(2000, wait(fs));
  assert.deepEqual(done, new Set(fs));
  assert.equal(notDone.size, 0);
});

test('the result of wait reads like a plain object of two sets, the same sets each time', async () => {
  const fs = [successfulFuture(), exceptionFuture(), cancelledFuture()];
  const result = await wait(fs);
  assert.deepEqual(Object.keys(result).sort(), ['done', 'notDone']);
  assert.equal(result.done, result.done);
  const { done, notDone } = { ...result };
  assert.ok(done instanceof Set && notDone instanceof Set);
  assert.deepEqual([...done], fs);
  assert.equal(notDone.size, 0);
});

test('wait with a timeout resolves with what is done, never rejects', async () => {
  const ok = successfulFuture();
  const slow = new Future();
  const t0 = performance.now();
  const { done, notDone } = await wait([ok, slow], { timeout: 60, returnWhen: ALL_COMPLETED });
  assert.ok(performance.now() - t0 >= 55);
  assert.deepEqual(done, new Set([ok]));
  assert.deepEqual(notDone, new Set([slow]));
});

test('wait with timeout 0 does not wait at all', async () => {
  const slow = new Future();
  const { done, notDone } = await within(100, wait([slow], { timeout: 0 }));
  assert.equal(done.size, 0);
  assert.deepEqual(notDone, new Set([slow]));
});

test('wait counts duplicates once', async () => {
  const f = new Future();
  later(5, () => f.setResult(1));
  const { done, notDone } = await within(1000, wait([f, f, f]));
  assert.deepEqual([...done], [f]);
  assert.equal(notDone.size, 0);
});

test('duplicates count once even when the iterable itself calls wait() and asCompleted() between futures', async () => {
  const [a, d, other] = [new Future(), new Future(), new Future()];
  a.setResult('a');
  d.setResult('d');
  function* reentrant(items) {
    for (const f of items) {
      wait([f, other], { timeout: 0 });
      asCompleted([other, f]);
      yield f;
    }
  }
  const seen = [];
  for await (const f of asCompleted(reentrant([d, d, a, d]))) seen.push(await f.result());
  assert.deepEqual(seen.sort(), ['a', 'd']);
  const { done, notDone } = await wait(reentrant([a, d, a, other, d]), { timeout: 0 });
  assert.deepEqual([...done], [a, d]);
  assert.deepEqual([...notDone], [other]);
  // An array whose elements are read through a proxy that waits in between.
  const proxied = new Proxy([d, a, d], { get: (t, k, r) => (wait([a, d], { timeout: 0 }), Reflect.get(t, k, r)) });
  const fromProxy = [];
  for await (const f of asCompleted(proxied)) fromProxy.push(f);
  assert.deepEqual(fromProxy, [d, a]);
});

test('wait on no futures resolves at once', async () => {
  const { done, notDone } = await within(100, wait([]));
  assert.equal(done.size + notDone.size, 0);
});

test('a cancelled future wakes wait at once (deliberate difference)', async () => {
  const f = new Future();
  later(5, () => f.cancel());
  const { done } = await within(1000, wait([f], { returnWhen: FIRST_COMPLETED }));
  assert.deepEqual([...done], [f]);
});

test('wait rejects bad arguments with a clear error', async () => {
  await assert.rejects(wait([new Future()], { returnWhen: 'SOMETIMES' }), /Invalid return condition: SOMETIMES/);
  await assert.rejects(wait(42), /expects an iterable of futures/);
  await assert.rejects(wait([Promise.resolve(1)]), /expects futures, got an instance of Promise at index 0/);
  await assert.rejects(wait([new Future()], { timeout: 'soon' }), TypeError);
});

test('wait leaves nothing behind on futures it no longer watches', { timeout: 10_000 }, async () => {
  const g = new Future(); // pending for the whole test: whatever it holds on to stays alive
  const [early, timedOut] = await (async () => {
    const f = new Future();
    later(5, () => f.setResult(1));
    const first = await wait([f, g], { returnWhen: FIRST_COMPLETED });
    assert.deepEqual(first.notDone, new Set([g]));
    const late = await wait([g], { timeout: 5 });
    assert.deepEqual(late.notDone, new Set([g]));
    return [new WeakRef(first), new WeakRef(late)];
  })();
  assert.equal(await collected(early), true, 'what wait() returned is still held after FIRST_COMPLETED');
  assert.equal(await collected(timedOut), true, 'what wait() returned is still held after its timeout');
  assert.equal(g.done(), false);
});

test('asCompleted yields done futures first, then the rest as they complete', async () => {
  const done1 = successfulFuture(1);
  const done2 = exceptionFuture();
  const slow = new Future();
  const fast = new Future();
  later(30, () => slow.setResult('slow'));
  later(5, () => fast.setResult('fast'));
  const seen = [];
  for await (const f of asCompleted([done1, slow, done2, fast])) seen.push(f);
  assert.deepEqual(seen, [done1, done2, fast, slow]);
});

test('asCompleted yields each distinct future once', async () => {
  const f = successfulFuture();
  const g = new Future();
  later(5, () => g.setResult(1));
  const seen = [];
  for await (const x of asCompleted([f, f, g, g, f])) seen.push(x);
  assert.deepEqual(seen, [f, g]);
});

test('asCompleted throws TimeoutError("N (of M) futures unfinished") and leaves nothing behind', { timeout: 10_000 }, async () => {
  const ok = successfulFuture();
  const a = new Future();
  const b = new Future();
  const seen = [];
  const iterator = await (async () => {
    const it = asCompleted([ok, a, b], { timeout: 50 });
    await assert.rejects(
      (async () => {
        for await (const f of it) seen.push(f);
      })(),
      (e) => e instanceof TimeoutError && e.message === '2 (of 3) futures unfinished',
    );
    return new WeakRef(it);
  })();
  assert.deepEqual(seen, [ok]);
  assert.equal(await collected(iterator), true, 'the pending futures still hold the timed-out iterator');
  assert.equal(a.done() || b.done(), false);
});

test('asCompleted timeout counts from the call', async () => {
  const a = new Future();
  const it = asCompleted([a], { timeout: 40 });
  await sleep(60);
  await assert.rejects(it.next(), /1 \(of 1\) futures unfinished/);
});

test('asCompleted with timeout 0 yields what is done, then throws', async () => {
  const ok = successfulFuture();
  const it = asCompleted([ok, new Future()], { timeout: 0 });
  assert.equal((await it.next()).value, ok);
  await assert.rejects(it.next(), TimeoutError);
});

test('a cancelled future is yielded by asCompleted at once', async () => {
  const f = new Future();
  later(5, () => f.cancel());
  const seen = [];
  for await (const x of asCompleted([f])) seen.push(x);
  assert.deepEqual(seen, [f]);
});

test('breaking out of asCompleted leaves nothing behind on the futures it watched', { timeout: 10_000 }, async () => {
  const ok = successfulFuture();
  const pending = new Future();
  const iterator = await (async () => {
    const it = asCompleted([ok, pending]);
    for await (const f of it) {
      assert.equal(f, ok);
      break;
    }
    return new WeakRef(it);
  })();
  assert.equal(await collected(iterator), true, 'the pending future still holds the iterator left early');
  assert.equal(pending.done(), false);
});

test('timed waits on futures others wait on too leave nothing behind, and the others are still woken', { timeout: 20_000 }, async () => {
  // One future (a waiter's one place held directly), a few (places sized to the futures), many (places grown).
  for (const count of [1, 3, 100]) {
    const futures = Array.from({ length: count }, () => new Future());
    const shared = futures[count - 1];
    const stays = shared.result();
    const refs = await (async () => {
      const it = asCompleted(futures, { timeout: 20 });
      const [timedOut, waited] = await Promise.allSettled([it.next(), wait(futures, { timeout: 20 }), shared.result(20)]);
      assert.ok(timedOut.reason instanceof TimeoutError, `count ${count}: ${timedOut.reason}`);
      assert.equal(waited.value.notDone.size, count);
      return [new WeakRef(it)];
    })();
    assert.equal(await collected(refs[0]), true, `count ${count}: the pending futures still hold the timed-out iterator`);
    shared.setResult('ok');
    assert.equal(await within(1000, stays), 'ok', `count ${count}: the waiter left behind was not woken`);
  }
});

test('asCompleted over thousands of futures, several next() waiting at once, yields each once', { timeout: 20_000 }, async () => {
  const futures = Array.from({ length: 3000 }, (_, i) => {
    const f = new Future();
    if (i % 3 === 0) f.setResult(i);
    return f;
  });
  const it = asCompleted(futures);
  const seen = new Set();
  for (let i = 0; i < 1000; i++) seen.add((await it.next()).value);
  // Three callers at a time wait; futures complete behind them, in batches of two.
  const waiting = [];
  for (let i = 0; i < 3000; i++) {
    if (i % 3 !== 0) {
      if (waiting.length < 3) waiting.push(it.next());
      futures[i].setResult(i);
    }
    if (waiting.length === 3) for (const r of await Promise.all(waiting.splice(0))) seen.add(r.value);
  }
  for (const r of await Promise.all(waiting)) seen.add(r.value);
  for (let r = await it.next(); !r.done; r = await it.next()) seen.add(r.value);
  assert.equal(seen.size, 3000);
  assert.deepEqual([...seen].map((f) => futures.indexOf(f)).sort((a, b) => a - b), futures.map((_, i) => i));
});

test('asCompleted over executor futures returns each result once (seed pattern 2)', { timeout: 10_000 }, async () => {
  const executor = new AsyncPoolExecutor(10);
  try {
    const fs = Array.from({ length: 10 }, (_, i) => executor.submit(async (n) => { await sleep(Math.random() * 20); return n; }, i));
    const results = [];
    for await (const f of asCompleted(fs)) results.push(await f.result());
    assert.deepEqual(results.sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  } finally {
    await executor.shutdown();
  }
});

test('asCompleted refuses what is not an iterable of futures', () => {
  assert.throws(() => asCompleted(null), /expects an iterable of futures/);
  assert.throws(() => asCompleted([1]), /expects futures, got number 1 at index 0/);
});

test('a completion wakes each watcher once, without re-scanning the others', async () => {
  const fs = Array.from({ length: 100_000 }, () => new Future());
  const waiting = wait(fs);
  const iter = asCompleted(fs);
  let scans = 0;
  const done = Future.prototype.done;
  Future.prototype.done = function () { scans++; return done.call(this); };
  try {
    for (const f of fs) f.setResult(1);
  } finally {
    Future.prototype.done = done;
  }
  // Completing N futures asks done() of a bounded number of futures per completion, not N.
  assert.ok(scans <= 3 * fs.length, `done() was asked ${scans} times for ${fs.length} completions`);
  const result = await waiting;
  let n = 0;
  for await (const _ of iter) n++;
  assert.equal(result.done.size, fs.length);
  assert.equal(n, fs.length);
});

// Calls users make at the same time on one asCompleted iterator.
test('asCompleted: two next() calls at once get two different futures', { timeout: 10_000 }, async () => {
  const a = new Future();
  const b = new Future();
  const it = asCompleted([a, b]);
  const first = it.next();
  const second = it.next();
  const third = it.next();
  a.setResult('a');
  b.setResult('b');
  const got = await within(5000, Promise.all([first, second]));
  assert.deepEqual(new Set(got.map((r) => r.value)), new Set([a, b]));
  assert.deepEqual(await within(5000, third), { value: undefined, done: true });
});

test('asCompleted: a next() waiting when return() is called settles as done', { timeout: 10_000 }, async () => {
  const it = asCompleted([new Future()]);
  const pending = it.next();
  await it.return();
  assert.deepEqual(await within(2000, pending), { value: undefined, done: true });
});

test('asCompleted: every next() waiting when the timeout passes rejects with TimeoutError', { timeout: 10_000 }, async () => {
  const it = asCompleted([new Future(), new Future()], { timeout: 50 });
  const results = await within(5000, Promise.allSettled([it.next(), it.next()]));
  for (const r of results) {
    assert.equal(r.status, 'rejected');
    assert.ok(r.reason instanceof TimeoutError);
    assert.equal(r.reason.message, '2 (of 2) futures unfinished');
  }
});

test('the waiters of one future are woken in the order they came, whatever their kind; those that left are not', async () => {
  const f = new Future();
  const order = [];
  const first = f.result(1).then(() => order.push('never'), () => order.push('timed out first'));
  f.result().then(() => order.push('result'));
  const it = asCompleted([f]);
  wait([f], { timeout: 1 }).then(({ notDone }) => order.push(`wait timed out (${notDone.size})`));
  wait([f]).then(() => order.push('wait'));
  it.next().then(() => order.push('asCompleted'));
  const left = asCompleted([f]);
  left.next().then((r) => order.push(`left: done ${r.done}`));
  f.exception(2).then(() => order.push('never'), () => order.push('exception timed out'));
  f.exception().then(() => order.push('exception'));
  await first;
  await left.return();
  await sleep(20);
  f.setResult(1);
  await sleep(5);
  assert.deepEqual(order, [
    'timed out first', 'wait timed out (1)', 'left: done true', 'exception timed out',
    'result', 'asCompleted', 'wait', 'exception',
  ]);
});

test('timed waits of many lengths on one future each end at their own time; none holds on to what timed out', { timeout: 10_000 }, async () => {
  const g = new Future(); // pending throughout: whatever it still holds stays alive
  const t0 = performance.now();
  const lengths = [40, 5, 2.5, 25, 1, 12, 25, 0.2, 60];
  const ended = [];
  const waits = lengths.map((ms, i) => {
    const end = () => ended.push({ i, ms, after: performance.now() - t0 });
    if (i % 3 === 0) return g.result(ms).then(() => assert.fail('resolved'), end);
    if (i % 3 === 1) return wait([g], { timeout: ms }).then(end);
    return asCompleted([g], { timeout: ms }).next().then(() => assert.fail('resolved'), end);
  });
  // Done before their time: these resolve with the value and never time out.
  const f = new Future();
  const early = [f.result(30), wait([f], { timeout: 30 }), asCompleted([f], { timeout: 30 }).next()];
  later(3, () => f.setResult('value'));
  assert.equal(await early[0], 'value');
  assert.equal((await early[1]).done.size, 1);
  assert.equal((await early[2]).value, f);
  await Promise.all(waits);
  for (const { ms, after } of ended) assert.ok(after >= ms - 1, `a wait of ${ms} ms ended after ${after.toFixed(1)} ms`);
  const byLength = ended.map((e) => Math.ceil(e.ms));
  assert.deepEqual(byLength, [...byLength].sort((a, b) => a - b), 'shorter waits end first');
  const promise = new WeakRef(g.result(1).catch(() => {}));
  const waited = new WeakRef(await wait([g], { timeout: 1 }));
  assert.equal(await collected(promise), true, 'a timed-out result() is still held by its future');
  assert.equal(await collected(waited), true, 'a timed-out wait() is still held by its future');
  assert.equal(g.done(), false);
});

test('a timed wait started behind a large batch of its length ends on time', { timeout: 20_000 }, async () => {
  const g = new Future();
  // 50,000 waits of 100 ms, all overdue by the time their timer runs: ending them takes a while, and
  // the wait behind them is timed from the clock after that, not from when the batch began to end.
  for (let i = 0; i < 50_000; i++) wait([g], { timeout: 100 });
  const overdue = performance.now() + 110;
  while (performance.now() < overdue);
  const t0 = performance.now();
  const [probe, plain] = await Promise.all([
    wait([g], { timeout: 100 }).then(() => performance.now() - t0),
    new Promise((resolve) => setTimeout(() => resolve(performance.now() - t0), 100)),
  ]);
  assert.ok(probe - plain < 20, `the wait ended ${probe.toFixed(1)} ms after it began, a timer beside it ${plain.toFixed(1)} ms`);
});

test('timed waits of many lengths that end early hold no memory once ended', { timeout: 30_000 }, () => {
  // In a process of its own: what other tests leave to collect would hide what this one holds.
  const script = `
    import { Future } from 'concurrent-futures';
    const heap = () => (gc(), gc(), process.memoryUsage().heapUsed);
    const warm = new Future();
    warm.setResult(0);
    await warm.result(5);
    const before = heap();
    // A timeout counted down to a deadline gives each wait its own length.
    for (let i = 0; i < 20_000; i++) {
      const f = new Future();
      const promise = f.result(60_000 + i);
      f.setResult(i);
      if ((await promise) !== i) throw new Error('wrong value');
    }
    console.log(heap() - before);
  `;
  const out = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 25_000 });
  assert.equal(out.status, 0, out.stderr);
  const retained = Number(out.stdout);
  assert.ok(retained < 1.5e6, `20,000 waits that ended early still hold ${(retained / 1e6).toFixed(1)} MB`);
});

test('a wait length in use keeps its one timer after waits of many other lengths ended early', { timeout: 30_000 }, () => {
  const script = `
    import { createHook } from 'node:async_hooks';
    import { Future } from 'concurrent-futures';
    const endEarly = async (ms, value) => {
      const f = new Future();
      const promise = f.result(ms);
      f.setResult(value);
      if ((await promise) !== value) throw new Error('wrong value');
    };
    // Forty waits of an hour and a little more, each of its own length, ended early (an asCompleted over
    // forty futures with a timeout of an hour starts such waits).
    for (let i = 0; i < 40; i++) await endEarly(3_600_000 + i, i);
    let timers = 0;
    createHook({ init: (id, type) => { if (type === 'Timeout') timers++; } }).enable();
    for (let i = 0; i < 10_000; i++) await endEarly(1000, i);
    console.log(timers);
  `;
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 25_000 });
  assert.equal(out.status, 0, out.stderr);
  assert.ok(Number(out.stdout) <= 2, `10,000 waits of 1,000 ms, one after another, made ${out.stdout.trim()} Node timers`);
});

test('a timed wait that ended early does not hold the process open for its timeout', () => {
  const script = `
    import { Future, wait, asCompleted } from 'concurrent-futures';
    const f = new Future();
    setTimeout(() => f.setResult(1), 20);
    const it = asCompleted([f], { timeout: 60_000 });
    console.log(await f.result(60_000), (await wait([f], { timeout: 60_000 })).done.size, (await it.next()).value === f);
    const g = new Future();
    setTimeout(() => g.setResult(2), 20);
    console.log(await g.exception(3_600_000));
  `;
  const t0 = performance.now();
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(out.status, 0, out.stderr);
  assert.equal(out.stdout, '1 1 true\nundefined\n');
  assert.ok(performance.now() - t0 < 10_000, 'the process waited for a timer of a wait that had ended');
});
