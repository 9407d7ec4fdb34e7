/**
 * Holds the process open while an executor has work, as Python waits for its
 * threads at exit, and lets it exit once the executor is idle.
 * @internal
 */
export class KeepAlive {
  private timer: NodeJS.Timeout | null = null;
  private held = false;

  hold(): void {
    if (this.held) return;
    this.held = true;
    if (this.timer === null) this.timer = setInterval(() => {}, 1 << 30);
    else this.timer.ref();
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    this.timer?.unref();
  }
}
