// OpenTelemetry across BullMQ: the context active at submit travels with the job (W3C traceparent),
// and the worker runs the task inside it, inline or on its threads, with or without a registered
// propagator. The SDK's in-memory exporter records the spans; a real redis-server carries the jobs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { context, propagation, trace, ROOT_CONTEXT } from '@opentelemetry/api';
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
