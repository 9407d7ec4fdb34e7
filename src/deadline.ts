/**
 * The timers of timed waits: `result(timeout)`, `exception(timeout)`, `wait()` and `asCompleted()` make
 * one each, and a Node timer per wait (its object, async id and place in Node's lists) costs more than
 * the rest of the wait. Waits of one length end in the order they began, so each length keeps its waits
 * in a list in deadline order and one Node timer for the list's head, as Node does for its own timers.
 * @internal
 */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The waits of one length, oldest first, and the timer that ends them. */
class Line {
  head: Deadline | null = null;
  tail: Deadline | null = null;
  timer: NodeJS.Timeout | null = null;
  /** Whether the timer holds the process open: only while the line has waits. */
  refed = true;

  constructor(readonly ms: number) {}
}

const lines = new Map<number, Line>();
/**
 * Emptied lines that keep their timer, unref'd, for the next wait of their length, oldest first. Bounded, the
 * oldest giving way: waits of many lengths (a timeout counted down to a deadline, say) would otherwise leave a
 * line each until it fires, or keep the lengths in use from their places.
 */
const idle = new Set<Line>();
const MAX_IDLE = 16;

/**
 * A wait that ends by `expired()` after its time unless `clearDeadline()` came first. A base class, not
 * a member, so that a wait and its place in a line are one object.
 */
export abstract class Deadline {
  private _at = 0;
  private _line: Line | null = null;
  private _prev: Deadline | null = null;
  private _next: Deadline | null = null;

  /** Its time ran out. Called once, and not after `clearDeadline()`. */
  protected abstract expired(): void;

  /**
   * Calls `expired()` in `ms` milliseconds, whole ones (a fraction waits the rest of its millisecond):
   * lengths in whole milliseconds keep the lines few, and each line in deadline order.
   */
  protected startDeadline(ms: number, now = performance.now()): void {
    this.clearDeadline();
    if (ms === Infinity) return;
    const length = Math.max(1, Math.ceil(ms));
    let line = lines.get(length);
    if (line === undefined) lines.set(length, (line = new Line(length)));
    this._at = now + length;
    this._line = line;
    const tail = line.tail;
    if (tail === null) line.head = this;
    else {
      tail._next = this;
      this._prev = tail;
    }
    line.tail = this;
    if (line.timer === null) arm(line, length);
    else if (!line.refed) {
      line.refed = true;
      line.timer.ref();
      idle.delete(line);
    }
  }

  /** Whether it is started, and has neither expired nor been cleared. */
  protected hasDeadline(): boolean {
    return this._line !== null;
  }

  /** Takes the wait out of its line; nothing when it has none. */
  protected clearDeadline(): void {
    const line = this._line;
    if (line === null) return;
    unlink(line, this);
    // While it is due, the line has no timer and `_due` decides what becomes of it.
    if (line.head !== null || line.timer === null) return;
    // Left armed but no longer holding the process open: the next wait of this length likely comes soon.
    if (idle.size === MAX_IDLE) drop(idle.values().next().value!);
    idle.add(line);
    line.refed = false;
    line.timer.unref();
  }

  /** @internal */
  static _due(line: Line): void {
    line.timer = null;
    idle.delete(line);
    let first = line.head;
    // Ending a large batch takes a while: the clock is read again before the rest is timed from it.
    for (let now = performance.now(); first !== null; now = performance.now()) {
      // Node counts a timer from its loop's time, a little before this clock's: less than a millisecond left is due.
      if (first._at - now >= 1) {
        arm(line, first._at - now);
        return;
      }
      do {
        unlink(line, first);
        first.expired();
        first = line.head;
      } while (first !== null && first._at - now < 1);
    }
    if (line.timer === null && lines.get(line.ms) === line) lines.delete(line.ms);
  }

  /** @internal */
  static _unlink(line: Line, wait: Deadline): void {
    const prev = wait._prev;
    const next = wait._next;
    if (prev === null) line.head = next;
    else prev._next = next;
    if (next === null) line.tail = prev;
    else next._prev = prev;
    wait._prev = wait._next = null;
    wait._line = null;
  }
}

const unlink = Deadline._unlink;

/** Ends an idle line: its timer, and its place among the lines. */
function drop(line: Line): void {
  idle.delete(line);
  // Node holds on to a timer cleared while unref'd until its time would have come (Node 20-24): ref'd first, not.
  line.timer!.ref();
  clearTimeout(line.timer!);
  line.timer = null;
  if (lines.get(line.ms) === line) lines.delete(line.ms);
}

function arm(line: Line, ms: number): void {
  // A wait started from an `expired()` of this line armed it already, for a later time than the head's.
  if (line.timer !== null) clearTimeout(line.timer);
  line.timer = setTimeout(Deadline._due, Math.min(ms, MAX_TIMER_MS), line);
  line.refed = true;
}
