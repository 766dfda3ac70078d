import { get } from './api.js';
import { coalesce, draws, fmtClock, fmtSecs, h, head } from './dom.js';
import { listeners } from './live.js';

// Overview: counts, rates and the chart, from GET /v1/stats every 2 s.
export function overview(main) {
  const el = {
    connected: h('div', { class: 'num', id: 'stat-connected' }, '…'),
    records: h('div', { class: 'num', id: 'stat-records' }, '…'),
    hs: h('div', { class: 'num', id: 'stat-hs' }, '…'),
    p50: h('div', { class: 'num', id: 'stat-p50' }, '…'),
    p99: h('div', { class: 'num', id: 'stat-p99' }, '…'),
  };
  const reasons = h('tbody', { id: 'stat-reasons' });
  const nodes = nodesTable();
  // A canvas is nothing to a screen reader without a role and a name.
  const canvas = h('canvas', { id: 'chart', width: 900, height: 240, role: 'img', 'aria-label': 'Chart of connected clients over the last hour' });
  const legend = h('ul', { class: 'legend', id: 'chart-legend', hidden: true });
  const note = h('p', { class: 'muted', id: 'stat-note' });
  const scope = h('p', { class: 'muted', id: 'stat-scope', hidden: true });
  const card = (label, num) => h('div', { class: 'card' }, h('div', { class: 'label' }, label), num);
  main.replaceChildren(
    h('h1', {}, 'Overview'), scope,
    h('div', { class: 'cards' }, card('Connected now', el.connected), card('Records', el.records),
      card('Handshakes / s', el.hs), card('Keep-alive RTT p50', el.p50), card('Keep-alive RTT p99', el.p99)),
    nodes.section,
    h('section', {}, h('h2', {}, 'Connected clients, last hour'), canvas, legend, note),
    h('section', {}, h('h2', {}, 'Disconnects in the last 5 minutes'),
      h('table', {}, head(['reason', 'count']), reasons)),
  );
  let stats = null;
  const draw = coalesce(() => {
    if (!stats) return;
    draws.overview++;
    nodes.draw(stats);
    scope.hidden = !stats.nodes;
    scope.textContent = stats.nodes ? 'The cards are node ' + stats.node + "'s (the node this page is served by); the chart has a line per node, and every node's figures are in the Nodes table." : '';
    el.connected.textContent = stats.connected.toLocaleString();
    // In a cluster the Records card is this node's line of the Nodes
    // table: the records of the clients it held last (the bucket's,
    // which add up to the cluster's). Its registry's own count, the
    // API's top-level records, also keeps the clients that moved to
    // another node, and the card read 2 beside a line of 1.
    const own = stats.nodes && stats.nodes.find((n) => n.node === stats.node);
    el.records.textContent = (own ? own.records : stats.records).toLocaleString();
    el.hs.textContent = stats.handshakes_per_second.toLocaleString();
    el.p50.textContent = fmtSecs(stats.rtt_p50_seconds);
    el.p99.textContent = fmtSecs(stats.rtt_p99_seconds);
    const rows = Object.entries(stats.disconnects).sort((a, b) => b[1] - a[1]);
    reasons.replaceChildren(...(rows.length ? rows.map(([r, n]) => h('tr', {}, h('td', {}, r), h('td', {}, n.toLocaleString())))
      : [h('tr', {}, h('td', { colspan: 2, class: 'muted' }, 'none'))]));
    note.textContent = (stats.node ? 'node ' + stats.node + ' · ' : '') + 'sampled every ' + stats.interval_seconds + ' s · updated ' + fmtClock(new Date(stats.time));
    const lines = chartLines(stats);
    chart(canvas, lines);
    drawLegend(legend, lines, !!stats.nodes);
  });
  let stopped = false;
  const poll = async () => {
    while (!stopped) {
      // A server that does not answer is said above the page (onReach),
      // and the note keeps the time of the figures on show.
      try { stats = await get('/v1/stats'); draw(); } catch (e) { if (e.status) note.textContent = e.message; }
      await new Promise((r) => setTimeout(r, 2000));
    }
  };
  poll();
  // Between polls the count follows the stream.
  // In a cluster the stream has every node's events: each moves its
  // node's line, and the cards (this node's) only with this node's.
  const l = (ev) => {
    if (!stats || (ev.type !== 'client.connected' && ev.type !== 'client.disconnected')) return;
    const d = ev.type === 'client.connected' ? 1 : -1;
    const line = stats.nodes && stats.nodes.find((n) => n.node === ev.node);
    // A client new to the node has a record too: the records shown are
    // never fewer than the clients connected (the next poll has them).
    if (line) {
      line.connected = Math.max(0, line.connected + d);
      line.records = Math.max(line.records, line.connected);
    }
    if (!stats.node || !ev.node || ev.node === stats.node) {
      stats.connected = Math.max(0, stats.connected + d);
      stats.records = Math.max(stats.records, stats.connected);
    }
    draw();
  };
  listeners.add(l);
  return { unmount() { stopped = true; listeners.delete(l); } };
}

// nodesTable is the overview's per-node section (cluster mode only: the
// API's stats carry "nodes"). A node's row stays the same element across
// redraws; a cluster total closes the table.
function nodesTable() {
  const body = h('tbody', { id: 'nodes-body' });
  const total = h('tr', { id: 'nodes-total', class: 'total' });
  const section = h('section', { id: 'nodes', hidden: true }, h('h2', {}, 'Nodes'),
    h('table', {}, head(['node', 'state', 'connected', 'records', 'handshakes / s', 'RTT p50', 'RTT p99', 'disconnects (5 min)']),
      body, h('tfoot', {}, total)));
  const rows = new Map(); // node -> tr
  const badge = { up: 'on', down: 'off', unreachable: 'warn' };
  const draw = (stats) => {
    section.hidden = !stats.nodes;
    if (!stats.nodes) return;
    const seen = new Set();
    for (const n of stats.nodes) {
      seen.add(n.node);
      let tr = rows.get(n.node);
      if (!tr) { tr = h('tr', { 'data-node': n.node }); rows.set(n.node, tr); }
      const reasons = Object.entries(n.disconnects || {}).sort((a, b) => b[1] - a[1]).map(([r, c]) => r + ' ' + c.toLocaleString()).join(' · ');
      const state = h('span', { class: 'badge ' + (badge[n.state] || 'off'), title: n.error || '' }, n.state);
      tr.replaceChildren(...[h('span', {}, n.node, n.node === stats.node ? h('span', { class: 'muted' }, ' (this node)') : null), state,
        n.connected.toLocaleString(), n.records.toLocaleString(), n.state === 'up' ? n.handshakes_per_second.toLocaleString() : '—',
        fmtSecs(n.rtt_p50_seconds), fmtSecs(n.rtt_p99_seconds), reasons || (n.error ? 'error: ' + n.error : '—')]
        .map((c, i) => h('td', { class: i >= 2 && i <= 4 ? 'n' : null }, c)));
      tr.className = n.state === 'up' ? '' : 'gone';
      body.append(tr); // in the API's (name) order
    }
    for (const [name, tr] of rows) if (!seen.has(name)) { tr.remove(); rows.delete(name); }
    const sum = (f) => stats.nodes.reduce((s, n) => s + (n.state === 'up' || f !== 'handshakes_per_second' ? n[f] : 0), 0);
    const up = stats.nodes.filter((n) => n.state === 'up').length;
    total.replaceChildren(...['cluster', up + ' of ' + stats.nodes.length + ' up', sum('connected').toLocaleString(), sum('records').toLocaleString(),
      (Math.round(sum('handshakes_per_second') * 100) / 100).toLocaleString(), '', '', ''].map((c, i) => h('td', { class: i >= 2 && i <= 4 ? 'n' : null }, c)));
  };
  return { section, draw };
}

// axisStep is the step of the chart's four grid lines over a top value
// of max: a whole 1, 2, 2.5 or 5 times a power of ten, so that the lines
// are evenly spaced and every label is exact (rounded labels of max / 4
// read 0, 1, 3, 4, 5 for a top of 5).
function axisStep(max) {
  const raw = max / 4;
  const p = 10 ** Math.max(0, Math.floor(Math.log10(raw)));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((s) => s >= raw && Number.isInteger(s));
}

// chartLines is what the chart draws: this node's series, and in a
// cluster one line per node besides (a point a minute: the API thins the
// other nodes'), each ending on its count now and in its own colour, this
// node's in the accent. A node that did not answer (down, unreachable)
// has no series, and no line.
function chartLines(stats) {
  const own = { node: stats.node || '', pts: stats.series, current: stats.connected, color: 'accent', own: true };
  if (!stats.nodes) return [own];
  let i = 0;
  return stats.nodes.map((n) => (n.node === stats.node ? own
    : { node: n.node, pts: n.series, current: n.connected, color: 'series-' + ((i++ % 5) + 1), state: n.state }));
}

// drawLegend names each node's line (cluster mode only).
function drawLegend(ul, lines, cluster) {
  ul.hidden = !cluster;
  ul.replaceChildren(...lines.map((l) => {
    const sw = h('span', { class: 'swatch' });
    sw.style.background = 'var(--' + l.color + ')';
    return h('li', { 'data-node': l.node, class: l.pts ? null : 'none' }, l.pts ? sw : null,
      l.node, l.own ? ' (this node)' : '', l.pts ? '' : ' (' + l.state + ': no line)');
  }));
}

// chart draws each line over the last hour, ending at now on its current
// count, the one the cards and the Nodes table show: the samples are up
// to an interval old, and a fleet that came in since drew a line at 0
// under "15,000".
function chart(canvas, lines) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 900;
  const hgt = canvas.clientHeight || 240;
  canvas.width = w * dpr;
  canvas.height = hgt * dpr;
  const g = canvas.getContext('2d');
  g.scale(dpr, dpr);
  g.clearRect(0, 0, w, hgt);
  const pad = { l: 56, r: 12, t: 12, b: 24 };
  const now = Date.now() / 1000;
  const t0 = now - 3600;
  const drawn = lines.filter((l) => l.pts).map((l) => {
    const pts = l.pts.filter((p) => p.t >= t0);
    const last = pts.length ? pts[pts.length - 1].t : t0;
    pts.push({ t: Math.max(now, last), connected: l.current });
    return { ...l, pts };
  });
  // Where the lines end, for the browser tests: this node's, and each
  // node's by name.
  canvas.dataset.last = lines.find((l) => l.own)?.current ?? '';
  canvas.dataset.lines = JSON.stringify(Object.fromEntries(drawn.map((l) => [l.node, l.current])));
  const step = axisStep(Math.max(1, ...drawn.flatMap((l) => l.pts.map((p) => p.connected))));
  const top = step * 4;
  const x = (t) => pad.l + ((t - t0) / 3600) * (w - pad.l - pad.r);
  const y = (v) => hgt - pad.b - (v / top) * (hgt - pad.t - pad.b);
  const css = getComputedStyle(document.body);
  g.strokeStyle = css.getPropertyValue('--grid').trim() || '#ddd';
  g.fillStyle = css.getPropertyValue('--muted').trim() || '#666';
  g.font = '11px system-ui, sans-serif';
  g.lineWidth = 1;
  const ticks = [0, 1, 2, 3, 4].map((i) => i * step);
  canvas.dataset.ticks = ticks.join(','); // what the grid says, for the browser tests
  for (const v of ticks) {
    g.beginPath(); g.moveTo(pad.l, y(v)); g.lineTo(w - pad.r, y(v)); g.stroke();
    g.fillText(v.toLocaleString(), 4, y(v) + 4);
  }
  for (let m = 60; m >= 0; m -= 15) g.fillText(m ? '-' + m + ' min' : 'now', x(now - m * 60) - (m ? 18 : 22), hgt - 6);
  g.lineWidth = 2;
  // This node's line last, on top.
  for (const l of [...drawn.filter((d) => !d.own), ...drawn.filter((d) => d.own)]) {
    g.strokeStyle = css.getPropertyValue('--' + l.color).trim() || '#0f766e';
    g.beginPath();
    l.pts.forEach((p, i) => (i ? g.lineTo(x(p.t), y(p.connected)) : g.moveTo(x(p.t), y(p.connected))));
    g.stroke();
  }
}
