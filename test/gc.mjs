// Whether an object can be garbage-collected: how a test shows that nothing (a pending
// future's list of waiters, say) still holds on to something the user has let go of.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** `global.gc` under `node --expose-gc`; otherwise the flag is set now and a new context exposes it. */
function collectGarbage() {
  if (typeof globalThis.gc !== 'function') {
    setFlagsFromString('--expose-gc');
    globalThis.gc = runInNewContext('gc');
  }
  globalThis.gc();
}

/**
 * Resolves true once the target of `ref` has been collected, false if it is still
 * reachable after `ms`. A WeakRef keeps its target until the end of the job that made or
 * read it, so each attempt waits for the next turn of the event loop first.
 */
export async function collected(ref, ms = 5000) {
  const end = performance.now() + ms;
  do {
    await new Promise((resolve) => setImmediate(resolve));
    collectGarbage();
    if (ref.deref() === undefined) return true;
  } while (performance.now() < end);
  return false;
}
