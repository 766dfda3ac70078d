import { get, onGap, serverConfig } from './api.js';
import { addr, clientID, coalesce, draws, enc, field, fmtTime, h, head, notAClientID } from './dom.js';
import { listeners, liveState, recovered } from './live.js';

// Events: the live feed, newest first, filtered here, pausable.
const feed = []; // the last MAX_FEED events seen since the page loaded
const MAX_FEED = 500;
listeners.add((ev) => { feed.push(ev); if (feed.length > MAX_FEED) feed.splice(0, feed.length - MAX_FEED); });
// A resume the log refused (410: its events are gone, or the log is
// another's, the server's data dir lost or restored) leaves the feed's
// events no past of what comes next: the view reads the log's newest
// again (recovered), into an empty feed. They stayed, under the new
// log's, out of seq order (dashboard audit).
onGap(() => { feed.length = 0; });

// matches says whether e passes the view's filters: type t and client ID
// c, each "" for any.
const matches = (e, t, c) => (!t || e.type === t) && (!c || e.cid === c);

export function eventsView(main) {
  const type = h('select', { id: 'events-type' }, ['', 'client.connected', 'client.disconnected', 'client.shutdown_sent', 'client.shutdown_acked',
    'credential.created', 'credential.deleted', 'ban.created', 'ban.deleted'].map((t) => h('option', { value: t }, t || 'all types')));
  const cid = h('input', { id: 'events-cid', type: 'search', placeholder: 'pos-0042', autocomplete: 'off' });
  const pause = h('button', { id: 'events-pause', type: 'button' }, 'Pause');
  const body = h('tbody', { id: 'events-body' });
  const info = h('span', { class: 'muted', id: 'events-info' });
  // Paused, the view draws from what it showed last (shown), filtered
  // as the filters say, and nothing that arrived since, until Resume.
  let paused = false;
  // What arrived while paused, as counts by type and client ID: enough
  // to count it under any filter, where the events themselves grew
  // without end in a pause left on.
  let held = new Map(); // type + '\n' + cid -> {t, c, n}
  let heldShown = 0; // how many of them the filters pass
  let shown = [];
  let fillError = '';
  main.replaceChildren(h('h1', {}, 'Events'), h('div', { class: 'toolbar' }, field('Type', type), field('Client ID', cid), pause, info),
    h('table', {}, head(['seq', 'time', 'type', 'cid', 'node', 'detail']), body));
  // A client ID typed is also looked up in the log (?cid=): its events
  // may be older than the feed's 500, which the filter alone searched.
  let logged = null; // {cid, events}: the log's newest events of that client ID
  // The row of each event on show, by its id: an event's row is built
  // once, and a redraw puts in the new rows and takes out those no longer
  // shown, leaving the others where they are (it drew all 500 again on
  // every event). Not by seq: another log's event of the same seq (the
  // server's data dir swapped) kept the first one's row.
  let rowOf = new Map();
  const key = (e) => e.id || e.seq;
  const row = (e) => {
    let tr = rowOf.get(key(e));
    if (!tr) {
      const detail = [e.reason && 'reason: ' + e.reason, e.cip && addr(e.cip, e.cport), e.kind && e.kind + ' ' + e.value, e.by && 'by ' + e.by].filter(Boolean).join(' · ');
      tr = h('tr', {}, [e.seq, fmtTime(e.time), e.type, e.cid || '—', e.node || '—', detail].map((v, j) => h('td', { class: j === 5 ? 'text' : null }, v)));
    }
    return tr;
  };
  const draw = coalesce(() => {
    draws.events++;
    const t = type.value;
    const c = cid.value.trim();
    const rows = [];
    if (!paused) shown = feed.slice();
    const own = c && logged?.cid === c ? withLogged(logged.events, shown) : shown;
    const next = new Map();
    for (let i = own.length - 1; i >= 0; i--) { // all MAX_FEED: the count below says so
      const e = own[i];
      if (!matches(e, t, c)) continue;
      const tr = row(e);
      next.set(key(e), tr);
      rows.push(tr);
    }
    rowOf = next;
    place(body, rows);
    info.textContent = paused ? pausedText() : liveState === 'off' ? 'this server keeps no event log'
      : c && !clientID.test(c) ? notAClientID(c)
      : fillError || (own !== shown ? rows.length + (rows.length === 1 ? ' event of ' : ' events of ') + c + ': the log\'s newest, then live'
        // A filter on: how many of the feed's it shows ("1 of 500
        // events"); it said the feed's count alone, over one row.
        : (t || c ? rows.length + ' of ' : '') + feed.length + (feed.length === 1 ? ' event' : ' events') + ': the log\'s newest, then live');
  });
  let typing = 0;
  const readCID = () => {
    const c = cid.value.trim();
    // One that is no client ID is said by draw, not asked of the log:
    // its 400 was dropped, and the view read "0 of 200 events".
    if (!c || !clientID.test(c)) { logged = null; return; }
    serverConfig().then((conf) => conf.events && get('/v1/events?limit=200&cid=' + enc(c)))
      .then((r) => { if (r && mounted && cid.value.trim() === c) { logged = { cid: c, events: r.events }; draw(); } }, () => {});
  };
  // While paused, "N new" counts the events the filters would show, as
  // they are now: changed while paused, the count follows.
  const pausedText = () => 'paused · ' + heldShown + ' new';
  const l = (e) => {
    if (!paused) draw();
    else {
      const k = e.type + '\n' + (e.cid || '');
      const g = held.get(k) || held.set(k, { t: e.type, c: e.cid, n: 0 }).get(k);
      g.n++;
      if (matches(e, type.value, cid.value.trim())) heldShown++;
      info.textContent = pausedText();
    }
  };
  const refilter = () => {
    heldShown = 0;
    for (const g of held.values()) if (matches({ type: g.t, cid: g.c }, type.value, cid.value.trim())) heldShown += g.n;
    draw();
  };
  listeners.add(l);
  pause.addEventListener('click', () => { paused = !paused; held = new Map(); heldShown = 0; pause.textContent = paused ? 'Resume' : 'Pause'; draw(); });
  type.addEventListener('change', refilter);
  cid.addEventListener('input', () => { refilter(); clearTimeout(typing); typing = setTimeout(readCID, 250); });
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
  // Back after a restart (with an event log now, maybe): read it again.
  recovered.add(fill);
  return { unmount() { mounted = false; clearTimeout(fillTimer); clearTimeout(typing); listeners.delete(l); recovered.delete(fill); } };
}

// withLogged is the feed's events with a client's events from the log
// that it does not hold, in seq order.
function withLogged(logged, shown) {
  const have = new Set(shown.map((e) => e.seq));
  return logged.filter((e) => !have.has(e.seq)).concat(shown).sort((a, b) => a.seq - b.seq);
}

// place makes rows (newest first, as body holds them) body's rows: those
// no longer among them go, the new ones go in where they belong, and the
// others stay as they are, the same elements in the same places.
function place(body, rows) {
  const keep = new Set(rows);
  for (const tr of [...body.children]) if (!keep.has(tr)) tr.remove();
  let at = body.firstElementChild;
  for (const tr of rows) {
    if (tr === at) at = at.nextElementSibling;
    else body.insertBefore(tr, at);
  }
}
