/**
 * The page's charts and number formats (charts.js, loaded before app.js):
 * the canvases sized to the page, throughput as stacked bars per second,
 * latency as lines on a log scale. Plain ES2017, served as it is.
 * @internal
 */

export const CHARTS_SCRIPT = String.raw`'use strict';
window.cfCharts = (function () {
  var RED = '#d93a3a', GREY = '#a3a9b4';
  function $(id) { return document.getElementById(id); }
  var nf = new Intl.NumberFormat('en');
  function num(n) { return nf.format(n); }
  function compact(n) { return n >= 1e6 ? (n / 1e6) + 'M' : n >= 1e3 ? (n / 1e3) + 'k' : String(n); }
  function ms(v) {
    if (v < 0) return '–';
    if (v < 0.001) return '< 1 µs';
    if (v < 0.01) return Math.round(v * 1000) + ' µs';
    if (v < 1) return v.toFixed(2) + ' ms';
    if (v < 10) return v.toFixed(1) + ' ms';
    if (v < 1000) return Math.round(v) + ' ms';
    if (v < 60000) return (v / 1000).toFixed(v < 10000 ? 2 : 1) + ' s';
    return (v / 60000).toFixed(1) + ' min';
  }
  function canvasFor(id, height) {
    var c = $(id), dpr = window.devicePixelRatio || 1, w = c.parentNode.clientWidth;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(height * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(height * dpr);
      c.style.height = height + 'px';
    }
    var g = c.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, height);
    g.font = '11px ' + getComputedStyle(document.body).fontFamily;
    return { g: g, w: w, h: height, c: c };
  }

  function frame(id, height, empty) {
    var v = canvasFor(id, height);
    v.left = 52; v.right = v.w - 8; v.top = 8; v.bottom = height - 20;
    if (empty) { v.g.fillStyle = '#6b7383'; v.g.fillText('No task has ended yet.', v.left, height / 2); }
    v.g.fillStyle = '#6b7383';
    v.g.textAlign = 'left'; v.g.fillText('5 min ago', v.left, height - 5);
    v.g.textAlign = 'right'; v.g.fillText('now', v.right, height - 5);
    v.g.textAlign = 'left';
    return v;
  }
  function nice(n) { var p = Math.pow(10, Math.floor(Math.log10(n))); return [1, 2, 5, 10].map(function (m) { return m * p; }).find(function (m) { return m >= n; }); }
  function gridLine(v, y, text) {
    var g = v.g;
    g.strokeStyle = '#eef0f3'; g.beginPath(); g.moveTo(v.left, Math.round(y) + 0.5); g.lineTo(v.right, Math.round(y) + 0.5); g.stroke();
    g.fillStyle = '#6b7383'; g.textAlign = 'right'; g.textBaseline = 'middle'; g.fillText(text, v.left - 6, y); g.textAlign = 'left'; g.textBaseline = 'alphabetic';
  }
  function throughput(s) {
    var v = frame('throughput', 180, s.length === 0), g = v.g, top = 1;
    if (s.length === 0) return 0;
    var last = s[s.length - 1][0], bw = (v.right - v.left) / 300;
    s.forEach(function (p) { top = Math.max(top, p[1] + p[2] + p[3]); });
    var peak = top;
    top = nice(top);
    [0, 0.5, 1].forEach(function (f) { gridLine(v, v.bottom - f * (v.bottom - v.top), compact(top * f) + '/s'); });
    s.forEach(function (p) {
      var x = v.right - (last - p[0] + 1) * bw, y = v.bottom;
      [[p[1], '#3b7dd8'], [p[2], RED], [p[3], GREY]].forEach(function (part) {
        var h = part[0] / top * (v.bottom - v.top);
        g.fillStyle = part[1];
        g.fillRect(x, y - h, Math.max(1, bw - 0.5), h);
        y -= h;
      });
    });
    return peak;
  }
  function latency(s) {
    var has = s.some(function (p) { return p[4] >= 0; }), v = frame('latency', 180, !has), g = v.g;
    if (!has) return;
    var lo = Infinity, hi = 0;
    s.forEach(function (p) { [p[4], p[6], p[7]].forEach(function (t) { if (t > 0) { lo = Math.min(lo, t); hi = Math.max(hi, t); } }); });
    var a = Math.floor(Math.log10(lo)), b = Math.max(a + 1, Math.ceil(Math.log10(hi)));
    var y = function (t) { return v.bottom - (Math.log10(Math.max(t, Math.pow(10, a))) - a) / (b - a) * (v.bottom - v.top); };
    for (var e = a; e <= b; e++) gridLine(v, y(Math.pow(10, e)), ms(Math.pow(10, e)));
    var last = s[s.length - 1][0], step = (v.right - v.left) / 300;
    [[4, '#3b7dd8', []], [6, '#9b59b6', []], [7, '#e08a1e', [5, 3]]].forEach(function (line) {
      g.strokeStyle = line[1]; g.lineWidth = 2; g.setLineDash(line[2]); g.beginPath();
      var pen = false, dots = [];
      s.forEach(function (p, i) {
        var t = p[line[0]], px = v.right - (last - p[0] + 0.5) * step;
        if (t < 0) { pen = false; return; }
        if (pen) g.lineTo(px, y(t)); else g.moveTo(px, y(t));
        pen = true;
        // A second with tasks between two without (slow or bursty work) has no line to be part of: a dot.
        if (!(i + 1 < s.length && s[i + 1][line[0]] >= 0) && !(i > 0 && s[i - 1][line[0]] >= 0)) dots.push([px, y(t)]);
      });
      g.stroke(); g.setLineDash([]); g.lineWidth = 1;
      g.fillStyle = line[1];
      dots.forEach(function (d) { g.beginPath(); g.arc(d[0], d[1], 2.5, 0, 2 * Math.PI); g.fill(); });
    });
  }

  return { num: num, ms: ms, canvasFor: canvasFor, throughput: throughput, latency: latency };
})();
`;
