// main.mjs: tasks on an AsyncPoolExecutor and a ThreadPoolExecutor (and, given REDIS_URL, on BullMQ)
// traced as OpenTelemetry spans, printed as a tree at the end. Run it with `node main.mjs`.
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { AsyncPoolExecutor, ThreadPoolExecutor, wait } from 'concurrent-futures';
import { traceTasks } from './tracing.mjs';
import { tasks } from './tasks.mjs';

// The SDK: spans kept in memory here; a real service exports them (OTLP, say) instead.
const exporter = new InMemorySpanExporter();
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const stop = traceTasks();
const tracer = trace.getTracer('example');

await tracer.startActiveSpan('main', async (main) => {
  const pool = new AsyncPoolExecutor(2);
  const threads = new ThreadPoolExecutor(2);
  try {
    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    await wait([pool.submit(sleep, 20), pool.submit(sleep, 10), pool.submit(sleep, 5)]);
    await wait([threads.submit(tasks.fib, 25), threads.submit(tasks.checkedFib, -1)]); // the second fails
    for await (const _ of threads.map(tasks.fib, [20, 21, 22], { chunksize: 3 }));
    if (process.env.REDIS_URL) await onBullMQ(process.env.REDIS_URL);
  } finally {
    await pool.shutdown();
    await threads.shutdown();
    main.end();
  }
});
stop();
printTree(exporter.getFinishedSpans());

/** A BullMQ queue with a worker in this process: the worker's spans are children of the submit span. */
async function onBullMQ(url) {
  const { BullMQExecutor, runWorker } = await import('concurrent-futures/bullmq');
  const queueName = `otel-example-${process.pid}`;
  const worker = await context.with(trace.deleteSpan(context.active()), () =>
    runWorker({ connection: url, queueName, modules: [new URL('./tasks.mjs', import.meta.url)], quickTasksInline: false }));
  const executor = new BullMQExecutor({ connection: url, queueName });
  try {
    await tracer.startActiveSpan('submit to BullMQ', async (span) => {
      await executor.submit(tasks.fib, 20).result();
      span.end();
    });
  } finally {
    await executor.shutdown();
    await worker.close();
  }
}

function printTree(spans) {
  const children = new Map();
  for (const span of spans) {
    const parent = span.parentSpanContext?.spanId;
    children.set(parent, [...(children.get(parent) ?? []), span]);
  }
  const ms = ([s, ns]) => s * 1e3 + ns / 1e6;
  for (const list of children.values()) list.sort((a, b) => ms(a.startTime) - ms(b.startTime));
  const print = (span, depth) => {
    const attributes = Object.entries(span.attributes).map(([k, v]) => `${k.replace('concurrent_futures.', '')}=${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(2) : v}`);
    const failed = span.status.code === 2 ? `  FAILED: ${span.status.message}` : '';
    console.log(`${'  '.repeat(depth)}${span.name}  ${ms(span.duration).toFixed(2)} ms  ${attributes.join(' ')}${failed}`);
    for (const child of children.get(span.spanContext().spanId) ?? []) print(child, depth + 1);
  };
  const ids = new Set(spans.map((s) => s.spanContext().spanId));
  for (const span of spans) if (!ids.has(span.parentSpanContext?.spanId)) print(span, 0);
}
