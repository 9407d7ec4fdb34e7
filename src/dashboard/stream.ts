/**
 * The pages' live stream (Server-Sent Events): one message to every page per
 * tick, built once. A page that cannot keep up (its socket's buffer full) is
 * sent nothing until it drains, then the whole picture again, so a slow or
 * vanished browser costs the server one buffer and never a backlog.
 * @internal
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

interface Page {
  res: ServerResponse;
  /** Its socket's buffer is full: skip it until it drains. */
  stalled: boolean;
  /** It has nothing, or missed messages: it needs the whole picture. */
  needsFull: boolean;
}

export class EventStream {
  private readonly pages = new Set<Page>();
  /** Messages written, for tests and the page's own counter. */
  sent = 0;

  get size(): number {
    return this.pages.size;
  }

  /** Opens the stream of one page; `onChange` is told when pages come and go. */
  open(req: IncomingMessage, res: ServerResponse, onChange: () => void): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      // A proxy in front must pass each message on at once.
      'X-Accel-Buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    // The browser reconnects on its own after a second when the stream breaks.
    res.write('retry: 1000\n\n');
    const page: Page = { res, stalled: false, needsFull: true };
    this.pages.add(page);
    const gone = (): void => {
      if (this.pages.delete(page)) onChange();
    };
    req.on('close', gone);
    res.on('close', gone);
    res.on('error', gone);
    res.on('drain', () => {
      page.stalled = false;
    });
    onChange();
  }

  /** Sends each page the tick's message: `delta` to those up to date, `full()` (built once, if needed) to the others. */
  send(delta: () => string, full: () => string): void {
    let deltaText: string | null = null;
    let fullText: string | null = null;
    for (const page of this.pages) {
      if (page.res.destroyed) continue;
      if (page.stalled) {
        // It misses this tick's changes: the whole picture once it has drained.
        page.needsFull = true;
        continue;
      }
      let text: string;
      if (page.needsFull) {
        text = fullText ??= `event: full\ndata: ${full()}\n\n`;
        page.needsFull = false;
      } else {
        text = deltaText ??= `data: ${delta()}\n\n`;
      }
      this.sent++;
      // Written whole all the same (a full picture is often past the buffer's mark): only what follows waits for a drain.
      if (!page.res.write(text)) page.stalled = true;
    }
    // The changes are consumed once a tick, pages or not, so that the next delta starts from here.
    if (deltaText === null) delta();
  }

  /** Ends every page's stream. */
  closeAll(): void {
    for (const page of this.pages) page.res.end();
    this.pages.clear();
  }
}
