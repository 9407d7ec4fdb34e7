/**
 * The page's script, served as it is (plain ES2017, no build, no library).
 * It keeps what the stream sends (a full picture first, then changes),
 * draws the task stream and the charts on canvases, and puts every text in
 * with `textContent`. Messages come a few times a second whatever the
 * number of tasks: the server samples.
 * @internal
 */

export const PAGE_SCRIPT = String.raw`'use strict';
(function () {
  // Tableau's palette without its reds: red means a failure here.
  var PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#76b7b2', '#edc948', '#9c755f', '#86bcb6', '#8cd17d', '#a0cbe8', '#ffbe7d', '#d4a6c8', '#499894', '#79706e', '#bab0ac', '#f1ce63'];
  var RED = '#d93a3a', GREY = '#a3a9b4', FAILED = 1, CANCELLED = 2, LANE = 18, MAX_LANES = 6, GUTTER = 112, AXIS = 20;
  var state = { execs: [], selected: 0, offset: 0, window: 60000, rss: 0, messages: 0, lastAt: 0, hits: [] };
  // The charts' script (charts.js) draws on canvases and formats numbers and times.
  var C = window.cfCharts, num = C.num, ms = C.ms, canvasFor = C.canvasFor;
  // Tasks per second: slow work (a task every few seconds) reads a fraction, not 0.
  function perSecond(n) { return n >= 10 || n === 0 ? num(Math.round(n)) : n >= 0.1 ? n.toFixed(1) : '< 0.1'; }
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  function colorOf(id) { return PALETTE[id % PALETTE.length]; }
  function keysWidth() { return $('stream-box').clientWidth - GUTTER - 8; }
  function bytes(b) { return b < 0 ? '–' : b < 1048576 ? Math.round(b / 1024) + ' KB' : (b / 1048576).toFixed(b < 104857600 ? 1 : 0) + ' MB'; }
  function rowLabel(ex, row) { return row === '' ? 'worker unknown' : (ex.kind === 'async' || ex.kind === 'bullmq' ? 'slot ' : 'worker ') + row; }
  function byRow(a, b) {
    var na = Number(a), nb = Number(b);
    if (a === '' || b === '') return a === b ? 0 : a === '' ? 1 : -1;
    return !isNaN(na) && !isNaN(nb) ? na - nb : a < b ? -1 : a > b ? 1 : 0;
  }
  function current() { return state.execs[state.selected] || state.execs[0]; }
  function serverNow() { return performance.now() + state.offset; }

  // The stream: a full picture on (re)connecting, then what changed, a few times a second.
  function connect() {
    var source = new EventSource('events');
    source.addEventListener('full', function (e) { receive(JSON.parse(e.data), true); });
    source.onmessage = function (e) { receive(JSON.parse(e.data), false); };
    source.onopen = function () { setConn('live', 'live'); };
    source.onerror = function () {
      setConn('down', 'disconnected, retrying…');
      // A browser retries by itself unless the server answered with an error: then so do we.
      if (source.readyState === 2) setTimeout(connect, 2000);
    };
  }
  function setConn(cls, text) { var c = $('conn'); c.className = 'conn ' + cls; c.textContent = text; }

  function receive(msg, full) {
    state.messages++;
    document.body.dataset.messages = String(state.messages);
    state.offset = msg.now - performance.now();
    state.window = msg.window;
    state.rss = msg.rss;
    state.lastAt = performance.now();
    if ($('conn').className !== 'conn live') setConn('live', 'live');
    if (full) state.execs = [];
    msg.executors.forEach(function (m, i) {
      var ex = state.execs[i];
      if (!ex || ex.name !== m.name) ex = state.execs[i] = { name: m.name, rows: new Map(), series: [] };
      ex.kind = m.kind; ex.stats = m.stats; ex.tasks = m.tasks; ex.workers = m.workers; ex.running = m.running;
      m.bars.forEach(function (entry) { upsert(ex, entry[0], entry[1]); });
      m.series.forEach(function (p) {
        var s = ex.series, last = s[s.length - 1];
        if (last && last[0] === p[0]) s[s.length - 1] = p;
        else if (!last || last[0] < p[0]) s.push(p);
      });
      if (ex.series.length > 300) ex.series.splice(0, ex.series.length - 300);
      prune(ex, msg.now - msg.window - 2000);
    });
    render();
  }
  // Bars by seq: a new one goes last; a known one (quick tasks joined it since) is replaced.
  function upsert(ex, row, bars) {
    var list = ex.rows.get(row);
    if (!list) ex.rows.set(row, list = []);
    bars.forEach(function (b) {
      var i = list.length - 1;
      while (i >= 0 && list[i][0] > b[0]) i--;
      if (i >= 0 && list[i][0] === b[0]) list[i] = b;
      else list.splice(i + 1, 0, b);
    });
  }
  function prune(ex, before) {
    ex.rows.forEach(function (list) {
      var n = 0;
      while (n < list.length && list[n][3] < before) n++;
      if (n > 0) list.splice(0, n);
    });
  }

  function render() {
    var ex = current();
    if (!ex) return;
    renderTabs();
    renderSummary(ex);
    renderProgress(ex);
    renderWorkers(ex);
    renderLegend(ex);
    drawStream(ex);
    // The charts change once a second, with each new point: drawn then, or for another executor or size.
    var last = ex.series.length ? ex.series[ex.series.length - 1][0] : -1, key = last + ' ' + state.selected + ' ' + window.innerWidth;
    if (key === state.charted) return;
    state.charted = key;
    var peak = C.throughput(ex.series), r = recent(ex, 10);
    $('throughput-now').textContent = ex.series.length ? 'last 10 s: ' + perSecond(r.rate) + '/s · peak: ' + num(peak) + '/s' : '';
    C.latency(ex.series);
  }

  function renderTabs() {
    var nav = $('tabs');
    if (state.execs.length < 2) { nav.replaceChildren(); return; }
    if (nav.children.length !== state.execs.length) {
      nav.replaceChildren();
      state.execs.forEach(function (ex, i) {
        var b = el('button', '', ex.name);
        b.setAttribute('role', 'tab');
        b.addEventListener('click', function () { state.selected = i; render(); });
        nav.appendChild(b);
      });
    }
    Array.prototype.forEach.call(nav.children, function (b, i) {
      b.textContent = b.title = state.execs[i].name + ' (' + state.execs[i].kind + ')';
      b.setAttribute('aria-selected', String(i === state.selected));
    });
  }

  // The summary's tiles, made once and their text changed in place.
  function tile(box, key, value, sub, cls) {
    var t = box.children[box.dataset.n++];
    if (!t) {
      t = el('div');
      t.appendChild(el('div', 'k'));
      t.appendChild(el('div', 'v'));
      t.appendChild(el('div', 's'));
      box.appendChild(t);
    }
    t.className = 'tile' + (cls ? ' ' + cls : '');
    t.children[0].textContent = key;
    t.children[1].textContent = value;
    t.children[2].textContent = t.children[2].title = sub || '';
  }
  function recent(ex, seconds) {
    var s = ex.series.slice(-seconds), ended = 0, run = -1;
    s.forEach(function (p) { ended += p[1] + p[2] + p[3]; if (p[4] >= 0) run = p[4]; });
    return { rate: s.length ? ended / s.length : 0, run: run };
  }
  function renderSummary(ex) {
    var st = ex.stats, box = $('summary'), r = recent(ex, 10);
    box.dataset.n = 0;
    tile(box, 'workers busy', num(st.workers - st.idleWorkers) + ' / ' + num(st.workers), ex.name + ' (' + ex.kind + ')');
    tile(box, 'queued', num(st.queued));
    tile(box, 'running', num(st.running));
    tile(box, 'done', num(st.completed - st.failed), 'succeeded');
    tile(box, 'failed', num(st.failed), '', st.failed > 0 ? 'bad' : '');
    tile(box, 'cancelled', num(st.cancelled));
    tile(box, 'throughput', perSecond(r.rate) + ' /s', 'tasks ended, last 10 s');
    if (st.runTime && st.runTime.count > 0) tile(box, 'run time', ms(st.runTime.p50), 'median of recent tasks; p99 ' + ms(st.runTime.p99));
    else tile(box, 'run time', ms(r.run), 'median, last second with tasks');
    if (typeof st.utilization === 'number') tile(box, 'utilization', Math.round(st.utilization * 100) + ' %', 'worker time running tasks');
    tile(box, 'memory', bytes(state.rss), 'this process (RSS)');
    while (box.children.length > Number(box.dataset.n)) box.lastChild.remove();
  }

  // Table rows kept by key, their cells' text changed in place: no flicker, no markup.
  function sync(tbody, keys, make) {
    var have = new Map();
    Array.prototype.forEach.call(tbody.rows, function (tr) { have.set(tr.dataset.key, tr); });
    keys.forEach(function (key, i) {
      var tr = have.get(key);
      if (!tr) { tr = make(); tr.dataset.key = key; }
      have.delete(key);
      if (tbody.rows[i] !== tr) tbody.insertBefore(tr, tbody.rows[i] || null);
    });
    have.forEach(function (tr) { tr.remove(); });
  }
  function cell(tr, i, text, cls) {
    var td = tr.cells[i];
    if (td.textContent !== text) td.textContent = text;
    if (cls !== undefined && td.className !== cls) td.className = cls;
  }
  function renderProgress(ex) {
    var tbody = $('progress').tBodies[0];
    sync(tbody, ex.tasks.map(function (t, i) { return String(i); }), function () {
      var tr = el('tr');
      for (var i = 0; i < 8; i++) tr.appendChild(el('td'));
      tr.cells[0].className = 'name';
      tr.cells[0].append(el('i', 'sw'), document.createTextNode(''));
      tr.cells[1].className = 'bar';
      var bar = el('div', 'pbar');
      ['', 'f', 'r', 'c', 'q'].forEach(function (cls) { bar.appendChild(el('span', cls)); });
      tr.cells[1].appendChild(bar);
      return tr;
    });
    ex.tasks.forEach(function (t, i) {
      var tr = tbody.rows[i], queued = t[1], running = t[2], done = t[3] - t[4], failed = t[4], cancelled = t[5];
      var total = queued + running + done + failed + cancelled || 1;
      var name = tr.cells[0];
      name.firstChild.style.background = colorOf(i);
      if (name.lastChild.data !== t[0]) { name.lastChild.data = t[0]; name.title = t[0]; }
      var spans = tr.cells[1].firstChild.children;
      spans[0].style.background = colorOf(i);
      [done, failed, running, cancelled, queued].forEach(function (n, k) { spans[k].style.width = (100 * n / total) + '%'; });
      [queued, running, done, failed, cancelled].forEach(function (v, k) {
        cell(tr, k + 2, num(v), (v === 0 ? 'zero' : '') + (k === 3 ? ' failed' : ''));
      });
      cell(tr, 7, ms(t[6]));
    });
    $('progress-empty').hidden = ex.tasks.length > 0;
  }

  function renderWorkers(ex) {
    var tbody = $('workers').tBodies[0], now = {};
    ex.running.forEach(function (r) { (now[r[0]] = now[r[0]] || []).push(ex.tasks[r[1]] ? ex.tasks[r[1]][0] : '?'); });
    ex.workers.sort(function (a, b) { return byRow(a[0], b[0]); });
    sync(tbody, ex.workers.map(function (w) { return w[0]; }), function () {
      var tr = el('tr');
      for (var i = 0; i < 5; i++) tr.appendChild(el('td'));
      tr.cells[1].appendChild(el('span', 'pill'));
      tr.cells[2].className = 'left';
      return tr;
    });
    ex.workers.forEach(function (w, i) {
      var tr = tbody.rows[i], names = now[w[0]] || [];
      cell(tr, 0, rowLabel(ex, w[0]));
      var pill = tr.cells[1].firstChild, st = w[1] ? 'busy' : 'idle';
      if (pill.textContent !== st) { pill.textContent = st; pill.className = 'pill ' + st; }
      cell(tr, 2, names.length === 0 ? '' : names.length === 1 ? names[0] : names[0] + ' +' + (names.length - 1));
      tr.cells[2].title = names.join(', ');
      cell(tr, 3, num(w[3]));
      cell(tr, 4, bytes(w[2]));
    });
    var empty = $('workers-empty');
    empty.hidden = ex.workers.length > 0;
    // Tasks ran, and no worker is left: shut down (or its workers ended), not "not started".
    empty.textContent = ended(ex) ? 'No worker now: the executor has none left (shut down, or its workers ended).' : 'No worker started yet (workers start with the first tasks).';
    var note = $('workers-note'), unknown = ex.workers.length > 0 && ex.workers.every(function (w) { return w[2] < 0; });
    note.hidden = !unknown;
    note.textContent = ex.kind === 'async' ? "Tasks run on this process's event loop: its memory is in the summary above."
      : ex.kind === 'thread' ? "A thread's heap is known from Node 22.16 on (worker.getHeapStatistics()); this process's memory is in the summary above."
      : 'Memory is not known here.';
  }

  function renderLegend(ex) {
    var box = $('legend'), key = ex.name + '\u0000' + ex.tasks.map(function (t) { return t[0]; }).join('\u0000');
    if (box.dataset.key === key) return;
    box.dataset.key = key;
    box.replaceChildren();
    ex.tasks.forEach(function (t, i) {
      var s = el('span');
      var sw = el('i', 'sw');
      sw.style.background = colorOf(i);
      s.appendChild(sw);
      s.appendChild(document.createTextNode(t[0]));
      s.title = t[0];
      box.appendChild(s);
    });
    [['failed', 'failed'], ['off', 'cancelled while running'], ['running', 'running now (open end)']].forEach(function (k) {
      var s = el('span');
      s.appendChild(el('i', 'sw ' + k[0]));
      s.appendChild(document.createTextNode(k[1]));
      box.appendChild(s);
    });
  }

  /** Whether any task of the executor has ended (since the dashboard began, or before it). */
  function ended(ex) { return ex.stats.completed + ex.stats.cancelled > 0; }

  // Rows: every worker the executor has (idle ones too), then any other that ran a task in view.
  function drawStream(ex) {
    var now = serverNow(), t0 = now - state.window, keys = [], seen = new Set();
    ex.workers.forEach(function (w) { keys.push(w[0]); seen.add(w[0]); });
    ex.rows.forEach(function (list, row) { if (!seen.has(row) && list.length && list[list.length - 1][3] > t0) { keys.push(row); seen.add(row); } });
    ex.running.forEach(function (r) { if (!seen.has(r[0])) { keys.push(r[0]); seen.add(r[0]); } });
    keys.sort(byRow);
    var rows = keys.map(function (row) {
      var items = (ex.rows.get(row) || []).filter(function (b) { return b[3] > t0; })
        .map(function (b) { return { name: b[1], start: b[2], end: b[3], flags: b[4], count: b[5], running: false }; });
      ex.running.forEach(function (r) { if (r[0] === row) items.push({ name: r[1], start: r[2], end: now, flags: 0, count: 1, running: true }); });
      items.sort(function (a, b) { return a.start - b.start; });
      // Tasks that overlap on one worker (tasksPerWorker > 1) take lanes; a few pixels of overlap are the
      // pool's estimate of when a task started (it infers it from the answers), not two tasks at once.
      var ends = [], slack = 3 * state.window / Math.max(100, keysWidth());
      items.forEach(function (it) {
        var lane = 0;
        // Overlapping by less than half of itself: an estimate's error, drawn from where the one before ended.
        // A bar of a few pixels never opens a lane: the estimate's error would be all there is to it.
        var tolerance = it.end - it.start < slack ? Infinity : Math.max(slack, (it.end - it.start) / 2);
        while (lane < ends.length && ends[lane] > it.start + tolerance) lane++;
        if (lane < ends.length && ends[lane] > it.start) it.start = Math.min(ends[lane], it.end);
        if (lane >= MAX_LANES) lane = MAX_LANES - 1;
        ends[lane] = Math.max(ends[lane] || 0, it.end);
        it.lane = lane;
      });
      return { row: row, items: items, lanes: Math.max(1, ends.length) };
    });
    var height = AXIS + 6;
    rows.forEach(function (r) { height += r.lanes * LANE + 6; });
    if (rows.length === 0) height += 40;
    var v = canvasFor('stream', height), g = v.g, span = v.w - GUTTER - 8, y = 4, tasks = 0, hits = [];
    var x = function (t) { return GUTTER + (t - t0) / state.window * span; };
    g.strokeStyle = '#eef0f3';
    for (var s = 0; s <= 60; s += 10) { g.beginPath(); g.moveTo(x(t0 + s * 1000) + 0.5, 0); g.lineTo(x(t0 + s * 1000) + 0.5, height - AXIS); g.stroke(); }
    if (rows.length === 0) {
      g.fillStyle = '#6b7383';
      g.fillText(ended(ex) ? 'No task in the last minute.' : 'No task has run yet: bars appear here as tasks run.', GUTTER, 30);
    }
    rows.forEach(function (r) {
      var h = r.lanes * LANE;
      g.fillStyle = '#f5f6f8';
      g.fillRect(GUTTER, y, span, h);
      g.fillStyle = '#1d2330';
      g.textBaseline = 'middle';
      g.fillText(rowLabel(ex, r.row), 6, y + Math.min(h, LANE) / 2 + 1, GUTTER - 10);
      r.items.forEach(function (it) {
        var x1 = Math.max(GUTTER, x(it.start)), x2 = Math.min(GUTTER + span, x(it.end)), by = y + it.lane * LANE + 1, bw = Math.max(1.5, x2 - x1);
        tasks += it.count;
        g.globalAlpha = it.running ? 0.55 : 1;
        g.fillStyle = it.flags & FAILED ? RED : it.flags & CANCELLED ? GREY : colorOf(it.name);
        // A pixel apart from the next, where there is room: two tasks of one name read as two.
        g.fillRect(x1, by, bw > 4 ? bw - 1 : bw, LANE - 2);
        g.globalAlpha = 1;
        if (it.flags & FAILED && bw > 3) { g.strokeStyle = '#7a1010'; g.lineWidth = 1; g.strokeRect(x1 + 0.5, by + 0.5, bw - 1, LANE - 3); }
        if (it.running) { g.fillStyle = colorOf(it.name); g.fillRect(x2 - 2, by, 2, LANE - 2); }
        hits.push([x1, by, bw, LANE - 2, it, r.row]);
      });
      y += h + 6;
    });
    g.fillStyle = '#6b7383';
    g.textBaseline = 'alphabetic';
    // A label per 10 s where they fit, fewer on a narrow page.
    for (var k = 0, every = span < 260 ? 30 : span < 480 ? 20 : 10; k <= 60; k += every) {
      var label = k === 60 ? 'now' : (60 - k) + ' s ago', tx = x(t0 + k * 1000);
      g.textAlign = k === 60 ? 'right' : k === 0 ? 'left' : 'center';
      g.fillText(label, tx, height - 6);
    }
    g.textAlign = 'left';
    state.hits = hits;
    // What the picture holds, for a reader that cannot see it: bars, and tasks (quick ones share a bar).
    v.c.dataset.bars = String(hits.length);
    v.c.dataset.tasks = String(tasks);
    v.c.dataset.failed = String(hits.filter(function (h) { return h[4].flags & FAILED; }).length);
    v.c.dataset.rows = String(rows.length);
  }

  // What a bar is, under the pointer.
  $('stream').addEventListener('mousemove', function (e) {
    var r = e.target.getBoundingClientRect(), mx = e.clientX - r.left, my = e.clientY - r.top, tip = $('tip'), ex = current();
    var hit = state.hits.find(function (h) { return mx >= h[0] - 1 && mx <= h[0] + h[2] + 1 && my >= h[1] && my <= h[1] + h[3]; });
    if (!hit || !ex) { tip.hidden = true; return; }
    var it = hit[4], name = ex.tasks[it.name] ? ex.tasks[it.name][0] : '?', now = serverNow();
    var lines = [(it.count > 1 ? it.count + ' tasks of ' : '') + name, rowLabel(ex, hit[5]),
      it.running ? 'running for ' + ms(now - it.start) : (it.count > 1 ? 'from ' : 'ran ') + ms(it.end - it.start) + (it.count > 1 ? ' in all' : ''),
      'started ' + ms(now - it.start) + ' ago'];
    if (it.flags & FAILED) lines.push(it.count > 1 ? 'failed' : 'FAILED');
    if (it.flags & CANCELLED) lines.push('cancelled while running');
    tip.textContent = lines.join('\n');
    tip.hidden = false;
    tip.style.left = Math.min(e.clientX + 12, window.innerWidth - 370) + 'px';
    tip.style.top = (e.clientY + 14) + 'px';
  });
  $('stream').addEventListener('mouseleave', function () { $('tip').hidden = true; });
  window.addEventListener('resize', render);
  // A silent stream says so: the picture is not live.
  setInterval(function () {
    if (state.lastAt && performance.now() - state.lastAt > 3000 && $('conn').className.indexOf('live') >= 0) setConn('wait', 'no update for ' + Math.round((performance.now() - state.lastAt) / 1000) + ' s');
  }, 1000);
  connect();
})();
`;
