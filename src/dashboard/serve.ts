/**
 * `serveDashboard()`: a node:http server of one page, its script and style,
 * `/state.json`, and the live stream at `/events`. It listens on the tracing
 * channel for the executors it serves and samples them a few times a second
 * while a page is open; it holds no timer while none is.
 * @internal
 */
import { tracingChannel } from 'node:diagnostics_channel';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { describe } from '../checks.js';
import { Executor } from '../executor.js';
import { allowedToListen, bracketed } from './deno-net.js';
import { Board, WINDOW_MS, type TaskTrace, type TaskView } from './board.js';
import { PAGE_CSS, PAGE_HTML } from './page.js';
import { PAGE_SCRIPT } from './page-script.js';
import { CHARTS_SCRIPT } from './page-charts.js';
import { EventStream } from './stream.js';

/** The options of `serveDashboard()`. */
export interface DashboardOptions {
  /** The port to listen on (default 0: a free one, chosen by the system). */
  port?: number;
  /** The address to listen on (default `127.0.0.1`: this machine only); an IPv6 address may be in brackets, as in a URL. */
  host?: string;
}

/** A running dashboard. */
export interface Dashboard {
  /** Where the page is, as `http://host:port/`. */
  readonly url: string;
  /** Ends the pages' streams, stops listening and stops observing the executors. */
  close(): Promise<void>;
}

/**
 * How often each page is sent what changed: twice a second is live to the eye, and leaves a browser on the same
 * two cores as the pool little to do (at four a second, W1 with a page open lost a tenth more).
 */
const TICK_MS = 500;

const STATIC: Record<string, [string, string]> = {
  '/': ['text/html; charset=utf-8', PAGE_HTML],
  '/app.js': ['text/javascript; charset=utf-8', PAGE_SCRIPT],
  '/charts.js': ['text/javascript; charset=utf-8', CHARTS_SCRIPT],
  '/app.css': ['text/css; charset=utf-8', PAGE_CSS],
};

/** Nothing runs or loads but the page's own files: a task name that reaches the page as markup still does nothing. */
const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

/** The executors to show, by name; a `withOptions()` view is shown as the executor it submits to (its tasks are that one's). */
function checkExecutors(executors: unknown): Array<[string, Executor]> {
  if (executors instanceof Executor) {
    const target = executors._target();
    return [[target.constructor.name, target]];
  }
  if (executors === null || typeof executors !== 'object' || Array.isArray(executors)) {
    throw new TypeError(`serveDashboard() expects an executor or an object of executors by name, got ${describe(executors)}`);
  }
  const entries = Object.entries(executors);
  if (entries.length === 0) throw new TypeError('serveDashboard() got an object with no executors');
  for (const [name, executor] of entries) {
    if (!(executor instanceof Executor)) throw new TypeError(`serveDashboard(): '${name}' is not an executor, got ${describe(executor)}`);
  }
  const seen = new Map<Executor, string>();
  for (const [name, executor] of entries) {
    const target = (executor as Executor)._target();
    const other = seen.get(target);
    if (other !== undefined) throw new TypeError(`serveDashboard(): '${other}' and '${name}' are the same executor (a withOptions() view is its executor); give it once`);
    seen.set(target, name);
  }
  return [...seen].map(([executor, name]) => [name, executor]);
}

function checkListen(options: unknown): { port: number; host: string } {
  if (options === undefined) return { port: 0, host: '127.0.0.1' };
  if (options === null || typeof options !== 'object') throw new TypeError(`serveDashboard(): options must be an object or undefined, got ${describe(options)}`);
  for (const key of Object.keys(options)) {
    if (key !== 'port' && key !== 'host') throw new TypeError(`serveDashboard(): unknown option '${key}' (the options are port and host)`);
  }
  const { port = 0, host = '127.0.0.1' } = options as DashboardOptions;
  if (typeof port !== 'number') throw new TypeError(`serveDashboard(): port must be a number, got ${describe(port)}`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`serveDashboard(): port must be an integer from 0 to 65535, got ${describe(port)}`);
  if (typeof host !== 'string' || host === '') throw new TypeError(`serveDashboard(): host must be a non-empty string, got ${describe(host)}`);
  // The URL's spelling of an IPv6 address ('[::1]', as the printed URL shows it) is that address.
  if (host.startsWith('[') || host.endsWith(']')) {
    const inner = host.slice(1, -1);
    if (!host.startsWith('[') || !host.endsWith(']') || isIP(inner) !== 6) {
      throw new TypeError(`serveDashboard(): host '${host}' has brackets but is not an IPv6 address in them (give a name, an IPv4 address, or an IPv6 address such as '::1')`);
    }
    return { port, host: inner };
  }
  return { port, host };
}

/**
 * The `Host` headers a page may send to a server bound to `address` (as given, `host`): on a loopback address its
 * own, under any name for this machine (without the port on port 80, as browsers send it); elsewhere, any.
 */
function allowedHosts(host: string, address: string, port: number): Set<string> | null {
  // Decided by the address bound, not by how it was spelled (LOCALHOST, 0:0:0:0:0:0:0:1, ::ffff:127.0.0.1).
  const v4 = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  if (!(/^127\./.test(v4) && isIP(v4) === 4) && v4 !== '::1') return null;
  const names = ['127.0.0.1', 'localhost', '[::1]', bracketed(host), bracketed(address)];
  const allowed = new Set<string>();
  for (const name of names) {
    // As spelled (curl sends that), and as a browser sends it: '[::ffff:127.0.0.1]' becomes '[::ffff:7f00:1]'.
    const url = `http://${name}`;
    for (const spelling of [name.toLowerCase(), URL.canParse(url) ? new URL(url).hostname : name.toLowerCase()]) {
      allowed.add(`${spelling}:${port}`);
      if (port === 80) allowed.add(spelling);
    }
  }
  return allowed;
}

/**
 * Serves a live page of `executors` (one, or several by name): the task
 * stream, progress per task name, workers and throughput and latency over
 * time, and `/state.json`, the same data as JSON. Resolves once it listens;
 * `close()` ends it. Throws a `TypeError` for what is not an executor or bad
 * options, a `RangeError` for a port out of range; rejects when it cannot listen.
 */
export function serveDashboard(executors: Executor | Record<string, Executor>, options?: DashboardOptions): Promise<Dashboard> {
  return serveWith(executors, options, undefined);
}

/** `serveDashboard`, its tasks shown as `view` says. @internal */
export async function serveWith(executors: Executor | Record<string, Executor>, options: DashboardOptions | undefined, view: TaskView | undefined): Promise<Dashboard> {
  const entries = checkExecutors(executors);
  const { port, host } = checkListen(options);
  await allowedToListen(host, port);
  const boards = new Map<unknown, Board>(entries.map(([name, executor]) => [executor, new Board(name, executor, view)]));
  const stream = new EventStream();
  const message = (full: boolean): string =>
    JSON.stringify({ now: performance.now(), window: WINDOW_MS, rss: process.memoryUsage.rss(), executors: [...boards.values()].map((b) => b.snapshot(full)) });

  let ticker: NodeJS.Timeout | null = null;
  const tick = (): void => stream.send(() => message(false), () => message(true));
  const pagesChanged = (): void => {
    if (stream.size > 0 && ticker === null) {
      ticker = setInterval(tick, TICK_MS);
      ticker.unref();
      // The new page has its picture at once, not a tick later.
      setImmediate(tick);
    } else if (stream.size === 0 && ticker !== null) {
      clearInterval(ticker);
      ticker = null;
    }
  };

  // Two of the channel's five events are enough: a task submitted, a task done.
  const channel = tracingChannel('concurrent-futures:task');
  // One executor (the usual case): a comparison, not a lookup, per event.
  const sole = boards.size === 1 ? [...boards.values()][0]! : null;
  const onStart = (message: unknown): void => {
    const trace = message as TaskTrace;
    const board = sole !== null ? (trace.executor === sole.executor ? sole : undefined) : boards.get(trace.executor);
    board?.submitted(trace);
  };
  const onDone = (message: unknown): void => {
    const trace = message as TaskTrace;
    const board = sole !== null ? (trace.executor === sole.executor ? sole : undefined) : boards.get(trace.executor);
    board?.ended(trace);
  };

  let hosts: Set<string> | null = null;
  const server = createServer((req, res) => handle(req, res));
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    res.on('error', () => {});
    // A page elsewhere that resolves its own name to this machine (DNS rebinding) reads nothing.
    if (hosts !== null && !hosts.has((req.headers.host ?? '').toLowerCase())) {
      res.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8' }).end('this dashboard answers to its own address only\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('GET only\n');
      return;
    }
    // A request line may name the whole URL (RFC 9112's absolute form): its path is what is asked for.
    const target = req.url ?? '/';
    const path = (/^https?:\/\//i.test(target) ? target.replace(/^https?:\/\/[^/?#]*/i, '') || '/' : target).split('?')[0]!;
    const file = STATIC[path];
    if (file !== undefined) {
      res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': file[0] }).end(req.method === 'HEAD' ? undefined : file[1]);
    } else if (path === '/state.json') {
      const state = { executors: [...boards.values()].map((b) => b.state()) };
      res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8' }).end(JSON.stringify(state));
    } else if (path === '/favicon.ico') {
      res.writeHead(204).end();
    } else if (path === '/events' && req.method === 'HEAD') {
      // A stream nobody will read: its headers only.
      res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream' }).end();
    } else if (path === '/events') {
      stream.open(req, res, pagesChanged);
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found: the page is at /\n');
    }
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  hosts = allowedHosts(host, typeof address === 'object' && address !== null ? address.address : host, bound);
  const since = performance.now();
  for (const board of boards.values()) board.begin(since);
  channel.start.subscribe(onStart);
  channel.asyncEnd.subscribe(onDone);
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : bracketed(host);

  let closing: Promise<void> | null = null;
  return {
    url: `http://${shown}:${bound}/`,
    close(): Promise<void> {
      return (closing ??= new Promise<void>((resolve) => {
        channel.start.unsubscribe(onStart);
        channel.asyncEnd.unsubscribe(onDone);
        if (ticker !== null) clearInterval(ticker);
        ticker = null;
        stream.closeAll();
        server.close(() => resolve());
        server.closeAllConnections();
      }));
    },
  };
}
