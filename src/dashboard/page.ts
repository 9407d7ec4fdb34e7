/**
 * The dashboard's page and style, served as they are: no build step, nothing
 * from elsewhere. Every text the server sends is put in by the script with
 * `textContent` or drawn on a canvas, never parsed as markup.
 * @internal
 */

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>concurrent-futures dashboard</title>
<link rel="stylesheet" href="app.css">
<script src="charts.js" defer></script>
<script src="app.js" defer></script>
</head>
<body>
<header>
  <h1>concurrent-futures <span>dashboard</span></h1>
  <nav id="tabs" aria-label="executors"></nav>
  <span id="conn" class="conn wait" role="status">connecting…</span>
</header>
<main>
  <section id="summary" class="tiles" aria-label="summary"></section>
  <section class="panel">
    <h2>Task stream <small>the last minute: a row per worker, a bar per task, colour by task name</small></h2>
    <div class="canvas-box" id="stream-box"><canvas id="stream" aria-label="task stream"></canvas></div>
    <div id="legend" class="legend"></div>
  </section>
  <div class="grid">
    <section class="panel">
      <h2>Progress by task name</h2>
      <table id="progress">
        <thead><tr><th>task</th><th class="bar-col"></th><th>queued</th><th>running</th><th>done</th><th>failed</th><th>cancelled</th><th title="mean time from start to end">avg run</th></tr></thead>
        <tbody></tbody>
      </table>
      <p class="empty" id="progress-empty">No task submitted yet.</p>
      <div class="legend"><span><i class="sw q"></i>queued</span><span><i class="sw r"></i>running</span><span><i class="sw ok"></i>done</span><span><i class="sw bad"></i>failed</span><span><i class="sw off"></i>cancelled</span></div>
    </section>
    <section class="panel">
      <h2>Workers</h2>
      <table id="workers">
        <thead><tr><th>worker</th><th>state</th><th>running now</th><th>tasks run</th><th>memory</th></tr></thead>
        <tbody></tbody>
      </table>
      <p class="empty" id="workers-empty">No worker started yet (workers start with the first tasks).</p>
      <p class="note" id="workers-note" hidden></p>
    </section>
  </div>
  <div class="grid">
    <section class="panel">
      <h2>Throughput <small>tasks ended per second, the last 5 minutes</small></h2>
      <div class="canvas-box"><canvas id="throughput" aria-label="throughput"></canvas></div>
      <div class="legend"><span><i class="sw ok"></i>done</span><span><i class="sw bad"></i>failed</span><span><i class="sw off"></i>cancelled</span><span id="throughput-now"></span></div>
    </section>
    <section class="panel">
      <h2>Latency <small>per second, the last 5 minutes (log scale)</small></h2>
      <div class="canvas-box"><canvas id="latency" aria-label="latency"></canvas></div>
      <div class="legend"><span><i class="ln run"></i>run time, median</span><span><i class="ln run99"></i>run time, 99th percentile</span><span><i class="ln wait"></i>wait in queue, median</span></div>
    </section>
  </div>
</main>
<div id="tip" class="tip" hidden></div>
</body>
</html>
`;

export const PAGE_CSS = `
:root { --bg: #f5f6f8; --panel: #fff; --ink: #1d2330; --muted: #6b7383; --line: #e3e6eb;
  --ok: #3b7dd8; --bad: #d93a3a; --off: #a3a9b4; --run: #2e9e5b; --font: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 14px/1.4 var(--font); }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 18px; padding: 10px 20px; background: #1d2330; color: #fff; }
h1 { font-size: 16px; margin: 0; font-weight: 600; letter-spacing: .2px; }
nav { display: flex; gap: 6px; flex: 1 1 240px; flex-wrap: wrap; min-width: 0; }
nav button { font: inherit; color: #cfd5e1; background: transparent; border: 1px solid #3a4356; border-radius: 6px; padding: 3px 10px; cursor: pointer; min-width: 6em; max-width: 320px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
nav button[aria-selected="true"] { background: #3a4356; color: #fff; }
.conn { font-size: 13px; white-space: nowrap; }
.conn::before { content: ""; display: inline-block; width: 9px; height: 9px; border-radius: 50%; margin-right: 6px; background: #e3a21a; }
.conn.live::before { background: #3ccf6e; }
.conn.down::before { background: #e0473d; }
main { padding: 16px min(20px, 3vw) 28px; max-width: 1500px; margin: 0 auto; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(112px, 1fr)); gap: 10px; margin-bottom: 14px; }
.tile { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 8px 12px; min-width: 0; }
.tile .k { color: var(--muted); font-size: 12px; }
.tile .v { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.tile .s { color: var(--muted); font-size: 12px; overflow-wrap: anywhere; display: -webkit-box; -webkit-line-clamp: 3; -webkit-box-orient: vertical; overflow: hidden; }
.tile.bad .v { color: var(--bad); }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; margin-bottom: 14px; min-width: 0; overflow-x: auto; }
h2 { font-size: 14px; margin: 0 0 8px; font-weight: 600; }
h2 small { font-weight: 400; color: var(--muted); margin-left: 6px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(440px, 100%), 1fr)); gap: 0 14px; }
.canvas-box { position: relative; width: 100%; }
canvas { display: block; width: 100%; }
#throughput, #latency { height: 180px; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; margin-top: 8px; font-size: 12px; color: var(--muted); }
.legend span { display: inline-flex; align-items: center; max-width: 320px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.sw { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 5px; flex: none; }
.sw.ok { background: var(--ok); } .sw.bad { background: var(--bad); } .sw.off { background: var(--off); }
.sw.failed { background: var(--bad); box-shadow: inset 0 0 0 1px #7a1010; }
.sw.running { background: rgba(59, 125, 216, .55); box-shadow: inset -2px 0 0 var(--ok); }
.sw.q { background: #d9dde4; } .sw.r { background: var(--run); }
.ln { display: inline-block; width: 18px; height: 0; border-top: 2px solid; margin-right: 5px; }
.ln.run { border-color: #3b7dd8; } .ln.run99 { border-color: #9b59b6; } .ln.wait { border-color: #e08a1e; border-top-style: dashed; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th { text-align: right; font-weight: 500; color: var(--muted); font-size: 12px; padding: 4px 6px; border-bottom: 1px solid var(--line); }
td { text-align: right; padding: 4px 6px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
td.name { max-width: 260px; overflow: hidden; text-overflow: ellipsis; }
td.name i { vertical-align: -1px; }
th.bar-col { width: 34%; }
td.bar { text-align: left; min-width: 80px; }
.pbar { display: flex; height: 12px; border-radius: 3px; overflow: hidden; background: #eef0f3; }
.pbar span { display: block; height: 100%; }
.pbar .q { background: #d9dde4; } .pbar .r { background: var(--run); } .pbar .f { background: var(--bad); } .pbar .c { background: var(--off); }
td.zero { color: #b8bdc7; }
td.failed:not(.zero) { color: var(--bad); font-weight: 600; }
.pill { display: inline-block; min-width: 40px; text-align: center; padding: 0 8px; border-radius: 10px; font-size: 12px; }
.pill.busy { background: #dff3e6; color: #1f7a43; } .pill.idle { background: #eef0f3; color: var(--muted); }
td.left { text-align: left; max-width: 220px; overflow: hidden; text-overflow: ellipsis; }
.empty { color: var(--muted); margin: 8px 0 2px; }
.empty[hidden], .note[hidden] { display: none; }
.note { color: var(--muted); font-size: 12px; margin: 8px 0 0; }
h1 span { font-weight: 400; color: #aab3c5; }
.tip { position: fixed; pointer-events: none; background: #1d2330; color: #fff; font-size: 12px; padding: 6px 8px; border-radius: 5px; max-width: 360px; white-space: pre-line; z-index: 5; }
.tip[hidden] { display: none; }
`;
