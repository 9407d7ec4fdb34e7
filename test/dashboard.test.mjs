// concurrent-futures/dashboard in a real browser: Debian's chromium, driven by playwright-core. The page must
// show what ran (counts per task name, a bar per task), update itself, show hostile names as text, and the
// server must outlive browsers that vanish and runs of many quick tasks without flooding them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { connect, createServer } from 'node:net';
import { tracingChannel } from 'node:diagnostics_channel';
import { chromium } from 'playwright-core';
import { AsyncPoolExecutor, Executor, ProcessPoolExecutor, ThreadPoolExecutor } from '../dist/index.js';
import { serveDashboard } from '../dist/dashboard/index.js';
import { CLI, fixture } from './cli-helpers.mjs';
import { redisForTests, redisSkipReason } from './redis-server.mjs';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
let browser;
// Chromium's own temporary files (its singleton lock, shared memory) go here, removed once it has closed:
// otherwise one it failed to remove at close is left in the test run's temporary directory.
let browserTmp;
const redisSkip = redisSkipReason();
const redis = redisForTests(redisSkip);

before(async () => {
  // Never skipped: without the browser this file fails, saying what to install (.ci/run installs it).
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: the dashboard tests need Debian's chromium package (apt-get install chromium)`);
  browserTmp = mkdtempSync(join(tmpdir(), 'chromium-'));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true, env: { ...process.env, TMPDIR: browserTmp } });
});

after(async () => {
  await browser?.close();
  if (browserTmp !== undefined) rmSync(browserTmp, { recursive: true, force: true });
});

/** A task that holds its thread for `ms`. */
function nap(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  return ms;
}

function fails(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  throw new Error('this task fails');
}

async function getJson(url) {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  return res.json();
}

/** The status `/state.json` answers a request whose `Host` header is `host`. */
function statusFor(url, host) {
  return new Promise((resolve, reject) => {
    const req = request(new URL('state.json', url), { headers: { host } }, (res) => resolve(res.statusCode));
    req.on('error', reject);
    req.end();
  });
}

/** `/state.json`'s first executor, read until `done(entry)` says so (5 s at most): the last one read. */
async function stateWhen(url, done) {
  let entry;
  for (const deadline = performance.now() + 5_000; performance.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 20))) {
    entry = (await getJson(new URL('state.json', url))).executors[0];
    if (done(entry)) break;
  }
  return entry;
}

/** Runs `fn(dashboard)` with `executor` served, then closes both. */
async function served(executor, options, fn) {
  const dashboard = await serveDashboard(executor, options);
  try {
    await fn(dashboard);
  } finally {
    await dashboard.close();
    await executor.shutdown();
  }
}

/** The progress table as the page shows it: name -> [queued, running, done, failed, cancelled]. */
function progressTable(page) {
  return page.$$eval('#progress tbody tr', (rows) =>
    Object.fromEntries(rows.map((tr) => [tr.cells[0].textContent, [...tr.cells].slice(2, 7).map((td) => Number(td.textContent.replace(/,/g, '')))])),
  );
}

/** Waits until the page's progress table shows `expected` for `name`. */
async function untilRow(page, name, expected, timeout = 20_000) {
  const deadline = Date.now() + timeout;
  let seen;
  while (Date.now() < deadline) {
    seen = await progressTable(page);
    if (JSON.stringify(seen[name]) === JSON.stringify(expected)) return seen;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`the page showed ${JSON.stringify(seen)}, not ${name}: ${JSON.stringify(expected)}`);
}

/**
 * Serves `executors` (one, or an object of them by name), opens the page and runs `fn` with both; then closes
 * the page and the dashboard and shuts the executors down, however `fn` ended.
 */
async function onPage(executors, fn) {
  const dashboard = await serveDashboard(executors);
  const { page, problems } = await openPage(dashboard.url);
  try {
    await fn({ dashboard, page, problems });
  } finally {
    await page.close();
    await dashboard.close();
    await Promise.all(Object.values(executors instanceof Executor ? { executors } : executors).map((ex) => ex.shutdown()));
  }
}

async function openPage(url) {
  const page = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('dialog', (dialog) => {
    problems.push(`a dialog opened: ${dialog.message()}`);
    void dialog.dismiss();
  });
  const failed = new Promise((resolve, reject) => page.once('pageerror', reject));
  await page.goto(url);
  // A script that does not run says why at once, rather than as a timeout.
  await Promise.race([page.waitForFunction(() => Number(document.body.dataset.messages) > 0), failed]);
  return { page, problems };
}

/** Reads `/events` raw until `stop()`, which gives the sizes of the messages read; `kinds` says which were full pictures. */
function streamReader(url) {
  const sizes = [];
  const kinds = [];
  let buffer = '';
  const req = request(new URL('events', url), (res) => {
    res.setEncoding('utf8');
    res.on('data', (chunk) => {
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const message = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (message.includes('data: ')) {
          sizes.push(message.length);
          kinds.push(message.startsWith('event: full') ? 'full' : 'delta');
        }
      }
    });
    res.on('error', () => {});
  });
  req.on('error', () => {});
  req.end();
  return {
    kinds,
    stop() {
      req.destroy();
      return sizes;
    },
  };
}

test('state.json has the shape API.md gives, and the server binds 127.0.0.1 on a free port by default', async () => {
  const executor = new ThreadPoolExecutor(2);
  const dashboard = await serveDashboard(executor);
  try {
    assert.match(dashboard.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.notEqual(new URL(dashboard.url).port, '0');
    const futures = [];
    for (let i = 0; i < 5; i++) futures.push(executor.submit(nap, 5));
    for (let i = 0; i < 2; i++) futures.push(executor.submit(fails, 1));
    await Promise.allSettled(futures.map((f) => f.result()));
    const state = await getJson(new URL('state.json', dashboard.url));
    assert.deepEqual(Object.keys(state), ['executors']);
    assert.equal(state.executors.length, 1);
    const [entry] = state.executors;
    assert.deepEqual(Object.keys(entry).sort(), ['kind', 'name', 'stats', 'tasks', 'workers']);
    assert.equal(entry.name, 'ThreadPoolExecutor');
    assert.equal(entry.kind, 'thread');
    assert.equal(entry.stats.completed, 7);
    assert.equal(entry.stats.failed, 2);
    assert.deepEqual(entry.tasks, {
      nap: { queued: 0, running: 0, completed: 5, failed: 0, cancelled: 0 },
      fails: { queued: 0, running: 0, completed: 2, failed: 2, cancelled: 0 },
    });
    assert.ok(entry.workers.length >= 1 && entry.workers.length <= 2, JSON.stringify(entry.workers));
    for (const w of entry.workers) {
      assert.deepEqual(Object.keys(w), ['id', 'busy']);
      assert.equal(typeof w.id, 'number');
      assert.equal(w.busy, false);
    }
    // Another name for this machine's address (DNS rebinding) gets nothing; only GET is served.
    assert.equal(await statusFor(dashboard.url, 'attacker.example:80'), 403);
    assert.equal((await fetch(new URL('state.json', dashboard.url), { method: 'POST' })).status, 405);
    // A request line that names the whole URL (RFC 9112's absolute form, as a proxy sends it) is served too.
    const { port } = new URL(dashboard.url);
    const absolute = await new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: `${dashboard.url}state.json?x=1` }, (res) => {
        res.resume();
        resolve([res.statusCode, res.headers['content-type']]);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(absolute[0], 200);
    assert.match(absolute[1], /json/);
  } finally {
    await dashboard.close();
    await executor.shutdown();
  }
});

test('a loopback host spelled otherwise (LOCALHOST) still answers only requests addressed to it', async () => {
  await served(new AsyncPoolExecutor(1), { host: 'LOCALHOST' }, async ({ url }) => {
    const { port } = new URL(url);
    assert.equal(await statusFor(url, 'attacker.example'), 403);
    assert.equal(await statusFor(url, `attacker.example:${port}`), 403);
    assert.equal(await statusFor(url, `localhost:${port}`), 200);
    assert.equal(await statusFor(url, `127.0.0.1:${port}`), 200);
  });
});

test('on port 80 a browser\'s Host, which has no port, is its own address', async (t) => {
  const executor = new AsyncPoolExecutor(1);
  let dashboard;
  try {
    dashboard = await serveDashboard(executor, { port: 80 });
  } catch (error) {
    await executor.shutdown();
    return t.skip(`cannot listen on port 80 here: ${error.message}`);
  }
  try {
    assert.equal((await fetch('http://127.0.0.1/state.json')).status, 200);
    assert.equal((await fetch('http://localhost/state.json')).status, 200);
  } finally {
    await dashboard.close();
    await executor.shutdown();
  }
});

test('a page that joins a long run gets the whole picture once, then only what changed, however large the picture', async () => {
  const executor = new AsyncPoolExecutor(4);
  await served(executor, undefined, async (dashboard) => {
    // Thousands of bars of 200 names: a full picture well past a socket's 16 KiB mark.
    const futures = [];
    for (let i = 0; i < 4000; i++) {
      const named = { [`task${i % 200}`]: async () => new Promise((resolve) => setTimeout(resolve, 1)) }[`task${i % 200}`];
      futures.push(executor.submit(named));
    }
    await Promise.all(futures.map((f) => f.result()));
    const late = streamReader(dashboard.url);
    await new Promise((resolve) => setTimeout(resolve, 2_600));
    const sizes = late.stop();
    assert.ok(sizes[0] > 16_384, `the full picture: ${sizes[0]} bytes`);
    assert.deepEqual(late.kinds, ['full', ...late.kinds.slice(1).map(() => 'delta')], `messages: ${late.kinds.join(' ')}`);
    assert.ok(late.kinds.length >= 4, `${late.kinds.length} messages in 2.6 s`);
  });
});

test('tasks submitted before the dashboard began count once they end: queued stays what waits', async () => {
  const executor = new ThreadPoolExecutor(2);
  // Someone else listens already (a logger, OpenTelemetry): these tasks have contexts the dashboard never saw start.
  const logger = { start() {}, end() {}, asyncStart() {}, asyncEnd() {}, error() {} };
  const channel = tracingChannel('concurrent-futures:task');
  channel.subscribe(logger);
  const early = Array.from({ length: 6 }, () => executor.submit(nap, 60));
  const dashboard = await serveDashboard(executor);
  try {
    const late = Array.from({ length: 10 }, () => executor.submit(nap, 60));
    await Promise.all(early.map((f) => f.result()));
    const { tasks } = (await getJson(new URL('state.json', dashboard.url))).executors[0];
    const waiting = late.filter((f) => !f.running() && !f.done()).length;
    assert.ok(waiting >= 4, `${waiting} of the later tasks wait`);
    // Two may run, uncounted as submitted until they end: within the workers of what waits.
    assert.ok(tasks.nap.queued >= waiting - 2, `queued ${tasks.nap.queued}, ${waiting} wait`);
    await Promise.all(late.map((f) => f.result()));
    const end = (await getJson(new URL('state.json', dashboard.url))).executors[0].tasks.nap;
    assert.deepEqual(end, { queued: 0, running: 0, completed: 16, failed: 0, cancelled: 0 });
  } finally {
    channel.unsubscribe(logger);
    await dashboard.close();
    await executor.shutdown();
  }
});

test('tasks submitted before the dashboard with no one listening: a row of their own, so that the table adds up to stats()', async () => {
  const executor = new ThreadPoolExecutor(2);
  await executor.submit(nap, 1).result(); // done before: counted by neither
  const early = Array.from({ length: 5 }, () => executor.submit(nap, 300));
  const dashboard = await serveDashboard(executor);
  const ROW = '(submitted before the dashboard)';
  try {
    const late = Array.from({ length: 3 }, () => executor.submit(nap, 10));
    const mid = await stateWhen(dashboard.url, (e) => e.stats.running === 2);
    assert.deepEqual(mid.tasks[ROW], { queued: 3, running: 2, completed: 0, failed: 0, cancelled: 0 }, JSON.stringify(mid));
    assert.equal(mid.tasks.nap.queued, 3);
    await Promise.all([...early, ...late].map((f) => f.result()));
    const end = (await getJson(new URL('state.json', dashboard.url))).executors[0];
    assert.deepEqual(end.tasks[ROW], { queued: 0, running: 0, completed: 5, failed: 0, cancelled: 0 });
    assert.deepEqual(end.tasks.nap, { queued: 0, running: 0, completed: 3, failed: 0, cancelled: 0 });
    const rows = Object.values(end.tasks);
    assert.equal(rows.reduce((n, t) => n + t.completed, 0), end.stats.completed - 1, 'the rows add up to stats(), less what was done before');
  } finally {
    await dashboard.close();
    await executor.shutdown();
  }
});

test('process pool: the table counts running what stats() does, a task sent ahead to a child too (as CPython)', async () => {
  const executor = new ProcessPoolExecutor(2);
  await served(executor, undefined, async ({ url }) => {
    await Promise.all([executor.submit(nap, 1).result(), executor.submit(nap, 1).result()]);
    const futures = Array.from({ length: 6 }, () => executor.submit(nap, 600));
    const entry = await stateWhen(url, (e) => e.stats.running === 4);
    assert.equal(entry.stats.running, 4, 'two run, two wait in their children');
    assert.equal(entry.tasks.nap.running, entry.stats.running, JSON.stringify(entry.tasks.nap));
    assert.equal(entry.tasks.nap.queued, entry.stats.queued, JSON.stringify(entry.tasks.nap));
    await Promise.all(futures.map((f) => f.result()));
  });
});

test('serveDashboard refuses what is not an executor and bad options, naming them', async () => {
  const executor = new AsyncPoolExecutor(1);
  await assert.rejects(serveDashboard(42), { name: 'TypeError', message: /expects an executor or an object of executors by name, got number 42/ });
  await assert.rejects(serveDashboard({ a: executor, b: {} }), { name: 'TypeError', message: /'b' is not an executor/ });
  await assert.rejects(serveDashboard(executor, { port: -1 }), { name: 'RangeError', message: /port must be an integer from 0 to 65535, got number -1/ });
  await assert.rejects(serveDashboard(executor, { prot: 1 }), { name: 'TypeError', message: /unknown option 'prot'/ });
  for (const host of ['[localhost]', '[127.0.0.1]', '[::1', '::1]', '[]']) {
    await assert.rejects(serveDashboard(executor, { host }), { name: 'TypeError', message: new RegExp(`host '${host.replace(/[[\]]/g, '\\$&')}' has brackets but is not an IPv6 address in them`) });
  }
  await executor.shutdown();
});

test('an IPv6 host in brackets, as the URL spells it, is the address inside them; its page answers a browser\'s spelling', async (t) => {
  // ::ffff:127.0.0.1 is 127.0.0.1 (IPv4-mapped): a test may listen there and nowhere else. It takes an IPv6 socket.
  const probe = createServer();
  const refused = await new Promise((resolve) => {
    probe.once('error', (error) => resolve(error.code ?? error.message));
    probe.listen(0, '::ffff:127.0.0.1', () => probe.close(() => resolve(null)));
  });
  if (refused !== null) return t.skip(`this machine opens no IPv6 socket (${refused})`);
  for (const host of ['[::ffff:127.0.0.1]', '::ffff:127.0.0.1']) {
    await served(new AsyncPoolExecutor(1), { host }, async ({ url }) => {
      assert.match(url, /^http:\/\/\[::ffff:127\.0\.0\.1\]:\d+\/$/);
      const { port } = new URL(url);
      // fetch() sends the URL's form of it, [::ffff:7f00:1]; curl sends it as typed.
      assert.equal((await fetch(new URL('state.json', url))).status, 200);
      assert.equal(await statusFor(url, `[::ffff:127.0.0.1]:${port}`), 200);
      assert.equal((await fetch(`http://127.0.0.1:${port}/state.json`)).status, 200);
      assert.equal(await statusFor(url, `attacker.example:${port}`), 403);
    });
  }
});

test('a withOptions() view is served as its executor: its kind, its workers and the tasks of every view of it', async () => {
  const executor = new ThreadPoolExecutor(1);
  const urgent = executor.withOptions({ priority: 1 });
  const dashboard = await serveDashboard(urgent.withOptions({ timeout: 5000 }));
  try {
    const futures = [];
    for (let i = 0; i < 3; i++) futures.push(urgent.submit(nap, 1));
    for (let i = 0; i < 2; i++) futures.push(executor.submit(fails, 1));
    await Promise.allSettled(futures.map((f) => f.result()));
    const [entry] = (await getJson(new URL('state.json', dashboard.url))).executors;
    assert.equal(entry.name, 'ThreadPoolExecutor');
    assert.equal(entry.kind, 'thread');
    assert.deepEqual(entry.tasks, {
      nap: { queued: 0, running: 0, completed: 3, failed: 0, cancelled: 0 },
      fails: { queued: 0, running: 0, completed: 2, failed: 2, cancelled: 0 },
    });
    assert.equal(entry.workers.length, 1);
  } finally {
    await dashboard.close();
  }
  // Two names for one executor would split nothing and count everything twice: refused, naming both.
  await assert.rejects(serveDashboard({ all: executor, urgent }), { name: 'TypeError', message: /'all' and 'urgent' are the same executor/ });
  await executor.shutdown();
});

test('thread pool: the page shows the counts per task name and a bar per task, live, without a reload', async () => {
  const executor = new ThreadPoolExecutor(2);
  await onPage(executor, async ({ dashboard, page, problems }) => {
    await page.evaluate(() => (window.sameDocument = true));
    const futures = [];
    for (let i = 0; i < 6; i++) futures.push(executor.submit(nap, 120));
    futures.push(executor.submit(fails, 60), executor.submit(fails, 60));
    // Mid-run the page already shows work queued or running.
    await page.waitForFunction(() => [...document.querySelectorAll('#progress tbody tr')].some((tr) => Number(tr.cells[3].textContent) > 0));
    await Promise.allSettled(futures.map((f) => f.result()));
    await untilRow(page, 'nap', [0, 0, 6, 0, 0]);
    await untilRow(page, 'fails', [0, 0, 0, 2, 0]);
    const stream = await page.waitForFunction(() => {
      const c = document.getElementById('stream');
      return c.dataset.bars === '8' && c.dataset.failed === '2' && c.dataset.tasks === '8' ? c.dataset : null;
    });
    assert.ok(await stream.jsonValue());
    const workers = await page.$$eval('#workers tbody tr', (rows) => rows.map((tr) => [tr.cells[0].textContent, tr.cells[1].textContent, Number(tr.cells[3].textContent)]));
    assert.equal(workers.length, 2, JSON.stringify(workers));
    assert.equal(workers.reduce((n, w) => n + w[2], 0), 8);
    assert.deepEqual(workers.map((w) => w[1]), ['idle', 'idle']);
    assert.equal(await page.evaluate(() => window.sameDocument), true);
    assert.deepEqual(problems, []);
  });
});

test('slow work and a finished run read as such: a fraction of a task per second, a point per lonely second of latency, no worker left after shutdown; a phone-wide page does not scroll sideways', async () => {
  const executor = new ThreadPoolExecutor(2);
  await onPage(executor, async ({ page, problems }) => {
    await Promise.all(Array.from({ length: 3 }, () => executor.submit(nap, 50).result()));
    const tile = (key) => page.$$eval('.tile', (tiles, k) => tiles.find((t) => t.querySelector('.k').textContent === k)?.querySelector('.v').textContent, key);
    const rate = await page.waitForFunction(() => {
      const t = [...document.querySelectorAll('.tile')].find((e) => e.querySelector('.k').textContent === 'throughput');
      return t && t.querySelector('.v').textContent !== '0 /s' ? t.querySelector('.v').textContent : null;
    });
    assert.match(await rate.jsonValue(), /^\d\.\d \/s$/, 'three tasks in the last 10 s: a fraction, not 0');
    // The three ended within a second or two, among seconds without any: drawn, not lifted pen and all.
    const drawn = await page.waitForFunction(() => {
      const c = document.getElementById('latency');
      const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      // The lines' colours (the p99 one is drawn over the median when they are equal).
      const colours = [[0x3b, 0x7d, 0xd8], [0x9b, 0x59, 0xb6], [0xe0, 0x8a, 0x1e]];
      for (let i = 0; i < data.length; i += 4) if (colours.some((k) => k.every((v, j) => Math.abs(data[i + j] - v) < 12))) n++;
      return n > 4 ? n : null;
    }, undefined, { timeout: 5000 }).catch(() => null);
    assert.ok(drawn !== null, 'the latency lines have pixels on the chart');
    await executor.shutdown();
    await page.waitForFunction(() => !document.getElementById('workers-empty').hidden);
    assert.match(await page.$eval('#workers-empty', (e) => e.textContent), /^No worker now/);
    assert.equal(await tile('done'), '3');
    await page.setViewportSize({ width: 400, height: 800 });
    await new Promise((resolve) => setTimeout(resolve, 700));
    const [client, scroll] = await page.evaluate(() => [document.documentElement.clientWidth, document.documentElement.scrollWidth]);
    assert.ok(scroll <= client, `the page is ${scroll} px wide in a ${client} px window`);
    assert.deepEqual(problems, []);
  });
});

test('async pool: a task named as markup is shown as text and runs nothing in the page', async () => {
  const executor = new AsyncPoolExecutor(3);
  const hostile = '<img src=x onerror="window.__xss=1;alert(1)">';
  const fn = async (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  Object.defineProperty(fn, 'name', { value: hostile });
  await onPage(executor, async ({ dashboard, page, problems }) => {
    await Promise.all([1, 2, 3, 4].map(() => executor.submit(fn, 80).result()));
    await untilRow(page, hostile, [0, 0, 4, 0, 0]);
    assert.equal(await page.evaluate(() => document.querySelectorAll('img').length), 0);
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    const legend = await page.$$eval('#legend span', (spans) => spans.map((s) => s.textContent));
    assert.ok(legend.includes(hostile), JSON.stringify(legend));
    await page.waitForFunction(() => document.getElementById('stream').dataset.bars === '4');
    assert.deepEqual(problems, []);
  });
});

test('browsers that vanish mid-stream, or stop reading it, break neither the server nor the pool', async () => {
  const executor = new ThreadPoolExecutor(2);
  const dashboard = await serveDashboard(executor);
  const url = new URL(dashboard.url);
  try {
    const running = executor.map((n) => n * 2, Array.from({ length: 20_000 }, (_, i) => i));
    const { page } = await openPage(dashboard.url);
    await page.close();
    // One that never reads: its buffer fills, and it is sent nothing more until it drains.
    const stuck = connect(Number(url.port), url.hostname);
    stuck.write(`GET /events HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`);
    stuck.pause();
    // One that goes away without a word.
    const gone = connect(Number(url.port), url.hostname);
    gone.write(`GET /events HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    gone.destroy();
    let n = 0;
    for await (const value of running) assert.equal(value, 2 * n++);
    assert.equal(n, 20_000);
    const again = await openPage(dashboard.url);
    await untilRow(again.page, '(anonymous)', [0, 0, 20_000, 0, 0]);
    await again.page.close();
    stuck.destroy();
    const state = await getJson(new URL('state.json', dashboard.url));
    assert.equal(state.executors[0].stats.completed, 20_000);
  } finally {
    await dashboard.close();
    await executor.shutdown();
  }
});

test('100,000 quick tasks: the stream stays at a few messages a second, each of bounded size, and the counts are exact', async () => {
  const executor = new ThreadPoolExecutor(2);
  await onPage(executor, async ({ dashboard, page, problems }) => {
    const started = performance.now();
    const reader = streamReader(dashboard.url);
    const futures = [];
    for (let i = 0; i < 100_000; i++) futures.push(executor.submit(function quick(x) { return x + 1; }, i));
    await Promise.all(futures.map((f) => f.result()));
    await untilRow(page, 'quick', [0, 0, 100_000, 0, 0], 30_000);
    const sizes = reader.stop();
    const seconds = (performance.now() - started) / 1000;
    // Two a second, and the first at once: never one per task.
    assert.ok(sizes.length <= 2 * seconds + 3, `${sizes.length} messages in ${seconds.toFixed(1)} s`);
    assert.ok(Math.max(...sizes) < 1_000_000, `largest message ${Math.max(...sizes)} bytes`);
    const messages = await page.evaluate(() => Number(document.body.dataset.messages));
    const elapsed = (performance.now() - started) / 1000;
    assert.ok(messages <= 2 * elapsed + 3, `the page got ${messages} messages in ${elapsed.toFixed(1)} s`);
    assert.deepEqual(problems, []);
  });
});

test('process pool: the page lists its children with their memory and counts their tasks', async () => {
  const executor = new ProcessPoolExecutor(2);
  await onPage({ children: executor }, async ({ dashboard, page, problems }) => {
    await Promise.all([1, 2, 3, 4].map(() => executor.submit(nap, 50).result()));
    await untilRow(page, 'nap', [0, 0, 4, 0, 0]);
    await page.waitForFunction(() => document.getElementById('stream').dataset.bars === '4');
    // Memory is read in the background every two seconds, where the system tells it (Linux: /proc).
    if (process.platform === 'linux') {
      await page.waitForFunction(() => [...document.querySelectorAll('#workers tbody tr')].every((tr) => / MB$/.test(tr.cells[4].textContent)), null, { timeout: 10_000 });
    }
    const state = await getJson(new URL('state.json', dashboard.url));
    assert.equal(state.executors[0].name, 'children');
    assert.equal(state.executors[0].kind, 'process');
    assert.deepEqual(problems, []);
  });
});

test('several executors: one page, a tab each, each with its own counts', async () => {
  const io = new AsyncPoolExecutor(4);
  const cpu = new ThreadPoolExecutor(1);
  await onPage({ io, cpu }, async ({ dashboard, page, problems }) => {
    async function fetchLike(ms) {
      await new Promise((resolve) => setTimeout(resolve, ms));
    }
    await Promise.all([io.submit(fetchLike, 20).result(), io.submit(fetchLike, 20).result(), cpu.submit(nap, 20).result()]);
    const tabs = await page.$$eval('#tabs button', (buttons) => buttons.map((b) => b.textContent));
    assert.deepEqual(tabs, ['io (async)', 'cpu (thread)']);
    await untilRow(page, 'fetchLike', [0, 0, 2, 0, 0]);
    await page.click('#tabs button:nth-child(2)');
    await untilRow(page, 'nap', [0, 0, 1, 0, 0]);
    const state = await getJson(new URL('state.json', dashboard.url));
    assert.deepEqual(state.executors.map((e) => [e.name, e.kind, Object.keys(e.tasks)]), [['io', 'async', ['fetchLike']], ['cpu', 'thread', ['nap']]]);
    assert.deepEqual(problems, []);
  });
});

test('close() ends the streams and the server: a program that served a page exits by itself', { timeout: 30_000 }, async () => {
  const program = `
    import { request } from 'node:http';
    import { ThreadPoolExecutor } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
    import { serveDashboard } from ${JSON.stringify(new URL('../dist/dashboard/index.js', import.meta.url).href)};
    const executor = new ThreadPoolExecutor(1);
    const dashboard = await serveDashboard(executor);
    await executor.submit((x) => x, 1).result();
    // A page's stream, open when close() is called.
    await new Promise((resolve) => request(new URL('events', dashboard.url), (res) => { res.once('data', resolve); res.resume(); }).end());
    await (await fetch(new URL('state.json', dashboard.url))).json();
    await dashboard.close();
    await executor.shutdown();
    console.log('closed');
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', program], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk) => (out += chunk));
  const code = await new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve('still running 20 s later');
    }, 20_000);
    child.on('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  assert.equal(code, 0, out);
  assert.match(out, /closed/);
});

test('a page open when close() is called says it is disconnected', async () => {
  const executor = new AsyncPoolExecutor(1);
  const dashboard = await serveDashboard(executor);
  const { page } = await openPage(dashboard.url);
  try {
    await dashboard.close();
    await page.waitForFunction(() => /disconnected/.test(document.getElementById('conn').textContent));
  } finally {
    await page.close();
    await executor.shutdown();
  }
});

test('CLI: map --dashboard prints a URL on stderr that serves the run, its tasks named by the function', { timeout: 60_000 }, async () => {
  const child = spawn(process.execPath, [CLI, 'map', '--dashboard', '-j', '2', `${fixture('cli-fns.mjs')}#slow`], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
  const url = await new Promise((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (chunk) => {
      stderr += chunk;
      const m = /dashboard at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stderr);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`exited (${code}) before printing a URL: ${stderr}`)));
  });
  try {
    child.stdin.write('1\n2\n3\n');
    const { page, problems } = await openPage(url);
    await untilRow(page, 'slow', [0, 0, 3, 0, 0]);
    assert.deepEqual(problems, []);
    await page.close();
    const html = await (await fetch(url)).text();
    assert.match(html, /<title>concurrent-futures dashboard<\/title>/);
  } finally {
    child.stdin.end();
  }
  const code = await new Promise((resolve) => child.on('close', resolve));
  assert.equal(code, 0, stderr);
  assert.deepEqual(stdout.trim().split('\n'), ['1', '2', '3']);
});

test('CLI: map --dashboard shows the lines that failed as failed, in their batches too', { timeout: 60_000 }, async () => {
  for (const chunk of ['1', '4']) {
    const child = spawn(process.execPath, [CLI, 'map', '--dashboard', '-c', chunk, `${fixture('cli-fns.mjs')}#failOnMultiplesOf3`], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout.resume();
    const url = await new Promise((resolve, reject) => {
      child.stderr.setEncoding('utf8').on('data', (text) => {
        stderr += text;
        const m = /dashboard at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stderr);
        if (m) resolve(m[1]);
      });
      child.on('exit', (code) => reject(new Error(`exited (${code}) before printing a URL: ${stderr}`)));
    });
    try {
      // Lines 1..12: 3, 6, 9 and 12 fail; in batches of 4 lines, every batch has a failing line. Counted as lines,
      // in the table and the tiles alike.
      child.stdin.write(Array.from({ length: 12 }, (_, i) => `${i + 1}\n`).join(''));
      const name = chunk === '1' ? 'failOnMultiplesOf3' : 'failOnMultiplesOf3 (lines, in batches of 4)';
      const expected = { queued: 0, running: 0, completed: 12, failed: 4, cancelled: 0 };
      const { tasks, stats } = await stateWhen(url, (e) => e.tasks[name]?.completed === expected.completed);
      assert.deepEqual(tasks[name], expected, JSON.stringify(tasks));
      const { queued, running, completed, failed, cancelled } = stats;
      assert.deepEqual({ queued, running, completed, failed, cancelled }, expected);
    } finally {
      child.stdin.end();
    }
    assert.equal(await new Promise((resolve) => child.on('close', resolve)), 1, stderr);
  }
});

test('CLI: --dashboard=PORT takes a port number, and nothing else', async () => {
  const { runCli } = await import('./cli-helpers.mjs');
  const spaced = await runCli(['map', '--dashboard', '8080', `${fixture('cli-fns.mjs')}#slow`]);
  assert.equal(spaced.code, 2);
  assert.match(spaced.stderr, /--dashboard takes its port after '=': --dashboard=8080/);
  const bad = await runCli(['map', '--dashboard=http', `${fixture('cli-fns.mjs')}#slow`]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--dashboard=PORT must be a port number from 0 to 65535, got 'http'/);
  const help = await runCli(['map', '--help']);
  assert.match(help.stdout, /--dashboard\[=PORT\]/);
  // A port another server holds: a usage error that names it, and the command ends (its pool shut down).
  const holder = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => holder.once('listening', resolve));
  try {
    const port = holder.address().port;
    const taken = await runCli(['map', `--dashboard=${port}`, `${fixture('cli-fns.mjs')}#slow`], { input: '1\n' });
    assert.equal(taken.code, 2);
    assert.match(taken.stderr, new RegExp(`cannot serve the dashboard on port ${port}: .*EADDRINUSE`));
  } finally {
    holder.close();
  }
});

test('CLI: worker --dashboard serves the worker\'s jobs wherever they run, by task name, a row per slot', redisSkip ? { skip: redisSkip } : { timeout: 60_000 }, async () => {
  const { BullMQExecutor } = await import('../dist/bullmq/index.js');
  const { tasks } = await import('./fixtures/bullmq-tasks.mjs');
  const queueName = `dash${process.pid}`;
  const child = spawn(process.execPath, [CLI, 'worker', '--redis', redis.url, '--queue', queueName, '--concurrency', '2', '--dashboard', fixture('bullmq-tasks.mjs')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stdout.resume();
  const url = await new Promise((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (chunk) => {
      stderr += chunk;
      const m = /dashboard at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stderr);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`exited (${code}) before printing a URL: ${stderr}`)));
  });
  const executor = new BullMQExecutor({ connection: redis.url, queueName });
  try {
    const { page, problems } = await openPage(url);
    // Two tasks that await on the worker's threads: shown running while they wait.
    const naps = [executor.submit(tasks.napThen, 1500, 'a'), executor.submit(tasks.napThen, 1500, 'b')];
    await untilRow(page, 'napThen', [0, 2, 0, 0, 0]);
    assert.deepEqual(await Promise.all(naps.map((f) => f.result())), ['a', 'b']);
    assert.deepEqual(await Promise.all([2, 3, 4].map((n) => executor.submit(tasks.square, n).result())), [4, 9, 16]);
    await untilRow(page, 'square', [0, 0, 3, 0, 0]);
    // Calls that prove quick move to the worker's event loop: still on the page, under their task's name.
    let calls = 0;
    let onMain = 0;
    for (; calls < 400 && onMain < 10; calls++) if ((await executor.submit(tasks.placed, 0).result()) === 'main') onMain++;
    assert.equal(onMain, 10, 'the quick task never settled on the event loop');
    await untilRow(page, 'placed', [0, 0, calls, 0, 0]);
    await untilRow(page, 'napThen', [0, 0, 2, 0, 0]);
    const state = await getJson(new URL('state.json', url));
    assert.deepEqual(state.executors.map((e) => [e.name, e.kind]), [[`queue ${queueName}`, 'bullmq']]);
    const [entry] = state.executors;
    assert.equal(entry.stats.completed, 2 + 3 + calls, JSON.stringify(entry.stats));
    assert.deepEqual(entry.workers.map((w) => w.id), [0, 1]);
    await page.waitForFunction(() => [...document.querySelectorAll('#workers tbody tr')].map((tr) => tr.cells[0].textContent).join() === 'slot 0,slot 1');
    assert.deepEqual(problems, []);
    await page.close();
  } finally {
    await executor.shutdown();
    child.kill('SIGTERM');
  }
  assert.equal(await new Promise((resolve) => child.on('close', resolve)), 0, stderr);
});

test('CLI: worker --dashboard=PORT on a port another server holds exits 1, naming the port, its worker closed', redisSkip ? { skip: redisSkip } : { timeout: 60_000 }, async () => {
  const { runCli } = await import('./cli-helpers.mjs');
  const holder = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => holder.once('listening', resolve));
  try {
    const port = holder.address().port;
    const taken = await runCli(['worker', '--redis', redis.url, '--queue', `taken${process.pid}`, `--dashboard=${port}`, fixture('bullmq-tasks.mjs')], { timeout: 30_000 });
    assert.equal(taken.code, 1, taken.stderr);
    assert.match(taken.stderr, new RegExp(`^concurrent-futures worker: cannot serve the dashboard on port ${port}: .*EADDRINUSE`, 'm'));
  } finally {
    holder.close();
  }
});
