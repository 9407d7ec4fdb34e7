// Every executor publishes every task on tracingChannel('concurrent-futures:task'): the events in
// order, one context per task (per map item), its fields; nothing when no one listens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dc from 'node:diagnostics_channel';
import { fileURLToPath } from 'node:url';
import { AsyncPoolExecutor, ThreadPoolExecutor, ProcessPoolExecutor, CancelledError } from 'concurrent-futures';
import { executorWithWorker, redisForTests, redisSkipReason } from './redis-server.mjs';
import { until } from './helpers.mjs';
import { tasks } from './fixtures/bullmq-tasks.mjs';

const EVENTS = ['start', 'end', 'asyncStart', 'asyncEnd', 'error'];
const channel = dc.tracingChannel('concurrent-futures:task');
const TASKS = fileURLToPath(new URL('./fixtures/bullmq-tasks.mjs', import.meta.url));
const skipReason = redisSkipReason();
const redis = skipReason ? null : redisForTests(skipReason);
const bullmq = skipReason ? null : await import('concurrent-futures/bullmq');

/** Subscribes to all five events; `seen` maps each context to the events it was published with, in order. */
function listen(ctx, ex) {
  const seen = new Map();
  const log = [];
  // A BullMQ worker in this process runs its tasks on a pool of its own, which publishes too: only ex's count here.
  const subscribers = Object.fromEntries(EVENTS.map((event) => [event, (c) => {
    if (ex !== undefined && c.executor !== ex) return;
    if (!seen.has(c)) seen.set(c, []);
    seen.get(c).push(event);
    log.push([event, c]);
  }]));
  channel.subscribe(subscribers);
  const stop = () => channel.unsubscribe(subscribers);
  ctx.after(stop);
  return { seen, log, stop, named: (name) => [...seen.keys()].filter((c) => c.name === name) };
}

const executors = {
  async: { make: (n) => new AsyncPoolExecutor(n), worker: 'number' },
  thread: { make: (n) => new ThreadPoolExecutor(n), worker: 'number' },
  process: { make: (n) => new ProcessPoolExecutor(n), worker: 'number' },
  bullmq: {
    skip: skipReason,
    worker: 'undefined',
    make: (n) => executorWithWorker(bullmq, redis, { modules: [TASKS], concurrency: n }),
  },
};

const DONE_OK = ['start', 'end', 'asyncStart', 'asyncEnd'];
const DONE_FAILED = ['start', 'end', 'error', 'asyncStart', 'asyncEnd'];

function checkTimes(c) {
  for (const key of ['queuedAt', 'startedAt', 'endedAt']) assert.equal(typeof c[key], 'number', `${key} of ${c.name}`);
  assert.ok(c.queuedAt <= c.startedAt && c.startedAt <= c.endedAt, `times in order: ${c.queuedAt} ${c.startedAt} ${c.endedAt}`);
  assert.ok(c.endedAt <= performance.now());
}

for (const [kind, { make, worker, skip }] of Object.entries(executors)) {
  const t = (title, fn) => test(`${kind}: ${title}`, skip ? { skip } : { timeout: 30_000 }, async (ctx) => {
    const ex = make(2);
    try {
      await fn(ctx, ex);
    } finally {
      await ex.shutdown();
    }
  });

  t('each task: start and end in submit, then asyncStart and asyncEnd, on one context with the fields API.md names', async (ctx, ex) => {
    const { seen, log } = listen(ctx, ex);
    const f = ex.submit(tasks.square, 7);
    // start and end are published inside submit().
    assert.deepEqual(log.map(([e]) => e), ['start', 'end']);
    assert.equal(await f.result(), 49);
    assert.equal(seen.size, 1);
    const [[c, events]] = seen;
    assert.deepEqual(events, DONE_OK);
    assert.equal(c.executor, ex);
    assert.equal(c.kind, kind);
    assert.equal(c.name, 'square');
    assert.equal(c.future, f);
    assert.equal(c.result, 49);
    assert.equal(c.error, undefined);
    assert.equal(typeof c.worker, worker);
    checkTimes(c);
    assert.equal(f._trace, null, 'a done future lets its context go');
  });

  t('a failing task publishes error, with ctx.error, before asyncStart and asyncEnd', async (ctx, ex) => {
    const { seen } = listen(ctx, ex);
    const f = ex.submit(tasks.failIf, 3, 3);
    const error = await f.exception();
    const [[c, events]] = seen;
    assert.deepEqual(events, DONE_FAILED);
    assert.equal(c.error, error);
    assert.equal(c.name, 'failIf');
    checkTimes(c);
  });

  t('a task cancelled by a subscriber in start still publishes end first, then asyncStart and asyncEnd; the pool goes on', async (ctx, ex) => {
    const { seen, log } = listen(ctx, ex);
    const cancelling = { start: (c) => c.executor === ex && c.name === 'square' && c.future.cancel() };
    channel.subscribe(cancelling);
    ctx.after(() => channel.unsubscribe(cancelling));
    const f = ex.submit(tasks.square, 3);
    assert.equal(f.cancelled(), true);
    assert.deepEqual(log.map(([e]) => e), DONE_OK, 'all four inside submit(), end before the end events');
    const [[c]] = seen;
    assert.ok(c.error instanceof CancelledError);
    assert.equal(c.result, undefined);
    assert.ok(c.endedAt >= c.queuedAt);
    assert.equal(await ex.submit(tasks.napThen, 1, 'next').result(), 'next');
    assert.equal(ex.stats().cancelled, 1);
  });

  t('startedAt and worker are set once the task is known to run, before it is done', async (ctx, ex) => {
    listen(ctx, ex);
    const f = ex.submit(tasks.napThen, 400, 'late');
    const c = f._trace;
    assert.equal(c.startedAt, undefined);
    await until(() => c.startedAt !== undefined, 'the task to start');
    assert.equal(f.done(), false);
    assert.equal(typeof c.worker, worker);
    assert.ok(c.startedAt >= c.queuedAt);
    assert.equal(await f.result(), 'late');
  });

  t('every task of a burst gets its times and worker, past the first ones stats() times (sampled)', async (ctx, ex) => {
    const { seen } = listen(ctx, ex);
    const futures = Array.from({ length: 500 }, (_, i) => ex.submit(tasks.square, i));
    for (const f of futures) await f.result();
    const contexts = [...seen.keys()];
    assert.equal(contexts.length, 500);
    for (const c of contexts) {
      checkTimes(c);
      assert.equal(typeof c.worker, worker, `worker of task ${c.result}`);
    }
  });

  for (const chunksize of [1, 5, undefined]) {
    t(`map with chunksize ${chunksize ?? 'automatic'}: one context per item, each with its own value and times`, async (ctx, ex) => {
      const { seen, named } = listen(ctx, ex);
      const out = [];
      for await (const v of ex.map(tasks.square, Array.from({ length: 12 }, (_, i) => i), chunksize === undefined ? {} : { chunksize })) out.push(v);
      assert.deepEqual(out, Array.from({ length: 12 }, (_, i) => i * i));
      const items = named('square');
      assert.equal(items.length, 12);
      assert.deepEqual(items.map((c) => c.result).sort((a, b) => a - b), out);
      for (const c of items) {
        assert.deepEqual(seen.get(c), DONE_OK);
        assert.equal(c.kind, kind);
        assert.equal(typeof c.worker, worker);
        checkTimes(c);
      }
    });
  }

  t('map with chunksize: a failing item inside a chunk publishes error for that item', async (ctx, ex) => {
    const { seen, named } = listen(ctx, ex);
    const out = [];
    await assert.rejects(async () => {
      for await (const v of ex.map(tasks.failIf, [1, 2, 3, 4, 5], [3, 3, 3, 3, 3], { chunksize: 5 })) out.push(v);
    }, RangeError);
    assert.deepEqual(out, [1, 2]);
    await until(() => named('failIf').length === 5 && named('failIf').every((c) => seen.get(c).includes('asyncEnd')), 'every item to be done');
    const byResult = named('failIf');
    const failed = byResult.filter((c) => seen.get(c).includes('error'));
    assert.equal(failed.length, 1);
    assert.equal(failed[0].error.message, 'bad item 3');
    // The items after it ran (the async pool has no chunks) or, in the chunk, never did: cancelled, with no error event.
    for (const c of byResult.filter((c) => c.result === undefined && c !== failed[0])) {
      assert.ok(c.error instanceof CancelledError);
      assert.deepEqual(seen.get(c), DONE_OK);
    }
    if (kind !== 'async') assert.equal(byResult.filter((c) => c.error instanceof CancelledError).length, 2);
  });

  t('automatic chunks, left early: every item map read is published, its start when read, and those never sent end cancelled, as stats() counts them', async (ctx, ex) => {
    const { seen, named } = listen(ctx, ex);
    const before = ex.stats();
    const readAt = performance.now();
    for await (const _ of ex.map(tasks.napThen, Array.from({ length: 100 }, () => 20), Array.from({ length: 100 }, (_, i) => i))) break;
    await until(() => ex.stats().queued === 0 && ex.stats().running === 0, 'the map to end');
    const s = ex.stats();
    const items = named('napThen');
    assert.equal(s.completed - before.completed + (s.cancelled - before.cancelled), 100);
    if (kind !== 'async') {
      // The async pool reads only what it runs; the others read ahead of what they send.
      assert.equal(items.length, 100, 'a context for every item read');
      const cancelled = items.filter((c) => c.error instanceof CancelledError);
      assert.equal(cancelled.length, s.cancelled - before.cancelled, 'cancelled on the channel as in stats()');
      for (const c of items) {
        assert.deepEqual(seen.get(c), DONE_OK);
        // Queued when map read it, not when it was sent.
        assert.ok(c.queuedAt - readAt < 500, `queued ${c.queuedAt - readAt} ms after the map began`);
      }
    }
  });

  t('nothing is published after unsubscribe, and no context is built without a subscriber', async (ctx, ex) => {
    const { seen, stop } = listen(ctx, ex);
    assert.equal(await ex.submit(tasks.square, 2).result(), 4);
    assert.equal(seen.size, 1);
    stop();
    const f = ex.submit(tasks.square, 3);
    assert.equal(f._trace, null);
    assert.equal(await f.result(), 9);
    for await (const _ of ex.map(tasks.square, [1, 2, 3], { chunksize: 2 }));
    assert.equal(seen.size, 1);
  });
}

test('async: each context names its own task, among 300 names submitted in turn and two functions of one name', async (ctx) => {
  const ex = new AsyncPoolExecutor(8);
  const { seen } = listen(ctx, ex);
  const named = (name, fn) => Object.defineProperty(fn, 'name', { value: name });
  const fns = Array.from({ length: 300 }, (_, i) => named(`task${i}`, (x) => x));
  const twins = [named('twin', () => 'first'), named('twin', () => 'second')];
  const futures = [];
  // Each name twice, in turn: past the names kept, and never two of one name in a row.
  for (let round = 0; round < 2; round++) fns.forEach((fn, i) => futures.push([`task${i}`, ex.submit(fn, i)]));
  for (const fn of [...twins, ...twins]) futures.push(['twin', ex.submit(fn)]);
  await Promise.all(futures.map(([, f]) => f.result()));
  const byFuture = new Map([...seen.keys()].map((c) => [c.future, c]));
  for (const [name, f] of futures) assert.equal(byFuture.get(f).name, name);
  assert.deepEqual(futures.slice(-4).map(([, f]) => byFuture.get(f).result), ['first', 'second', 'first', 'second']);
  await ex.shutdown();
});

test('async: a cancelled task publishes asyncStart and asyncEnd with a CancelledError, and no error', async (ctx) => {
  const ex = new AsyncPoolExecutor(1);
  const { seen } = listen(ctx, ex);
  const first = ex.submit(tasks.napThen, 50, 'a');
  const second = ex.submit(tasks.square, 2);
  assert.equal(second.cancel(), true);
  const [c] = [...seen.keys()].filter((k) => k.future === second);
  assert.deepEqual(seen.get(c), DONE_OK);
  assert.ok(c.error instanceof CancelledError);
  assert.equal(c.error, c.error, 'one error, whenever it is read');
  assert.equal(c.result, undefined);
  assert.equal(c.startedAt, undefined);
  assert.ok(c.endedAt >= c.queuedAt);
  await first.result();
  await ex.shutdown();
});

test('thread: worker ids tell the workers apart', async (ctx) => {
  const ex = new ThreadPoolExecutor(2);
  const { named } = listen(ctx, ex);
  await Promise.all(Array.from({ length: 6 }, () => ex.submit(tasks.napThen, 60, 1).result()));
  assert.deepEqual([...new Set(named('napThen').map((c) => c.worker))].sort(), [0, 1]);
  await ex.shutdown();
});
