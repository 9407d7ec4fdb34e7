/**
 * Where a worker runs each call of a task: on its thread pool, or on its own
 * event loop.
 *
 * A thread keeps a long computation from delaying the renewal of its job's
 * lock, but the hop there and back (waking a sleeping thread, twice) costs
 * more than a task that takes microseconds: for such tasks it was a fifth of
 * the worker's throughput. So every task starts on threads, where the time of
 * each call is taken; one whose recent calls there all ended quickly is tried
 * on the event loop, where every call is timed again. A task stays there only
 * while its calls stay far below a millisecond; one slower call sends it back
 * to threads, and each time it is sent back it waits twice as long before it
 * is tried again.
 *
 * What this cannot foresee is a task that is quick on most arguments and slow
 * on a few: a slow call that comes while its task runs on the event loop holds
 * that loop for as long as it computes. That is why the bound for trying a
 * task is low (its calls on threads, hop included, took a few milliseconds at
 * most), and why `quickTasksInline: false` exists.
 * @internal
 */

/** A task whose calls on threads took less than this (median, in ms, hop and queueing included) is tried on the event loop. */
const TRY_BELOW_MS = 5;
/** Calls on the event loop keep a running average below this (ms), or the task goes back to threads. */
const STAY_BELOW_MS = 0.25;
/** A single call on the event loop that takes this long (ms) sends its task back at once. */
const SLOW_CALL_MS = 10;
/** Calls on threads timed before a first try, and the least wait after being sent back. */
const FIRST_WAIT = 8;
/** The longest wait, in calls on threads, before a task that was sent back is tried again. */
const LONGEST_WAIT = 4096;
/** Weight of the newest call in the running average of calls on the event loop. */
const WEIGHT = 1 / 16;

/** What the worker has seen of one task (a task's `map` chunks count as a task of their own). */
interface TaskTimes {
  inline: boolean;
  /** The latest times on threads (ms), a ring of FIRST_WAIT. */
  readonly onThreads: number[];
  /** Calls on threads since the task last ran inline. */
  sinceInline: number;
  /** Calls on threads before the next try on the event loop. */
  wait: number;
  /** Running average of its calls on the event loop (ms). */
  average: number;
  /** Calls on the event loop since it was last tried there. */
  inlineCalls: number;
}

export class Placement {
  private readonly tasks = new Map<string, TaskTimes>();

  constructor(private readonly enabled: boolean) {}

  /** Whether the next call of `key` runs on the event loop. */
  inline(key: string): boolean {
    if (!this.enabled) return false;
    const task = this.tasks.get(key);
    if (task === undefined) return false;
    if (task.inline) return true;
    if (task.sinceInline < task.wait || median(task.onThreads) >= TRY_BELOW_MS) return false;
    task.inline = true;
    task.average = 0;
    task.inlineCalls = 0;
    return true;
  }

  /** A call of `key` on a thread took `ms`, from its submission to its outcome. */
  ranOnThread(key: string, ms: number): void {
    if (!this.enabled) return;
    let task = this.tasks.get(key);
    if (task === undefined) {
      task = { inline: false, onThreads: [], sinceInline: 0, wait: FIRST_WAIT, average: 0, inlineCalls: 0 };
      this.tasks.set(key, task);
    }
    task.onThreads[task.sinceInline++ % FIRST_WAIT] = ms;
  }

  /** A call of `key` on the event loop took `ms`, from its start to its outcome. */
  ranInline(key: string, ms: number): void {
    const task = this.tasks.get(key);
    if (task === undefined || !task.inline) return;
    task.inlineCalls++;
    // The first call starts the average at its own time, not at zero's benefit of the doubt.
    task.average = task.inlineCalls === 1 ? ms : task.average + (ms - task.average) * WEIGHT;
    if (ms >= SLOW_CALL_MS || task.average >= STAY_BELOW_MS) {
      task.inline = false;
      task.sinceInline = 0;
      task.onThreads.length = 0;
      task.wait = Math.min(task.wait * 2, LONGEST_WAIT);
    } else if (task.inlineCalls >= task.wait) {
      // Quick for as long as it had to wait: a later slip starts from the shortest wait again.
      task.wait = FIRST_WAIT;
    }
  }
}

function median(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] ?? Infinity;
}
