// cliser's dashboard. Plain modern JavaScript, no library and no build
// step: the page is a handful of tables, forms and one line chart, which
// the DOM and a <canvas> do in less code than a vendored framework would
// need to be wired in, and the binary stays free of third-party script.
// Every API value is put in the page as text (textContent), never as HTML.

import { call, get, namable, reachable, read, serverConfig, stream, unnamable } from './api.js';
import { $, act, coalesce, confirmAction, draws, enc, field, flash, fmtClock, fmtSecs, fmtTime, h } from './dom.js';
import { listeners, liveState, onEvent, recovered, setLive } from './live.js';
import { pageQuery, pager } from './pager.js';

// ---- views ----------------------------------------------------------------

let current = null; // the mounted view: {unmount()}

function kickClient(cid) {
  return confirmAction('Kick ' + cid + '?', 'The client gets "190 kicked" and its connection closes; it may reconnect.', [], 'Kick')
    .then((v) => v && act(() => call('POST', '/v1/clients/' + enc(cid) + '/kick'), 'kicked ' + cid));
}

function shutdownClient(cid) {
  return confirmAction('Shut down ' + cid + '?', 'The client is told "130 shutdown" with this reason; a well-behaved client acknowledges and stops.',
    [{ name: 'reason', label: 'Reason', placeholder: 'maintenance' }], 'Shut down')
    .then((v) => v && act(() => call('POST', '/v1/clients/' + enc(cid) + '/shutdown', v.reason ? { reason: v.reason } : undefined), 'shutdown sent to ' + cid));
}

// Overview: counts, rates and the chart, from GET /v1/stats every 2 s.
function overview(main) {
  const el = {
    connected: h('div', { class: 'num', id: 'stat-connected' }, '…'),
    records: h('div', { class: 'num', id: 'stat-records' }, '…'),
    hs: h('div', { class: 'num', id: 'stat-hs' }, '…'),
    p50: h('div', { class: 'num', id: 'stat-p50' }, '…'),
    p99: h('div', { class: 'num', id: 'stat-p99' }, '…'),
  };
  const reasons = h('tbody', { id: 'stat-reasons' });
  const nodes = nodesTable();
  const canvas = h('canvas', { id: 'chart', width: 900, height: 240 });
  const note = h('p', { class: 'muted', id: 'stat-note' });
  const scope = h('p', { class: 'muted', id: 'stat-scope', hidden: true });
  const card = (label, num) => h('div', { class: 'card' }, h('div', { class: 'label' }, label), num);
  main.replaceChildren(
    h('h1', {}, 'Overview'), scope,
    h('div', { class: 'cards' }, card('Connected now', el.connected), card('Records', el.records),
      card('Handshakes / s', el.hs), card('Keep-alive RTT p50', el.p50), card('Keep-alive RTT p99', el.p99)),
    nodes.section,
    h('section', {}, h('h2', {}, 'Connected clients, last hour'), canvas, note),
    h('section', {}, h('h2', {}, 'Disconnects in the last 5 minutes'),
      h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'reason'), h('th', {}, 'count'))), reasons)),
  );
  let stats = null;
  const draw = coalesce(() => {
    if (!stats) return;
    draws.overview++;
    nodes.draw(stats);
    scope.hidden = !stats.nodes;
    scope.textContent = stats.nodes ? 'The cards and the chart are node ' + stats.node + "'s (the node this page is served by); every node's figures are in the Nodes table." : '';
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
    reasons.replaceChildren(...(rows.length ? rows.map(([r, n]) => h('tr', {}, h('td', {}, r), h('td', {}, n)))
      : [h('tr', {}, h('td', { colspan: 2, class: 'muted' }, 'none'))]));
    note.textContent = (stats.node ? 'node ' + stats.node + ' · ' : '') + 'sampled every ' + stats.interval_seconds + ' s · updated ' + fmtClock(new Date(stats.time));
    chart(canvas, stats.series, stats.connected);
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
    h('table', {}, h('thead', {}, h('tr', {}, ['node', 'state', 'connected', 'records', 'handshakes / s', 'RTT p50', 'RTT p99', 'disconnects (5 min)']
      .map((c) => h('th', {}, c)))), body, h('tfoot', {}, total)));
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
      const reasons = Object.entries(n.disconnects || {}).sort((a, b) => b[1] - a[1]).map(([r, c]) => r + ' ' + c).join(' · ');
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

// chart draws the series as a line over the last hour, ending at now on
// current, the count the card shows: the samples are up to an interval
// old, and a fleet that came in since drew a line at 0 under "15,000".
function chart(canvas, series, current) {
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
  const pts = series.filter((p) => p.t >= t0);
  const last = pts.length ? pts[pts.length - 1].t : t0;
  pts.push({ t: Math.max(now, last), connected: current });
  canvas.dataset.last = current; // where the line ends, for the browser tests
  const step = axisStep(Math.max(1, ...pts.map((p) => p.connected)));
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
  g.strokeStyle = css.getPropertyValue('--accent').trim() || '#0f766e';
  g.lineWidth = 2;
  g.beginPath();
  pts.forEach((p, i) => (i ? g.lineTo(x(p.t), y(p.connected)) : g.moveTo(x(p.t), y(p.connected))));
  g.stroke();
}

function clients(main, params) {
  const status = h('select', { id: 'filter-status' },
    ['all', 'connected', 'disconnected'].map((s) => h('option', { value: s, selected: params.get('status') === s }, s)));
  const prefix = h('input', { id: 'filter-prefix', type: 'search', placeholder: 'pos-00', value: params.get('prefix') || '', autocomplete: 'off' });
  const body = h('tbody', { id: 'clients-body' });
  // The page on show: its rows by cid, and its range in client-ID order,
  // which decides whether a client the stream brings belongs on it: after
  // the previous page's last cid (what the API's cursor stands for), and,
  // when there is a next page, not after this page's last.
  let page = { rows: new Map(), after: null, last: null, next: '' }; // rows: cid -> {rec, tr}
  const lasts = []; // the last cid of each page visited
  // A row names the node only where the API's records do (a cluster): a
  // single node's events carry its name, its records do not.
  let cluster = false;
  serverConfig().then((c) => { cluster = !!c.cluster; });
  const nodeOf = (ev, r) => (cluster ? ev.node || r.node : r.node);

  const renderRow = (rec, tr) => {
    const cells = [
      h('a', { href: '#/client/' + enc(rec.cid) }, rec.cid),
      rec.cstatus && rec.sid ? rec.sid : '—', // sid 0: unknown (a stale answer); sids start at 1
      h('span', { class: 'badge ' + (rec.cstatus ? 'on' : 'off') }, rec.cstatus ? 'connected' : 'disconnected'),
      rec.cip ? rec.cip + ':' + rec.cport : '—',
      rec.node || '—',
      fmtTime(rec.connected_at),
      rec.cstatus ? 'now' : fmtTime(rec.disconnected_at || rec.last_seen),
      rec.reason || '—',
      rec.cstatus && namable(rec.cid) ? h('button', { class: 'small', type: 'button', onclick: () => kickClient(rec.cid) }, 'Kick') : '',
    ];
    tr.replaceChildren(...cells.map((c) => h('td', {}, c)));
    tr.dataset.cid = rec.cid;
    tr.className = rec.cstatus ? '' : 'gone';
    return tr;
  };

  // A stale answer (a cluster node cut off from NATS) says so above the
  // table, and the page is read again every 2 s until a fresh one comes.
  const staleNote = h('p', { id: 'clients-stale', class: 'error', hidden: true },
    'Stale: this node can not reach NATS. Other nodes\' clients are shown as this node last saw them (address and times unknown); reading again every 2 s.');
  let stale = false;
  const list = pager((cursor) => {
    const q = pageQuery(cursor);
    if (status.value !== 'all') q.set('status', status.value);
    if (prefix.value.trim()) q.set('prefix', prefix.value.trim());
    return read('/v1/clients?' + q).then((r) => { r.data.stale = r.stale; return r.data; });
  }, (res, at) => {
    stale = res.stale;
    staleNote.hidden = !stale;
    if (!performance.getEntriesByName('clients-first-list').length) performance.mark('clients-first-list');
    const n = res.clients.length;
    lasts[at] = n ? res.clients[n - 1].cid : null;
    page = { rows: new Map(), after: at > 0 ? lasts[at - 1] : null, last: lasts[at], next: res.next };
    const trs = res.clients.map((rec) => {
      const tr = renderRow(rec, h('tr'));
      page.rows.set(rec.cid, { rec, tr });
      return tr;
    });
    body.replaceChildren(...trs);
    // For the 20,000-client timing test and anyone profiling: when the
    // first rows went into the page, from navigation start.
    if (trs.length && !performance.getEntriesByName('clients-first-rows').length) performance.mark('clients-first-rows');
    count();
    return n;
  }, 'no client matches');

  // How many the filter has in all, from GET /v1/stats (a prefix's count
  // is not kept: none then). In a cluster, the nodes' lines add up to
  // the cluster's; the top-level figures are this node's.
  let counting = 0;
  const count = coalesce(async () => {
    if (!list.info.isConnected) return; // the view is gone
    const my = ++counting;
    const want = status.value;
    if (prefix.value.trim()) { list.total(''); return; }
    let st;
    try { st = await get('/v1/stats'); } catch { if (my === counting) list.total(''); return; }
    if (my !== counting) return;
    const sum = (f) => (st.nodes ? st.nodes.reduce((a, n) => a + n[f], 0) : st[f]);
    const connected = sum('connected');
    const records = Math.max(sum('records'), connected);
    const n = { all: records, connected, disconnected: records - connected }[want];
    const what = want !== 'all' ? want : n === 1 ? 'record' : 'records';
    list.total(n.toLocaleString() + ' ' + what + ' in all');
  }, 2000);

  main.replaceChildren(
    h('h1', {}, 'Clients'),
    h('div', { class: 'toolbar' }, field('Status', status), field('Client-ID prefix', prefix), list.info),
    staleNote,
    h('table', { class: 'clients' },
      h('thead', {}, h('tr', {}, ['cid', 'sid', 'status', 'cip:cport', 'node', 'connected since', 'last seen', 'last reason', ''].map((c) => h('th', {}, c)))),
      body),
    h('div', { class: 'pager' }, list.buttons),
  );

  // Events change rows in place; a newly seen cid that belongs on this
  // page (in the filter and in the page's range) is inserted in order.
  const dirty = new Set();
  const flush = coalesce(() => {
    draws.clients++;
    for (const cid of dirty) {
      const row = page.rows.get(cid);
      if (!row) continue;
      const keep = status.value === 'all' || (status.value === 'connected') === row.rec.cstatus;
      if (!row.tr.isConnected) {
        const after = [...page.rows.keys()].filter((c) => c > cid && page.rows.get(c).tr.isConnected).sort()[0];
        body.insertBefore(row.tr, after ? page.rows.get(after).tr : null);
      }
      renderRow(row.rec, row.tr);
      row.tr.classList.toggle('filtered', !keep);
    }
    dirty.clear();
    list.shown(body.querySelectorAll('tr:not(.filtered)').length);
  });
  const l = (ev) => {
    if (ev.type !== 'client.connected' && ev.type !== 'client.disconnected') return;
    count(); // the totals, whichever page the client is on
    let row = page.rows.get(ev.cid);
    if (!row) {
      const p = prefix.value.trim();
      if (p && !ev.cid.startsWith(p)) return;
      if (page.after !== null && ev.cid <= page.after) return; // an earlier page's
      if (page.next && ev.cid > page.last) return; // a later page's
      row = { rec: { cid: ev.cid }, tr: h('tr') };
      page.rows.set(ev.cid, row);
    }
    const r = row.rec;
    // The record as the API would now give it: while connected no reason
    // and no disconnected_at; a disconnect carries its session's sid,
    // address, node and connected_at (EVENTS.md), which a row first seen
    // from it shows too.
    if (ev.type === 'client.connected') {
      Object.assign(r, { cstatus: true, sid: ev.sid, cip: ev.cip, cport: ev.cport, node: nodeOf(ev, r),
        connected_at: ev.time, last_seen: ev.time, disconnected_at: null, reason: '' });
    } else {
      if (r.session_id && ev.session && r.session_id !== ev.session) return; // an older session's end
      Object.assign(r, { cstatus: false, sid: ev.sid ?? r.sid, cip: ev.cip || r.cip, cport: ev.cport || r.cport, node: nodeOf(ev, r),
        connected_at: ev.connected_at || r.connected_at, reason: ev.reason, disconnected_at: ev.time, last_seen: ev.time });
    }
    r.session_id = ev.session || r.session_id;
    dirty.add(ev.cid);
    flush();
  };
  listeners.add(l);

  // The filters go in the URL (#/clients?status=…&prefix=…), so that a
  // reload or a shared link keeps them; replaceState changes it without a
  // hashchange, so the view stays as it is.
  const requery = () => {
    const q = new URLSearchParams();
    if (status.value !== 'all') q.set('status', status.value);
    if (prefix.value.trim()) q.set('prefix', prefix.value.trim());
    const hash = '#/clients' + (String(q) ? '?' + q : '');
    if (location.hash !== hash) history.replaceState(history.state, '', hash);
    list.first();
  };
  let typing = 0;
  status.addEventListener('change', requery);
  prefix.addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(requery, 150); });
  list.load();
  // Without an event log the page polls instead, and so it does while
  // its answers are stale.
  // So it does while the server does not answer, and reads again once it
  // does (onReach): its clients dropped meanwhile.
  const poller = setInterval(() => { if (liveState === 'off' || stale || !reachable()) list.load(); }, 2000);
  const back = () => list.load();
  recovered.add(back);
  return { unmount() { listeners.delete(l); recovered.delete(back); clearInterval(poller); clearTimeout(typing); } };
}

// credentialOf is cid's credential, or null: a client ID is the first of
// the credentials its own prefix lists. GET /v1/credentials/{cid} says
// "none" with a 404, which the browser logs as an error on every refresh
// of a client without its own credential.
async function credentialOf(cid) {
  const q = new URLSearchParams({ prefix: cid, limit: '1' });
  const c = (await get('/v1/credentials?' + q)).credentials[0];
  return c && c.cid === cid ? c : null;
}

// recordOf is cid's record, or null, and whether the answer is stale: a
// client ID is the first of the records its own prefix lists. GET
// /v1/clients/{cid} says "none" with a 404, which the browser logs as
// an error: a client's page opened from the credentials of a device that
// has not connected yet made two.
async function recordOf(cid) {
  const { data, stale } = await read('/v1/clients?' + new URLSearchParams({ prefix: cid, limit: '1' }));
  const r = data.clients[0];
  return { record: r && r.cid === cid ? r : null, stale };
}

// A client: its record, its sessions, and the actions (those that do
// nothing in its state are disabled: kick and shut down while it is
// disconnected, delete credential while it has none).
function client(main, cid) {
  const rec = h('dl', { class: 'record', id: 'client-record' });
  const hist = h('tbody', { id: 'client-history' });
  const cred = h('p', { id: 'client-credential', class: 'muted' });
  const staleNote = h('p', { id: 'client-stale', class: 'error', hidden: true },
    'Stale: this node can not reach NATS. This is what it last saw of the client; reading again every 2 s.');
  // What the stream said of the client last. In a cluster the event of a
  // change reaches this page a moment before the record of it reaches the
  // node it reads (the holder writes the record a flush later), so a read
  // that contradicts it is read again, every 250 ms for up to 5 s, rather
  // than left on show (a kicked client shown connected, with Kick on).
  let latest = null; // {cstatus, session}
  let behind = 0;
  let mounted = true;
  let retry = 0;
  let wasStale = false;
  // "." and ".." can not be named in a URL's path (api.js): the page
  // shows the client and leaves its commands to the API and the CLI.
  const named = namable(cid);
  const refresh = async () => {
    clearTimeout(retry);
    const lags = (cstatus) => {
      if (!latest || cstatus === latest.cstatus || behind >= 20) { behind = 0; return; }
      behind++;
      retry = setTimeout(() => { if (mounted) refresh(); }, 250);
    };
    let stale = false;
    let r = null;
    try {
      ({ record: r, stale } = await recordOf(cid));
      if (!r) {
        lags(false); // not yet known here
        rec.replaceChildren(h('dd', { class: 'muted' }, 'No record: ' + cid + ' has not registered, or its record is past --retention.'));
        for (const b of [kick, shutdown]) { b.disabled = true; b.title = 'no record'; }
      }
      // Stale (this node can not reach NATS): say so, and read again
      // every 2 s until the answer is fresh; the sessions and the
      // credential, which need NATS too, once it is.
      staleNote.hidden = !stale;
      if (stale && !behind) retry = setTimeout(() => { if (mounted) refresh(); }, 2000);
    } catch (e) { rec.replaceChildren(h('dd', { class: 'error' }, e.message)); }
    if (r) {
      lags(r.cstatus);
      const f = [['cid', r.cid], ['status', r.cstatus ? 'connected' : 'disconnected'], ['sid', r.sid || '—'], ['address', r.cip ? r.cip + ':' + r.cport : '—'],
        ['node', r.node || '—'], ['connected at', fmtTime(r.connected_at)], ['last seen', fmtTime(r.last_seen)],
        ['disconnected at', fmtTime(r.disconnected_at)], ['last reason', r.reason || '—']];
      rec.replaceChildren(...f.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
      for (const b of [kick, shutdown]) {
        b.disabled = !r.cstatus || !named;
        b.title = !named ? unnamable : r.cstatus ? '' : 'not connected';
      }
    }
    const skip = stale && wasStale;
    wasStale = stale;
    if (skip) return;
    try {
      // Without a record the history answers 404 unless the log has a
      // session of it: ask the log first, rather than have the browser
      // log a failed request for a client that never connected.
      // A server without an event log has no history to ask for.
      const log = (await serverConfig()).events;
      if (!named) throw new Error(unnamable);
      const none = !log || (!r && !(await get('/v1/events?' + new URLSearchParams({ cid, type: 'client.connected,client.disconnected', limit: '1' }))).events.length);
      const hs = none ? { sessions: [] } : await get('/v1/clients/' + enc(cid) + '/history');
      hist.replaceChildren(...(hs.sessions.length ? hs.sessions.map((s) => h('tr', {},
        [fmtTime(s.connected_at), s.disconnected_at ? fmtTime(s.disconnected_at) : 'connected', s.reason || '—', s.sid, s.cip ? s.cip + ':' + s.cport : '—', s.node || '—']
          .map((c) => h('td', {}, c)))) : [h('tr', {}, h('td', { colspan: 6, class: 'muted' }, log ? 'no sessions in the event log' : 'this server keeps no event log'))]));
    } catch (e) {
      hist.replaceChildren(h('tr', {}, h('td', { colspan: 6, class: 'muted' }, e.message)));
      // The event log can lag the records when NATS comes back: again in 2 s.
      if (e.status === 503 && !stale) { clearTimeout(retry); retry = setTimeout(() => { if (mounted) refresh(); }, 2000); }
    }
    try {
      const c = await credentialOf(cid);
      cred.textContent = !c ? 'No credential of its own.'
        : 'Own credential since ' + fmtTime(c.created_at) + (c.previous_valid_until ? '; the previous one is valid until ' + fmtTime(c.previous_valid_until) : '');
      delcred.disabled = !c || !named;
      delcred.title = !named ? unnamable : c ? '' : 'no credential of its own';
    } catch (e) { cred.textContent = e.message; }
  };
  const del = () => confirmAction('Delete the credential of ' + cid + '?', 'Its live session closes with "190 revoked".', [], 'Delete')
    .then((v) => v && act(() => call('DELETE', '/v1/credentials/' + enc(cid)), 'credential deleted').then(refresh));
  const ban = () => confirmAction('Ban ' + cid + '?', 'Its live sessions close with "190 banned" and it cannot register while banned.',
    [{ name: 'reason', label: 'Reason', placeholder: 'why' }, { name: 'duration', label: 'Duration (empty: until lifted)', placeholder: '1h' }], 'Ban')
    .then((v) => v && act(() => call('POST', '/v1/bans', banBody('cid', cid, v)), 'banned ' + cid).then(refresh));
  // Disabled until the record and the credential say otherwise.
  const kick = h('button', { id: 'act-kick', type: 'button', disabled: true, onclick: () => kickClient(cid).then(refresh) }, 'Kick');
  const shutdown = h('button', { id: 'act-shutdown', type: 'button', disabled: true, onclick: () => shutdownClient(cid).then(refresh) }, 'Shut down…');
  const delcred = h('button', { id: 'act-delcred', type: 'button', disabled: true, onclick: del }, 'Delete credential');
  main.replaceChildren(
    h('p', {}, h('a', { href: '#/clients' }, '← Clients')),
    h('h1', {}, cid),
    h('div', { class: 'toolbar' }, kick, shutdown, delcred,
      h('button', { id: 'act-ban', type: 'button', class: 'danger', onclick: ban }, 'Ban…')),
    staleNote, rec, cred,
    h('h2', {}, 'Sessions'),
    h('table', {}, h('thead', {}, h('tr', {}, ['connected', 'disconnected', 'reason', 'sid', 'address', 'node'].map((c) => h('th', {}, c)))), hist),
  );
  refresh();
  const again = coalesce(refresh, 1000);
  const l = (ev) => {
    if (ev.cid !== cid) return;
    // A disconnect of another session than the latest connect's is an
    // older session's end (a takeover's "replaced"): it is still connected.
    if (ev.type === 'client.connected') latest = { cstatus: true, session: ev.session };
    else if (ev.type === 'client.disconnected' && !(latest && latest.session && ev.session && latest.session !== ev.session)) {
      latest = { cstatus: false, session: ev.session };
    }
    behind = 0;
    again();
  };
  listeners.add(l);
  recovered.add(refresh);
  return { unmount() { mounted = false; clearTimeout(retry); listeners.delete(l); recovered.delete(refresh); } };
}

function banBody(kind, value, v) {
  const b = { kind, value, reason: v.reason || '' };
  if (v.duration) b.duration = v.duration;
  return b;
}

// Events: the live feed, newest first, filtered here, pausable.
const feed = []; // the last MAX_FEED events seen since the page loaded
const MAX_FEED = 500;
listeners.add((ev) => { feed.push(ev); if (feed.length > MAX_FEED) feed.splice(0, feed.length - MAX_FEED); });

function eventsView(main) {
  const type = h('select', { id: 'events-type' }, ['', 'client.connected', 'client.disconnected', 'client.shutdown_sent', 'client.shutdown_acked',
    'credential.created', 'credential.deleted', 'ban.created', 'ban.deleted'].map((t) => h('option', { value: t }, t || 'all types')));
  const cid = h('input', { id: 'events-cid', type: 'search', placeholder: 'pos-0042', autocomplete: 'off' });
  const pause = h('button', { id: 'events-pause', type: 'button' }, 'Pause');
  const body = h('tbody', { id: 'events-body' });
  const info = h('span', { class: 'muted', id: 'events-info' });
  // Paused, the view draws from what it showed last (shown), filtered
  // as the filters say, and nothing that arrived since, until Resume.
  let paused = false;
  let held = 0;
  let shown = [];
  let fillError = '';
  main.replaceChildren(h('h1', {}, 'Events'), h('div', { class: 'toolbar' }, field('Type', type), field('Client ID', cid), pause, info),
    h('table', {}, h('thead', {}, h('tr', {}, ['seq', 'time', 'type', 'cid', 'node', 'detail'].map((c) => h('th', {}, c)))), body));
  const draw = coalesce(() => {
    draws.events++;
    const t = type.value;
    const c = cid.value.trim();
    const rows = [];
    if (!paused) shown = feed.slice();
    for (let i = shown.length - 1; i >= 0 && rows.length < 200; i--) {
      const e = shown[i];
      if ((t && e.type !== t) || (c && e.cid !== c)) continue;
      const detail = [e.reason && 'reason: ' + e.reason, e.cip && e.cip + ':' + e.cport, e.kind && e.kind + ' ' + e.value, e.by && 'by ' + e.by].filter(Boolean).join(' · ');
      rows.push(h('tr', {}, [e.seq, fmtTime(e.time), e.type, e.cid || '—', e.node || '—', detail].map((v, j) => h('td', { class: j === 5 ? 'text' : null }, v))));
    }
    body.replaceChildren(...rows);
    info.textContent = paused ? 'paused · ' + held + ' new' : liveState === 'off' ? 'this server keeps no event log'
      : fillError || feed.length + ' events: the log\'s newest, then live';
  });
  const l = () => { if (paused) { held++; info.textContent = 'paused · ' + held + ' new'; } else draw(); };
  listeners.add(l);
  pause.addEventListener('click', () => { paused = !paused; held = 0; pause.textContent = paused ? 'Resume' : 'Pause'; draw(); });
  type.addEventListener('change', draw);
  cid.addEventListener('input', draw);
  // Fill from the log on every arrival, so the view shows the log's newest
  // events and not only what the stream brought since the page opened
  // (reached from another view, it showed those alone). Events the stream
  // brought stay; the log's older ones go before them.
  // A log that can not be read now (a cluster node cut off from NATS
  // answers 503) is said, and read again every 2 s until it answers.
  let mounted = true;
  let fillTimer = 0;
  const fill = () => serverConfig().then((c) => c.events && get('/v1/events?limit=200'))
    .then((r) => {
      fillError = '';
      if (r) {
        const older = r.events.filter((e) => !feed.length || e.seq < feed[0].seq);
        feed.unshift(...older);
        if (feed.length > MAX_FEED) feed.splice(0, feed.length - MAX_FEED);
      }
      draw();
    }, (e) => {
      fillError = 'the event log can not be read now: ' + e.message;
      draw();
      if (mounted) fillTimer = setTimeout(fill, 2000);
    });
  fill();
  draw();
  return { unmount() { mounted = false; clearTimeout(fillTimer); listeners.delete(l); } };
}

// Bans: list, add, lift.
function bans(main) {
  const body = h('tbody', { id: 'bans-body' });
  const kind = h('select', { name: 'kind', id: 'ban-kind' }, ['cid', 'ip', 'net'].map((k) => h('option', { value: k }, k)));
  const value = h('input', { id: 'ban-value', placeholder: 'pos-0042 · 203.0.113.9 · 10.1.0.0/16', required: true, autocomplete: 'off' });
  const reason = h('input', { id: 'ban-reason', placeholder: 'optional' });
  const duration = h('input', { id: 'ban-duration', placeholder: '1h · empty: until lifted' });
  const list = pager((cursor) => get('/v1/bans?' + pageQuery(cursor)), (r) => {
    body.replaceChildren(...(r.bans.length ? r.bans.map((b) => h('tr', { 'data-ban': b.kind + '/' + b.value }, h('td', {}, b.kind), h('td', {}, b.value), h('td', { class: 'text' }, b.reason || '—'), h('td', {}, b.by),
      h('td', {}, fmtTime(b.at)), h('td', {}, b.until ? fmtTime(b.until) : 'until lifted'),
      h('td', {}, h('button', { class: 'small', type: 'button', onclick: () => lift(b) }, 'Lift'))))
      : [h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'no bans'))]));
    return r.bans.length;
  }, 'no bans');
  const load = list.load;
  const lift = (b) => confirmAction('Lift the ban on ' + b.kind + ' ' + b.value + '?', 'It can connect again at once.', [], 'Lift')
    .then((v) => v && act(() => call('DELETE', '/v1/bans/' + enc(b.kind) + '/' + enc(b.value)), 'ban lifted').then(load));
  const form = h('form', { class: 'toolbar', id: 'ban-form', onsubmit: (e) => {
    e.preventDefault();
    confirmAction('Ban ' + kind.value + ' ' + value.value + '?', 'Matching live sessions close with "190 banned".', [], 'Ban')
      .then((v) => v && act(() => call('POST', '/v1/bans', banBody(kind.value, value.value.trim(), { reason: reason.value, duration: duration.value.trim() })), 'banned')
        .then((ok) => { if (ok) form.reset(); load(); }));
  } }, field('Kind', kind), field('Client ID, IP or network', value), field('Reason', reason), field('Duration', duration),
  h('button', { type: 'submit' }, 'Add ban'));
  main.replaceChildren(h('h1', {}, 'Bans'), form,
    h('table', {}, h('thead', {}, h('tr', {}, ['kind', 'value', 'reason', 'by', 'since', 'until', ''].map((c) => h('th', {}, c)))), body),
    h('div', { class: 'pager' }, list.info, list.buttons));
  load();
  const again = coalesce(load, 1000);
  const l = (ev) => { if (ev.type.startsWith('ban.')) again(); };
  listeners.add(l);
  recovered.add(load);
  return { unmount() { listeners.delete(l); recovered.delete(load); } };
}

// copyText puts text on the clipboard and says whether it did. The
// Clipboard API exists only in a secure context (HTTPS or the loopback):
// over plain HTTP to another address navigator.clipboard is undefined.
// Then, or when the browser refuses, el's text is selected and the
// selection copied the old way; should that fail too, the text stays
// selected for the operator to copy. It never throws.
async function copyText(el, text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (_) { /* no Clipboard API here, or refused: select it */ }
  const range = document.createRange();
  range.selectNodeContents(el);
  const sel = getSelection();
  sel.removeAllRanges();
  sel.addRange(range);
  try { return document.execCommand('copy'); } catch (_) { return false; }
}

// Credentials: list, create (the secret shown once), delete.
function credentials(main) {
  const body = h('tbody', { id: 'creds-body' });
  const cid = h('input', { id: 'cred-cid', placeholder: 'pos-0042', required: true, autocomplete: 'off' });
  const grace = h('input', { id: 'cred-grace', placeholder: '24h · empty: none' });
  const secretBox = h('div', { id: 'secret-box' });
  const list = pager((cursor) => get('/v1/credentials?' + pageQuery(cursor)), (r) => {
    body.replaceChildren(...(r.credentials.length ? r.credentials.map((c) => h('tr', { 'data-cid': c.cid }, h('td', {}, h('a', { href: '#/client/' + enc(c.cid) }, c.cid)),
      h('td', {}, fmtTime(c.created_at)), h('td', {}, c.previous_valid_until ? fmtTime(c.previous_valid_until) : '—'),
      h('td', {}, h('button', { class: 'small', type: 'button', onclick: () => remove(c.cid) }, 'Delete'))))
      : [h('tr', {}, h('td', { colspan: 4, class: 'muted' }, 'no credentials'))]));
    return r.credentials.length;
  }, 'no credentials');
  const load = list.load;
  const remove = (c) => confirmAction('Delete the credential of ' + c + '?', 'Its live session closes with "190 revoked".', [], 'Delete')
    .then((v) => v && act(() => call('DELETE', '/v1/credentials/' + enc(c)), 'credential deleted').then(load));
  const showSecret = (r) => {
    const code = h('code', { id: 'secret-value' }, r.secret);
    const copy = h('button', { type: 'button', id: 'secret-copy', onclick: async () => {
      if (await copyText(code, r.secret)) copy.textContent = 'Copied';
      else flash('Selected: press Ctrl+C (⌘C on a Mac) to copy it');
    } }, 'Copy');
    secretBox.replaceChildren(h('div', { class: 'secret' }, h('p', {}, 'Secret of ' + r.cid + ' — shown this once; give it to the device now.'),
      code, copy, h('button', { type: 'button', onclick: () => secretBox.replaceChildren() }, 'Done')));
  };
  // Creating needs no confirmation; rotating (the client has one) does:
  // without a grace period its current secret stops working at once.
  const form = h('form', { class: 'toolbar', id: 'cred-form', onsubmit: async (e) => {
    e.preventDefault();
    const id = cid.value.trim();
    const g = grace.value.trim();
    let had;
    try { had = await credentialOf(id); } catch (err) { flash(err.message, true); return; }
    if (had && !(await confirmAction('Rotate the credential of ' + id + '?', 'It has had one since ' + fmtTime(had.created_at) +
      '. The new secret works at once; the current one ' + (g ? 'keeps working for ' + g + ', then stops.' : 'stops working now: the device cannot register with it again.'), [], 'Rotate'))) return;
    act(async () => { showSecret(await call('POST', '/v1/credentials/' + enc(id), g ? { grace: g } : undefined)); form.reset(); load(); });
  } }, field('Client ID', cid), field('Old secret still valid for', grace), h('button', { type: 'submit' }, 'Create or rotate'));
  main.replaceChildren(h('h1', {}, 'Credentials'), form, secretBox,
    h('table', {}, h('thead', {}, h('tr', {}, ['cid', 'created', 'previous valid until', ''].map((c) => h('th', {}, c)))), body),
    h('div', { class: 'pager' }, list.info, list.buttons));
  load();
  const again = coalesce(load, 1000);
  const l = (ev) => { if (ev.type.startsWith('credential.')) again(); };
  listeners.add(l);
  recovered.add(load);
  return { unmount() { listeners.delete(l); recovered.delete(load); } };
}

// ---- routing ---------------------------------------------------------------

function route() {
  const [path, query] = (location.hash.slice(1) || '/overview').split('?');
  const parts = path.split('/').filter(Boolean);
  const params = new URLSearchParams(query || '');
  const main = $('main');
  if (current) current.unmount();
  const view = parts[0] || 'overview';
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.view === (view === 'client' ? 'clients' : view));
  main.dataset.view = view;
  switch (view) {
    case 'clients': current = clients(main, params); break;
    case 'client': current = client(main, decodeURIComponent(parts.slice(1).join('/'))); break;
    case 'events': current = eventsView(main); break;
    case 'bans': current = bans(main); break;
    case 'credentials': current = credentials(main); break;
    default: current = overview(main);
  }
  // Each table scrolls sideways in a box of its own where the window is
  // narrower than its columns, rather than widen the whole page past
  // the header (an 800 px window scrolled every view but the overview).
  for (const t of main.querySelectorAll('table')) {
    if (t.parentElement.classList.contains('scroll')) continue;
    const box = h('div', { class: 'scroll' });
    t.before(box);
    box.append(t);
  }
}

window.addEventListener('hashchange', route);
// The view starts at once: its first call, like the stream, waits for the
// token when the server wants one and this tab has none (api.js).
route();
stream(onEvent, setLive);
