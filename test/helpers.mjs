import { Future } from 'concurrent-futures';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A task that computes for `ms` (fractions too) and returns `ms`: self-contained, so that it can be sent to a worker as source. */
export const spin = (ms) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
  return ms;
};

/** A task that waits `ms`, then returns `value`: self-contained, as `spin`. */
export const napThen = async (ms, value) => {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return value;
};

/** Shuts `ex` down (cancelling what is queued) when the test `ctx` ends, passed or not; returns `ex`. */
export function use(ctx, ex) {
  ctx.after(() => within(15_000, ex.shutdown({ cancelFutures: true }), 'shutdown after the test'));
  return ex;
}

/** Futures in each of Python's test states. */
export function pendingFuture() {
  return new Future();
}
export function runningFuture() {
  const f = new Future();
  f.setRunningOrNotifyCancel();
  return f;
}
export function cancelledFuture() {
  const f = new Future();
  f.cancel();
  return f;
}
export function cancelledAndNotifiedFuture() {
  const f = cancelledFuture();
  f.setRunningOrNotifyCancel();
  return f;
}
export function exceptionFuture(error = new Error('boom')) {
  const f = new Future();
  f.setException(error);
  return f;
}
export function successfulFuture(value = 42) {
  const f = new Future();
  f.setResult(value);
  return f;
}

/** Captures what is written to stderr while `fn` runs. */
export async function captureStderr(fn) {
  const original = process.stderr.write;
  let text = '';
  process.stderr.write = (chunk, ...rest) => {
    text += String(chunk);
    return true;
  };
  const originalError = console.error;
  console.error = (...args) => {
    text += args.map((a) => (a instanceof Error ? a.stack : String(a))).join(' ') + '\n';
  };
  try {
    await fn();
  } finally {
    process.stderr.write = original;
    console.error = originalError;
  }
  return text;
}

/** Rejects when `promise` takes longer than `ms`: a test must never hang. */
export function within(ms, promise, what = 'operation') {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Resolves once `condition()` holds; rejects naming `what` when `ms` pass first. Tests wait
 * for a state this way rather than sleeping a fixed time, and stop polling when they give up.
 */
export async function until(condition, what = 'the condition', ms = 10_000) {
  const end = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > end) throw new Error(`${what} did not happen within ${ms} ms`);
    await sleep(2);
  }
}
