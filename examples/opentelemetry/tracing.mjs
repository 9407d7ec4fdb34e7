// tracing.mjs: every task of every concurrent-futures executor as an OpenTelemetry span, from the
// diagnostics_channel the executors publish on. Needs only @opentelemetry/api; the SDK you set up
// (a tracer provider, a context manager, an exporter) decides where the spans go.
import { tracingChannel } from 'node:diagnostics_channel';
import { context, trace, SpanStatusCode } from '@opentelemetry/api';

/** The attributes each span gets; OpenTelemetry's conventions name none for a task pool. */
export const ATTRIBUTES = {
  kind: 'concurrent_futures.executor.kind',
  name: 'concurrent_futures.task.name',
  worker: 'concurrent_futures.worker',
  queueWait: 'concurrent_futures.queue_wait_ms',
  runTime: 'concurrent_futures.run_time_ms',
  cancelled: 'concurrent_futures.cancelled',
};

/** A `performance.now()` time of this thread as the epoch milliseconds OpenTelemetry takes. */
const epoch = (ms) => performance.timeOrigin + ms;

/**
 * Starts a span for each task as it is submitted (a child of the span active at `submit`), and ends it
 * when its future is done: queue wait and run time as attributes, a failure recorded on it.
 * Returns a function that stops.
 */
export function traceTasks({ tracer = trace.getTracer('concurrent-futures') } = {}) {
  const channel = tracingChannel('concurrent-futures:task');
  /** Each running task's span, by its context object (one per task, or per `map` item). */
  const spans = new WeakMap();
  const handlers = {
    start(task) {
      // Published inside submit(): the active context is the submitter's.
      const span = tracer.startSpan(`task ${task.name || '(anonymous)'}`, {
        startTime: epoch(task.queuedAt ?? performance.now()),
        attributes: { [ATTRIBUTES.kind]: task.kind, [ATTRIBUTES.name]: task.name },
      }, context.active());
      spans.set(task, { span, failed: false });
    },
    end() {},
    asyncStart() {},
    error(task) {
      const entry = spans.get(task);
      if (entry === undefined) return;
      entry.failed = true;
      const error = task.error;
      entry.span.recordException(error instanceof Error ? error : String(error));
      entry.span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    },
    asyncEnd(task) {
      const entry = spans.get(task);
      if (entry === undefined) return; // submitted before traceTasks() was called
      spans.delete(task);
      const { span } = entry;
      const { queuedAt, startedAt, endedAt, worker } = task;
      if (worker !== undefined) span.setAttribute(ATTRIBUTES.worker, worker);
      if (startedAt !== undefined && queuedAt !== undefined) span.setAttribute(ATTRIBUTES.queueWait, startedAt - queuedAt);
      if (endedAt !== undefined && startedAt !== undefined) span.setAttribute(ATTRIBUTES.runTime, endedAt - startedAt);
      // A cancelled task has a CancelledError for its error, but published no `error`: nothing failed.
      if (!entry.failed && task.error !== undefined) span.setAttribute(ATTRIBUTES.cancelled, true);
      span.end(endedAt === undefined ? undefined : epoch(endedAt));
    },
  };
  channel.subscribe(handlers);
  return () => channel.unsubscribe(handlers);
}
