import { APIError, get, namable, reachable, read, serverConfig, streamStart } from './api.js';
import { kickClient } from './client.js';
import { addr, clientID, coalesce, draws, enc, field, fmtTime, h, head, keepFocus } from './dom.js';
import { listeners, liveState, recovered } from './live.js';
import { PAGE, pageQuery, pager } from './pager.js';

// Clients: one API page at a time, updated in place from the stream.
export function clients(main, params) {
  const status = h('select', { id: 'filter-status' },
    ['all', 'connected', 'disconnected'].map((s) => h('option', { value: s, selected: params.get('status') === s }, s)));
  const prefix = h('input', { id: 'filter-prefix', type: 'search', placeholder: 'pos-00', value: params.get('prefix') || '', autocomplete: 'off' });
  const body = h('tbody', { id: 'clients-body' });
  const heading = h('h1', { tabindex: -1 }, 'Clients'); // where the focus goes when its row does
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
      rec.sid || '—', // a disconnected record's last sid, as the API gives it; 0: unknown (a stale answer)
      h('span', { class: 'badge ' + (rec.cstatus ? 'on' : 'off') }, rec.cstatus ? 'connected' : 'disconnected'),
      rec.cip ? addr(rec.cip, rec.cport) : '—',
      rec.node || '—',
      fmtTime(rec.connected_at),
      rec.cstatus ? 'now' : fmtTime(rec.disconnected_at || rec.last_seen),
      rec.reason || '—',
      rec.cstatus && namable(rec.cid) ? h('button', { class: 'small', type: 'button', onclick: () => kickClient(rec.cid) }, 'Kick') : '',
    ];
    // A row drawn again keeps the focus it held (its Kick button, given
    // back by the dialog, is gone once the client is): on its link.
    const focused = tr.contains(document.activeElement);
    tr.replaceChildren(...cells.map((c) => h('td', {}, c)));
    if (focused) tr.querySelector('a').focus({ preventScroll: true });
    tr.dataset.cid = rec.cid;
    tr.className = rec.cstatus ? '' : 'gone';
    return tr;
  };

  // A stale answer (a cluster node cut off from NATS) says so above the
  // table, and the page is read again every 2 s until a fresh one comes.
  const staleNote = h('p', { id: 'clients-stale', class: 'error', hidden: true },
    'Stale: this node can not reach NATS. Other nodes\' clients are shown as this node last saw them (address and times unknown); reading again every 2 s.');
  let stale = false;
  // The events heard while a page's read is out, replayed onto its answer
  // in order: the answer is of some moment during the read, and a row
  // the stream changed meanwhile would otherwise go back to it.
  let heard = null;
  const list = pager((cursor) => {
    const q = pageQuery(cursor);
    if (status.value !== 'all') q.set('status', status.value);
    if (prefix.value.trim()) q.set('prefix', prefix.value.trim());
    // Said here, as the API would: its 400 is an error in the browser's
    // console for what was only typing (dashboard audit).
    const wrong = notAPrefix(prefix.value.trim());
    if (wrong) return Promise.reject(new APIError(400, wrong));
    heard = [];
    return read('/v1/clients?' + q).then((r) => { r.data.stale = r.stale; return r.data; }, (e) => { heard = null; throw e; });
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
    keepFocus(body, 'data-cid', heading, () => body.replaceChildren(...trs));
    const replay = heard || [];
    heard = null;
    for (const ev of replay) l(ev);
    // For the 20,000-client timing test and anyone profiling: when the
    // first rows went into the page, from navigation start.
    if (trs.length && !performance.getEntriesByName('clients-first-rows').length) performance.mark('clients-first-rows');
    count();
    return n;
  }, 'no client matches', () => { body.replaceChildren(); page.rows.clear(); });

  // How many the filter has in all, from GET /v1/stats (a prefix's count
  // is not kept: none then). In a cluster, the nodes' lines add up to
  // the cluster's; the top-level figures are this node's.
  let counting = 0;
  const countNow = async () => {
    if (!list.info.isConnected) return; // the view is gone
    draws.counted++;
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
  };
  const count = coalesce(countNow, 2000);

  main.replaceChildren(
    heading,
    h('div', { class: 'toolbar' }, field('Status', status), field('Client-ID prefix', prefix), list.info),
    staleNote,
    h('table', { class: 'clients' },
      head(['cid', 'sid', 'status', 'cip:cport', 'node', 'connected since', 'last seen', 'last reason', '']),
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
    heard?.push(ev);
    count(); // the totals, whichever page the client is on
    let row = page.rows.get(ev.cid);
    if (!row) {
      const p = prefix.value.trim();
      if (p && !ev.cid.startsWith(p)) return;
      if (page.after !== null && ev.cid <= page.after) return; // an earlier page's
      if (page.next && ev.cid > page.last) return; // a later page's
      // A fleet registering in a page's range made it one page of
      // thousands of rows, each inserted in order, which froze the tab
      // (14 s for 15,000): the last page, whose range has no end, takes
      // new clients up to a page's worth, any other up to twice that;
      // then it is read again, and the API pages it with its cursor.
      if (page.rows.size >= (page.next ? 2 * PAGE : PAGE)) { overflow(); return; }
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
  const overflow = coalesce(() => list.load(), 1000);
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
    // The old filter's total goes now, not at the next count: beside the
    // new filter's rows it was wrong for up to 2 s.
    list.total('');
    countNow();
    list.first();
  };
  let typing = 0;
  status.addEventListener('change', requery);
  prefix.addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(requery, 150); });
  // The first page is read once the stream knows where it starts, so that
  // a client that connects in between is in the one or the other.
  streamStart.then(() => { if (list.info.isConnected) list.load(); });
  // Without an event log the page polls instead, and so it does while
  // its answers are stale.
  // So it does while the server does not answer, and reads again once it
  // does (onReach): its clients dropped meanwhile.
  // In a cluster a fresh page can turn stale with nothing on the stream to
  // say so (NATS away, no event stored): a one-record read every 2 s
  // finds out, and the page is read again, stale line and all.
  const poller = setInterval(() => {
    if (liveState === 'off' || stale || !reachable()) list.load();
    else if (cluster) read('/v1/clients?limit=1').then((r) => { if (r.stale && !stale) list.load(); }, () => {});
  }, 2000);
  const back = () => list.load();
  recovered.add(back);
  return { unmount() { listeners.delete(l); recovered.delete(back); clearInterval(poller); clearTimeout(typing); } };
}

// notAPrefix says why p can start no client ID, as the API's 400 does, or
// '' when it can: a prefix of one is one (clientID) once its length is.
function notAPrefix(p) {
  const n = new TextEncoder().encode(p).length;
  if (n > 64) return 'prefix is ' + n + ' bytes: a client ID has at most 64';
  if (p && !clientID.test(p)) return 'prefix ' + JSON.stringify(p) + ' has a byte no client ID has (1 to 64 bytes of letters, digits and . _ : @ -)';
  return '';
}
