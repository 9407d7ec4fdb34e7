// Property-based tests of the future/wait/executor invariants: random
// interleavings of submit, cancel, complete, wait, asCompleted and shutdown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AsyncPoolExecutor, Future, wait, asCompleted, FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED } from 'concurrent-futures';
import { within } from './helpers.mjs';

const tick = () => new Promise((resolve) => setImmediate(resolve));

const command = fc.oneof(
  fc.record({ op: fc.constant('submit') }),
  fc.record({ op: fc.constant('future') }),
  fc.record({ op: fc.constant('cancel'), i: fc.nat(), interrupt: fc.boolean() }),
  fc.record({ op: fc.constant('complete'), i: fc.nat(), fail: fc.boolean() }),
  fc.record({ op: fc.constant('wait'), picks: fc.array(fc.nat(), { maxLength: 6 }), when: fc.constantFrom(FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED), timeout: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }) }),
  fc.record({ op: fc.constant('asCompleted'), picks: fc.array(fc.nat(), { maxLength: 6 }) }),
  fc.record({ op: fc.constant('tick') }),
  fc.record({ op: fc.constant('shutdown'), cancelFutures: fc.boolean() }),
);

test('random interleavings: every future ends once, callbacks once each in order, waiters see each once, nothing hangs', { timeout: 120_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.array(command, { maxLength: 40 }), async (maxWorkers, commands) => {
      const ex = new AsyncPoolExecutor(maxWorkers);
      const entries = []; // { future, gate?, calls: [] }
      const waits = [];
      const iterations = [];
      let isShutdown = false;
      const pick = (i) => entries[i % entries.length];
      try {
        for (const c of commands) {
          if (c.op === 'submit') {
            if (isShutdown) {
              assert.throws(() => ex.submit(() => 1), /cannot schedule new futures after shutdown/);
              continue;
            }
            const gate = {};
            gate.promise = new Promise((resolve, reject) => Object.assign(gate, { resolve, reject }));
            gate.promise.catch(() => {}); // a gate of a task that never runs is nobody's concern
            const future = ex.submit(() => gate.promise);
            entries.push(track(future, gate));
          } else if (c.op === 'future') {
            entries.push(track(new Future(), null));
          } else if (entries.length === 0) {
            continue;
          } else if (c.op === 'cancel') {
            const e = pick(c.i);
            const before = e.future.state;
            const answer = e.future.cancel({ interrupt: c.interrupt });
            if (before === 'PENDING' || before === 'CANCELLED') assert.equal(answer, true);
            if (before === 'FINISHED') assert.equal(answer, false);
            if (before === 'RUNNING' && !c.interrupt) assert.equal(answer, false);
            if (before === 'RUNNING' && c.interrupt && e.gate) assert.equal(answer, true);
            assert.equal(e.future.cancelled(), answer);
          } else if (c.op === 'complete') {
            const e = pick(c.i);
            if (e.gate) {
              if (c.fail) e.gate.reject(new Error('task failed'));
              else e.gate.resolve('value');
            } else if (!e.future.done()) {
              if (c.fail) e.future.setException(new Error('failed'));
              else e.future.setResult('value');
            }
          } else if (c.op === 'wait') {
            const fs = c.picks.map((i) => pick(i).future);
            waits.push({ fs, when: c.when, timeout: c.timeout, promise: wait(fs, { returnWhen: c.when, timeout: c.timeout }) });
          } else if (c.op === 'asCompleted') {
            const fs = c.picks.map((i) => pick(i).future);
            iterations.push({ fs, promise: collect(asCompleted(fs)) });
          } else if (c.op === 'tick') {
            await tick();
          } else if (c.op === 'shutdown') {
            isShutdown = true;
            void ex.shutdown({ wait: false, cancelFutures: c.cancelFutures });
          }
        }

        // Let every task end: open every gate, finish every bare future.
        for (const e of entries) {
          if (e.gate) e.gate.resolve('end');
          else if (!e.future.done()) e.future.setResult('end');
        }
        await within(5000, ex.shutdown(), 'shutdown');

        for (const e of entries) {
          assert.equal(e.future.done(), true, 'every future ends');
          assert.deepEqual(e.calls, ['first', 'second'], 'callbacks run once each, in order');
        }
        for (const w of waits) {
          const { done, notDone } = await within(5000, w.promise, 'wait');
          const distinct = new Set(w.fs);
          assert.equal(done.size + notDone.size, distinct.size);
          for (const f of done) assert.ok(f.done());
          if (w.when === ALL_COMPLETED && w.timeout === undefined) assert.equal(notDone.size, 0);
        }
        for (const it of iterations) {
          const seen = await within(5000, it.promise, 'asCompleted');
          assert.equal(seen.length, new Set(it.fs).size, 'asCompleted yields each distinct future once');
          assert.equal(new Set(seen).size, seen.length);
        }
        const s = ex.stats();
        const submitted = entries.filter((e) => e.gate).length;
        assert.equal(s.queued, 0);
        assert.equal(s.running, 0);
        assert.equal(s.completed + s.cancelled, submitted);
      } finally {
        // Also when an assertion failed: no gated task may keep the executor (and the test file) alive.
        for (const e of entries) e.gate?.resolve('end');
        await within(5000, ex.shutdown({ cancelFutures: true }), 'shutdown');
      }
    }),
    // A run that hangs fails with its seed instead of running into the test's timeout.
    { numRuns: 800, timeout: 20_000 },
  );
});

function track(future, gate) {
  const entry = { future, gate, calls: [] };
  future.addDoneCallback(() => entry.calls.push('first'));
  future.addDoneCallback(() => entry.calls.push('second'));
  return entry;
}

async function collect(iterator) {
  const out = [];
  for await (const f of iterator) out.push(f);
  return out;
}

test('map keeps input order whatever the completion order', { timeout: 120_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 5 }),
      fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 30 }),
      fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
      async (maxWorkers, delays, buffersize) => {
        const ex = new AsyncPoolExecutor(maxWorkers);
        const task = async (ticks, i) => {
          for (let k = 0; k < ticks; k++) await tick();
          return i;
        };
        try {
          const out = [];
          for await (const r of ex.map(task, delays, delays.keys(), { buffersize })) out.push(r);
          assert.deepEqual(out, [...delays.keys()]);
        } finally {
          await within(5000, ex.shutdown());
        }
      },
    ),
    { numRuns: 300, timeout: 20_000 },
  );
});

test('map under early exit, failures, submits and shutdown: a prefix in order, then the right end; every item counted once', { timeout: 120_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 4 }),
      fc.array(fc.record({ ticks: fc.integer({ min: 0, max: 3 }), fail: fc.boolean() }, { requiredKeys: ['ticks', 'fail'] }), { maxLength: 25 }),
      fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
      fc.option(fc.nat(), { nil: undefined }),
      fc.option(fc.record({ after: fc.nat(), cancelFutures: fc.boolean(), wait: fc.boolean() }), { nil: undefined }),
      fc.integer({ min: 0, max: 3 }),
      async (maxWorkers, items, buffersize, breakAfter, shutdown, extraSubmits) => {
        const ex = new AsyncPoolExecutor(maxWorkers);
        const task = async (ticks, fail, i) => {
          for (let k = 0; k < ticks; k++) await tick();
          if (fail) throw new RangeError(`item ${i}`);
          return i;
        };
        try {
          const it = ex.map(task, items.map((x) => x.ticks), items.map((x) => x.fail), items.keys(), { buffersize });
          const others = Array.from({ length: extraSubmits }, (_, i) => ex.submit(task, 0, false, -1 - i));
          const out = [];
          let ended = 'done';
          try {
            await within(5000, (async () => {
              for await (const r of it) {
                out.push(r);
                if (shutdown && out.length === shutdown.after % (items.length + 1)) {
                  await ex.shutdown({ cancelFutures: shutdown.cancelFutures, wait: shutdown.wait });
                }
                if (breakAfter !== undefined && out.length >= breakAfter) break;
              }
            })(), 'the map loop');
          } catch (error) {
            ended = error.name;
          }
          // What was yielded is the input's prefix, in order, and stops before the first failure.
          assert.deepEqual(out, [...items.keys()].slice(0, out.length));
          const firstFail = items.findIndex((x) => x.fail);
          if (firstFail >= 0) assert.ok(out.length <= firstFail);
          if (ended === 'RangeError') assert.equal(out.length, firstFail);
          else if (ended === 'CancelledError') assert.ok(shutdown?.cancelFutures, 'cancelled without a cancelling shutdown');
          else if (ended === 'ExecutorShutdownError') assert.ok(shutdown !== undefined && buffersize !== undefined);
          else assert.equal(ended, 'done');
          if (ended === 'done' && breakAfter === undefined && !shutdown?.cancelFutures) assert.equal(out.length, items.length);
          await within(5000, ex.shutdown(), 'shutdown');
          await within(5000, wait(others), 'the other submits');
          const s = ex.stats();
          assert.deepEqual([s.queued, s.running], [0, 0]);
          // With buffersize, input left unread when the loop ended was never submitted.
          const counted = s.completed + s.cancelled - extraSubmits;
          if (buffersize === undefined) assert.equal(counted, items.length);
          else assert.ok(counted >= out.length && counted <= items.length, `counted ${counted}`);
        } finally {
          await within(5000, ex.shutdown({ cancelFutures: true }), 'shutdown');
        }
      },
    ),
    { numRuns: 300, timeout: 20_000 },
  );
});
