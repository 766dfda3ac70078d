// One client's page (#/client/<cid>), and the commands on a client that
// the Clients view has too.

import { call, get, namable, reachable, read, serverConfig, unnamable } from './api.js';
import { banBody, banDurationCheck, banReasonCheck } from './bans.js';
import { act, addr, clientID, coalesce, confirmAction, enc, fmtTime, h, head, notAClientID } from './dom.js';
import { listeners, recovered } from './live.js';

export function kickClient(cid) {
  return confirmAction('Kick ' + cid + '?', 'The client gets "190 kicked" and its connection closes; it may reconnect.', [], 'Kick')
    .then((v) => v && act(() => call('POST', '/v1/clients/' + enc(cid) + '/kick'), 'kicked ' + cid));
}

// maxReason is protocol.MaxShutdownReason: the bytes of a reason that fit
// the 130 line.
const maxReason = 498;

function shutdownClient(cid) {
  const check = (v) => {
    const n = new TextEncoder().encode(v).length;
    return n > maxReason ? 'The reason is ' + n + ' bytes: at most ' + maxReason + ' fit the 130 line.' : '';
  };
  return confirmAction('Shut down ' + cid + '?', 'The client is told "130 shutdown" with this reason; a well-behaved client acknowledges and stops.',
    [{ name: 'reason', label: 'Reason (ASCII: any other character reaches the device as "?")', placeholder: 'maintenance', check }], 'Shut down')
    .then((v) => v && act(() => call('POST', '/v1/clients/' + enc(cid) + '/shutdown', v.reason ? { reason: v.reason } : undefined), 'shutdown sent to ' + cid));
}

// credentialOf is cid's credential, or null: a client ID is the first of
// the credentials its own prefix lists. GET /v1/credentials/{cid} says
// "none" with a 404, which the browser logs as an error on every refresh
// of a client without its own credential.
export async function credentialOf(cid) {
  const q = new URLSearchParams({ prefix: cid, limit: '1' });
  const c = (await get('/v1/credentials?' + q)).credentials[0];
  return c && c.cid === cid ? c : null;
}

// recordOf is cid's record, or null, and whether the answer is stale: a
// client ID is the first of the records its own prefix lists. GET
// /v1/clients/{cid} says "none" with a 404, which the browser logs as
// an error: a client's page opened from the credentials of a device that
// has not connected yet made two.
export async function recordOf(cid) {
  const { data, stale } = await read('/v1/clients?' + new URLSearchParams({ prefix: cid, limit: '1' }));
  const r = data.clients[0];
  return { record: r && r.cid === cid ? r : null, stale };
}

// A client: its record, its sessions, and the actions (those that do
// nothing in its state are disabled: kick and shut down while it is
// disconnected, delete credential while it has none).
export function client(main, cid) {
  if (!clientID.test(cid)) {
    // A link typed or cut short: no client can have it, and no request
    // is made for it (the API's 404s would be errors in the console).
    main.replaceChildren(h('h2', {}, 'Client'), h('p', { class: 'error', id: 'client-invalid' }, notAClientID(cid)));
    return { unmount() {} };
  }
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
  let connected = false; // as the record shown says
  // "." and ".." can not be named in a URL's path (api.js): the page
  // shows the client and leaves its commands to the API and the CLI.
  const named = namable(cid);
  // The page's heading takes the focus from a button that goes off while
  // it holds it (Shut down or Kick, given it back by their dialog, once
  // the client is gone; Delete credential once it is deleted): it fell to
  // <body>, and a keyboard user lost their place.
  const heading = h('h1', { tabindex: -1 }, cid);
  const able = (b, on, title) => {
    const focused = document.activeElement === b;
    b.disabled = !on;
    b.title = title;
    if (focused && !on) heading.focus({ preventScroll: true });
  };
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
        for (const b of [kick, shutdown]) able(b, false, 'no record');
      }
      // Stale (this node can not reach NATS): say so, and read again
      // every 2 s until the answer is fresh; the sessions and the
      // credential, which need NATS too, once it is.
      staleNote.hidden = !stale;
      if (stale && !behind) retry = setTimeout(() => { if (mounted) refresh(); }, 2000);
    } catch (e) { rec.replaceChildren(h('dd', { class: 'error' }, e.message)); }
    if (r) {
      lags(r.cstatus);
      const f = [['cid', r.cid], ['status', r.cstatus ? 'connected' : 'disconnected'], ['sid', r.sid || '—'], ['address', r.cip ? addr(r.cip, r.cport) : '—'],
        ['node', r.node || '—'], ['connected at', fmtTime(r.connected_at)], ['last seen', fmtTime(r.last_seen)],
        ['disconnected at', fmtTime(r.disconnected_at)], ['last reason', r.reason || '—']];
      rec.replaceChildren(...f.flatMap(([k, v]) => [h('dt', {}, k), h('dd', { 'data-field': k }, v)]));
      connected = r.cstatus;
      for (const b of [kick, shutdown]) able(b, r.cstatus && named, !named ? unnamable : r.cstatus ? '' : 'not connected');
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
        [fmtTime(s.connected_at), s.disconnected_at ? fmtTime(s.disconnected_at) : 'connected', s.reason || '—', s.sid, s.cip ? addr(s.cip, s.cport) : '—', s.node || '—']
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
      able(delcred, c && named, !named ? unnamable : c ? '' : 'no credential of its own');
    } catch (e) { cred.textContent = e.message; }
  };
  const del = () => confirmAction('Delete the credential of ' + cid + '?', 'Its live session closes with "190 revoked".', [], 'Delete')
    .then((v) => v && act(() => call('DELETE', '/v1/credentials/' + enc(cid)), 'credential deleted').then(refresh));
  const ban = () => confirmAction('Ban ' + cid + '?', 'Its live sessions close with "190 banned" and it cannot register while banned.',
    [{ name: 'reason', label: 'Reason', placeholder: 'why', check: banReasonCheck },
      { name: 'duration', label: 'Duration (empty: until lifted)', placeholder: '1h', check: banDurationCheck }], 'Ban')
    .then((v) => v && act(() => call('POST', '/v1/bans', banBody('cid', cid, v)), 'banned ' + cid).then(refresh));
  // Disabled until the record and the credential say otherwise.
  const kick = h('button', { id: 'act-kick', type: 'button', disabled: true, onclick: () => kickClient(cid).then(refresh) }, 'Kick');
  const shutdown = h('button', { id: 'act-shutdown', type: 'button', disabled: true, onclick: () => shutdownClient(cid).then(refresh) }, 'Shut down…');
  const delcred = h('button', { id: 'act-delcred', type: 'button', disabled: true, onclick: del }, 'Delete credential');
  main.replaceChildren(
    h('p', {}, h('a', { href: '#/clients' }, '← Clients')),
    heading,
    h('div', { class: 'toolbar' }, kick, shutdown, delcred,
      h('button', { id: 'act-ban', type: 'button', class: 'danger', onclick: ban }, 'Ban…')),
    staleNote, rec, cred,
    h('h2', {}, 'Sessions'),
    h('table', {}, head(['connected', 'disconnected', 'reason', 'sid', 'address', 'node']), hist),
  );
  refresh();
  // A connected client's last_seen moves with each keep-alive, which no
  // event says: while it is connected its record alone is read again
  // every 10 s, and the line follows.
  const seen = setInterval(async () => {
    if (!connected || !reachable()) return;
    try {
      const { record: r } = await recordOf(cid);
      const dd = rec.querySelector('dd[data-field="last seen"]');
      if (r && r.cstatus && dd) dd.textContent = fmtTime(r.last_seen);
    } catch { /* said by the next refresh */ }
  }, 10000);
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
  return { unmount() { mounted = false; clearTimeout(retry); clearInterval(seen); listeners.delete(l); recovered.delete(refresh); } };
}
