// OpenTelemetry across BullMQ: the context active at submit travels with the job (W3C traceparent),
// and the worker runs the task inside it, inline or on its threads, with or without a registered
// propagator. The SDK's in-memory exporter records the spans; a real redis-server carries the jobs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { context, propagation, trace, ROOT_CONTEXT, SpanStatusCode } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { redisForTests, redisSkipReason } from './redis-server.mjs';

const skipReason = redisSkipReason();
const OTEL_TASKS = fileURLToPath(new URL('./fixtures/otel-tasks.mjs', import.meta.url));
const { BullMQExecutor, runWorker } = skipReason ? {} : await import('concurrent-futures/bullmq');
const { otelTasks } = await import('./fixtures/otel-tasks.mjs');
const { Queue } = skipReason ? {} : await import('bullmq');

const exporter = new InMemorySpanExporter();
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const tracer = trace.getTracer('opentelemetry.test');

const redis = redisForTests(skipReason);
let queues = 0;
const newQueue = () => `otel${process.pid}-${++queues}`;

const bull = (title, fn, timeout = 30_000) => test(`BullMQ trace context: ${title}`, skipReason ? { skip: skipReason } : { timeout }, fn);

/** An executor and a worker on a fresh queue, the worker started outside any span; `fn(ex)`, then both closed. */
async function withQueue(workerOptions, fn) {
  const queueName = newQueue();
  const worker = await context.with(ROOT_CONTEXT, () => runWorker({ connection: redis.url, queueName, modules: [OTEL_TASKS], concurrency: 4, ...workerOptions }));
  const ex = new BullMQExecutor({ connection: redis.url, queueName });
  try {
    return await fn(ex, queueName);
  } finally {
    await ex.shutdown();
    await worker.close();
  }
}

/** Submits `task(...args)` inside a new active span of its own; resolves to [the span, the task's report]. */
function submitInSpan(ex, name, task, ...args) {
  return tracer.startActiveSpan(name, async (span) => {
    try {
      return [span, await ex.submit(task, ...args).result()];
    } finally {
      span.end();
    }
  });
}

function assertChildOf(report, span, where) {
  assert.equal(report.traceId, span.spanContext().traceId, `${where}: the task's span is in the submit span's trace`);
  assert.equal(report.parentSpanId, span.spanContext().spanId, `${where}: the task's span is the submit span's child`);
}

const PLACES = [
  ['inline on the worker\'s event loop', { threads: 0 }, true],
  ['on the worker\'s threads', { threads: 1, quickTasksInline: false }, false],
];

for (const [where, workerOptions, mainThread] of PLACES) {
  for (const propagator of [false, true]) {
    const how = propagator ? 'with a W3C propagator registered' : 'with no propagator registered (traceparent written and read by the package)';
    bull(`a span the task starts ${where} is the submit span's child, ${how}, before and after an await`, async () => {
      if (propagator) propagation.setGlobalPropagator(new W3CTraceContextPropagator());
      try {
        await withQueue(workerOptions, async (ex) => {
          // Two submits from two spans at once: each task is the child of its own.
          const [[a, reportA], [b, reportB], [c, reportC]] = await Promise.all([
            submitInSpan(ex, 'submit a', otelTasks.spanInTask, 'a'),
            submitInSpan(ex, 'submit b', otelTasks.spanInTask, 'b'),
            submitInSpan(ex, 'submit c', otelTasks.spanAfterAwait, 'c'),
          ]);
          assert.equal(reportA.mainThread, mainThread);
          assertChildOf(reportA, a, 'a');
          assertChildOf(reportB, b, 'b');
          assertChildOf(reportC, c, 'c (after an await)');
          assert.notEqual(reportA.traceId, reportB.traceId);
        });
      } finally {
        propagation.disable();
      }
    });
  }
}

bull('tracestate travels with traceparent', async () => {
  await withQueue({ threads: 1, quickTasksInline: false }, async (ex) => {
    const parent = tracer.startSpan('with state');
    const spanContext = { ...parent.spanContext(), traceState: (await import('@opentelemetry/api')).createTraceState('vendor=abc,other=1') };
    const report = await context.with(trace.setSpanContext(context.active(), spanContext), () => ex.submit(otelTasks.spanInTask, 's').result());
    parent.end();
    assert.equal(report.traceId, spanContext.traceId);
    assert.equal(report.parentSpanId, spanContext.spanId);
    assert.equal(report.tracestate, 'vendor=abc,other=1');
  });
});

bull('the context rides in the job\'s data (t.traceparent), only when a context is active at submit', async () => {
  await withQueue({ threads: 0 }, async (ex, queueName) => {
    const queue = new Queue(queueName, { connection: { url: redis.url } });
    try {
      const [span] = await submitInSpan(ex, 'seen in the job', otelTasks.spanInTask, 'seen');
      const untraced = await ex.submit(otelTasks.spanInTask, 'untraced').result();
      assert.equal(untraced.parentSpanId, null, 'a task submitted outside any span has no parent');
      const jobs = await queue.getJobs(['completed']);
      const byArg = new Map(jobs.map((job) => [job.data.a[0], job.data]));
      const { traceId, spanId } = span.spanContext();
      assert.deepEqual(byArg.get('seen').t, { traceparent: `00-${traceId}-${spanId}-01` });
      assert.equal('t' in byArg.get('untraced'), false, 'nothing is added without an active context');
    } finally {
      await queue.close();
    }
  });
});

bull('a retried job runs each try inside the submit context', async () => {
  await withQueue({ threads: 0 }, async (ex) => {
    await tracer.startActiveSpan('retried', async (span) => {
      const report = await ex.withOptions({ retries: 1 }).submit(otelTasks.flaky, `k${process.pid}`).result();
      span.end();
      assertChildOf(report, span, 'the second try');
    });
  });
});

bull('map items, one per job and in chunks, run inside the context of the map call', async () => {
  for (const workerOptions of [{ threads: 0 }, { threads: 1, quickTasksInline: false }]) {
    await withQueue(workerOptions, async (ex) => {
      await tracer.startActiveSpan('map', async (span) => {
        for (const chunksize of [1, 3]) {
          const reports = [];
          for await (const report of ex.map(otelTasks.spanOfItem, [1, 2, 3, 4, 5], { chunksize })) reports.push(report);
          assert.equal(reports.length, 5);
          for (const report of reports) assertChildOf(report, span, `chunksize ${chunksize}`);
        }
        span.end();
      });
    });
  }
});

test('trace context without a propagator: traceparent read as W3C Trace Context says, anything else in the job ignored', async () => {
  const { inTrace } = await import('../dist/bullmq/trace-context.js');
  const { decodeJob } = await import('../dist/bullmq/envelope.js');
  const seen = (carrier) => inTrace(carrier, () => trace.getSpanContext(context.active()) ?? null);
  const id = '0af7651916cd43dd8448eb211c80319c';
  const span = 'b7ad6b7169203331';
  assert.deepEqual(seen({ traceparent: `00-${id}-${span}-01` }), { traceId: id, spanId: span, traceFlags: 1, isRemote: true });
  assert.equal(seen({ traceparent: `00-${id}-${span}-00` }).traceFlags, 0);
  // A later version may add fields; the flags' other bits are not ours to keep.
  assert.equal(seen({ traceparent: `01-${id}-${span}-03-more` }).traceFlags, 1);
  assert.equal(seen({ traceparent: `00-${id}-${span}-01`, tracestate: 'a=1,b=2' }).traceState.get('b'), '2');
  for (const bad of [`ff-${id}-${span}-01`, `00-${id}-${span}-01-more`, `00-${'0'.repeat(32)}-${span}-01`, `00-${id}-${'0'.repeat(16)}-01`,
    `00-${id.toUpperCase()}-${span}-01`, `00-${id}-${span}`, 42, '']) {
    assert.equal(seen({ traceparent: bad }), null, `${bad} is ignored`);
  }
  assert.equal(seen(Object.create({ traceparent: `00-${id}-${span}-01` })), null, 'only own fields are read');
  // A job's `t` that is not an object is ignored: tracing never fails a task.
  for (const t of ['x', 1, null, ['00'], undefined]) assert.equal(decodeJob({ a: [1], t }).trace, undefined);
  assert.deepEqual(decodeJob({ a: [1], t: { traceparent: 'x' } }).trace, { traceparent: 'x' });
});

// examples/opentelemetry: the tracing channel as spans.
const { traceTasks, ATTRIBUTES } = await import('../examples/opentelemetry/tracing.mjs');
const { AsyncPoolExecutor, ThreadPoolExecutor, wait } = await import('concurrent-futures');
const { tasks: exampleTasks } = await import('../examples/opentelemetry/tasks.mjs');

const ms = ([s, ns]) => s * 1e3 + ns / 1e6;

/** Runs `fn` inside a new active span 'parent' with the example's subscriber on; the finished spans, and the parent. */
async function traced(fn) {
  exporter.reset();
  const stop = traceTasks();
  try {
    const parent = await tracer.startActiveSpan('parent', async (span) => {
      try {
        await fn();
      } finally {
        span.end();
      }
      return span;
    });
    const spans = exporter.getFinishedSpans().filter((s) => s !== undefined && s.name !== 'parent');
    return { spans, parent };
  } finally {
    stop();
  }
}

function assertTaskSpan(span, parent, { kind, name, minRunMs = 0 }) {
  assert.equal(span.name, `task ${name}`);
  assert.equal(span.attributes[ATTRIBUTES.kind], kind);
  assert.equal(span.attributes[ATTRIBUTES.name], name);
  assert.equal(span.spanContext().traceId, parent.spanContext().traceId);
  assert.equal(span.parentSpanContext?.spanId, parent.spanContext().spanId, `${name}: a child of the span active at submit`);
  const wait = span.attributes[ATTRIBUTES.queueWait];
  const run = span.attributes[ATTRIBUTES.runTime];
  assert.ok(typeof wait === 'number' && wait >= 0, `${name}: queue wait ${wait}`);
  assert.ok(typeof run === 'number' && run >= minRunMs, `${name}: run time ${run} >= ${minRunMs}`);
  // The span covers queue wait and run time.
  assert.ok(ms(span.duration) >= wait + run - 1, `${name}: span ${ms(span.duration)} ms covers ${wait} + ${run}`);
}

function assertFailed(span, message) {
  assert.equal(span.status.code, SpanStatusCode.ERROR);
  assert.match(span.status.message, message);
  const exception = span.events.find((e) => e.name === 'exception');
  assert.ok(exception, 'the exception is recorded');
  assert.match(exception.attributes['exception.message'], message);
}

test('examples/opentelemetry: a span per task on AsyncPoolExecutor, queue wait and run time as attributes, the error recorded', { timeout: 30_000 }, async () => {
  const ex = new AsyncPoolExecutor(1);
  const { spans, parent } = await traced(async () => {
    const nap = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    async function fails() {
      throw new RangeError('this task fails');
    }
    await wait([ex.submit(nap, 40), ex.submit(nap, 20), ex.submit(fails)]);
  });
  await ex.shutdown();
  assert.equal(spans.length, 3);
  const naps = spans.filter((s) => s.attributes[ATTRIBUTES.name] === 'nap').sort((a, b) => ms(a.startTime) - ms(b.startTime));
  assert.equal(naps.length, 2);
  assertTaskSpan(naps[0], parent, { kind: 'async', name: 'nap', minRunMs: 35 });
  assertTaskSpan(naps[1], parent, { kind: 'async', name: 'nap', minRunMs: 15 });
  const failed = spans.find((s) => s.attributes[ATTRIBUTES.name] === 'fails');
  assertTaskSpan(failed, parent, { kind: 'async', name: 'fails' });
  assertFailed(failed, /this task fails/);
  // One worker: each task waited for those before it (40 + 20 ms before the failing one).
  assert.ok(naps[1].attributes[ATTRIBUTES.queueWait] >= 35, `queue wait behind 40 ms: ${naps[1].attributes[ATTRIBUTES.queueWait]}`);
  assert.ok(failed.attributes[ATTRIBUTES.queueWait] >= 55, `queue wait behind 60 ms: ${failed.attributes[ATTRIBUTES.queueWait]}`);
});

test('examples/opentelemetry: a span per task on ThreadPoolExecutor, map items included, on their worker, the error recorded', { timeout: 30_000 }, async () => {
  const ex = new ThreadPoolExecutor(2);
  await ex.submit(exampleTasks.fib, 1).result(); // the workers started, outside the traced part
  const { spans, parent } = await traced(async () => {
    await wait([ex.submit(exampleTasks.fib, 27), ex.submit(exampleTasks.checkedFib, -1)]);
    for await (const _ of ex.map(exampleTasks.fib, [5, 6, 7], { chunksize: 3 }));
  });
  await ex.shutdown();
  assert.equal(spans.length, 5, spans.map((s) => s.name).join(', '));
  const fibs = spans.filter((s) => s.attributes[ATTRIBUTES.name] === 'fib');
  assert.equal(fibs.length, 4, 'the task and each of the 3 map items');
  for (const span of fibs) {
    assertTaskSpan(span, parent, { kind: 'thread', name: 'fib' });
    assert.notEqual(span.attributes[ATTRIBUTES.worker], undefined, 'the worker that ran it');
  }
  const failed = spans.find((s) => s.attributes[ATTRIBUTES.name] === 'checkedFib');
  assertTaskSpan(failed, parent, { kind: 'thread', name: 'checkedFib' });
  assertFailed(failed, /fib of a negative number: -1/);
});

bull('examples/opentelemetry: the BullMQ worker\'s span is a child of the submit span (same trace, its parent the submit span)', async () => {
  await withQueue({ threads: 1, quickTasksInline: false, modules: [fileURLToPath(new URL('../examples/opentelemetry/tasks.mjs', import.meta.url))] }, async (ex) => {
    const { spans, parent } = await traced(() => ex.submit(exampleTasks.fib, 15).result());
    // Both are BullMQ's: the executor does not know where its job runs; the worker gives the job's slot.
    assert.ok(spans.every((s) => s.attributes[ATTRIBUTES.kind] === 'bullmq' && s.name === 'task fib'), spans.map((s) => `${s.name} (${s.attributes[ATTRIBUTES.kind]})`).join(', '));
    const submitSide = spans.filter((s) => s.attributes[ATTRIBUTES.worker] === undefined);
    const workerSide = spans.filter((s) => s.attributes[ATTRIBUTES.worker] !== undefined);
    assert.equal(submitSide.length, 1, 'the executor\'s span, on the submitting side');
    assert.equal(workerSide.length, 1, 'the worker\'s span of the job, however its task runs there');
    assert.ok(workerSide[0].attributes[ATTRIBUTES.runTime] > 0);
    for (const span of [...submitSide, ...workerSide]) {
      assert.equal(span.spanContext().traceId, parent.spanContext().traceId);
      assert.equal(span.parentSpanContext?.spanId, parent.spanContext().spanId);
    }
  });
});

test('examples/opentelemetry: main.mjs runs and prints its spans under main', { timeout: 60_000 }, async () => {
  const { execFile } = await import('node:child_process');
  const { stdout } = await new Promise((resolve, reject) => execFile(process.execPath, ['main.mjs'], { cwd: fileURLToPath(new URL('../examples/opentelemetry/', import.meta.url)), timeout: 50_000 }, (error, stdout, stderr) => (error ? reject(Object.assign(error, { stderr })) : resolve({ stdout }))));
  const lines = stdout.trim().split('\n');
  assert.match(lines[0], /^main {2}/);
  assert.ok(lines.filter((l) => /^ {2}task /.test(l)).length >= 8, stdout);
  assert.match(stdout, /task checkedFib .*FAILED: fib of a negative number/);
});
