/**
 * The submitting side's OpenTelemetry context, carried with a job: written
 * into the job's data at `submit` (`t`, a carrier of string fields: W3C
 * `traceparent`, and `tracestate` when there is one), and made active again on
 * the worker around the task's call, so that spans the task starts are
 * children of the span that was active at `submit`. Job data is what BullMQ
 * keeps across a job's retries and shows in a queue's dashboard.
 *
 * `@opentelemetry/api` is an optional peer, loaded on first need with
 * `require` rather than `import()`: `submit` is synchronous, and an import
 * still on its way would drop the context of every submit in the first
 * tick. The API keeps its state on `globalThis`, so this copy and the
 * user's are one. Without the package, or with no context active, nothing is
 * written and nothing is done.
 *
 * A global propagator, when one is registered, writes and reads the carrier
 * (`propagation.inject`/`extract`, baggage included if it propagates it). With
 * none (the API's default propagates nothing), the span context is written and
 * read here as W3C Trace Context level 1 says: `@opentelemetry/core`, whose
 * propagator that is, is no peer of this package.
 * @internal
 */
import { createRequire } from 'node:module';
import type * as Otel from '@opentelemetry/api';

/** A job's trace context: text fields as a propagator writes them. @internal */
export type TraceCarrier = Record<string, string>;

let api: typeof Otel | null | undefined;

/** The API, loaded once; null when it is not installed. */
function otel(): typeof Otel | null {
  if (api === undefined) {
    try {
      api = createRequire(import.meta.url)('@opentelemetry/api') as typeof Otel;
    } catch {
      api = null;
    }
  }
  return api;
}

/** Reads only a carrier's own string fields: a job's data may hold anything. */
const getter: Otel.TextMapGetter<TraceCarrier> = {
  get: (carrier, key) => (Object.hasOwn(carrier, key) && typeof carrier[key] === 'string' ? carrier[key] : undefined),
  keys: (carrier) => Object.keys(carrier),
};

/** `version-traceId-spanId-flags`; version ff is invalid, and version 00 ends after the flags. */
const TRACEPARENT = /^([\da-f]{2})-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})(-.*)?$/;

/** The active context's carrier, or undefined when no context is active (or the API is not installed). @internal */
export function activeTrace(): TraceCarrier | undefined {
  const otelApi = otel();
  if (otelApi === null) return undefined;
  const active = otelApi.context.active();
  if (active === otelApi.ROOT_CONTEXT) return undefined;
  const carrier: TraceCarrier = {};
  if (otelApi.propagation.fields().length > 0) {
    otelApi.propagation.inject(active, carrier);
  } else {
    const span = otelApi.trace.getSpanContext(active);
    if (span === undefined || !otelApi.isSpanContextValid(span)) return undefined;
    carrier.traceparent = `00-${span.traceId}-${span.spanId}-0${span.traceFlags & otelApi.TraceFlags.SAMPLED}`;
    const state = span.traceState?.serialize();
    if (state) carrier.tracestate = state;
  }
  return Object.keys(carrier).length > 0 ? carrier : undefined;
}

/** The worker's active context with the carrier's span context (and baggage, if propagated) in it. */
function extract(otelApi: typeof Otel, carrier: TraceCarrier): Otel.Context {
  const active = otelApi.context.active();
  if (otelApi.propagation.fields().length > 0) return otelApi.propagation.extract(active, carrier, getter);
  const match = TRACEPARENT.exec(getter.get(carrier, 'traceparent') as string | undefined ?? '');
  if (match === null || match[1] === 'ff' || (match[1] === '00' && match[5] !== undefined)) return active;
  const span: Otel.SpanContext = { traceId: match[2]!, spanId: match[3]!, traceFlags: parseInt(match[4]!, 16) & 1, isRemote: true };
  if (!otelApi.isSpanContextValid(span)) return active;
  const state = getter.get(carrier, 'tracestate');
  if (typeof state === 'string' && state !== '') span.traceState = otelApi.createTraceState(state);
  return otelApi.trace.setSpanContext(active, span);
}

/**
 * Calls `fn(...args)` with the carrier's context active (its synchronous part,
 * and what it awaits, as far as the registered context manager follows); a
 * plain call without a carrier or the API. @internal
 */
export function inTrace<A extends unknown[], R>(carrier: TraceCarrier | undefined, fn: (...args: A) => R, ...args: A): R {
  const otelApi = carrier === undefined ? null : otel();
  if (otelApi === null) return fn(...args);
  return otelApi.context.with(extract(otelApi, carrier!), fn, undefined, ...args);
}
