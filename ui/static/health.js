// The server's own trouble, on every view: GET /v1/health every 5 s, as
// /readyz says it (a store that cannot write, draining) and what leaves
// it ready but needs the operator (an event log that cannot write, a
// webhook whose receiver does not acknowledge, a process log that fails,
// an identity store out of reach).
// It is read as a 200: a browser logs each 503 it is answered as a failed
// request. A server that does not answer is the offline line's (live.js).

import { get } from './api.js';
import { $, fmtTime, h } from './dom.js';

const every = 5000;

// watchHealth polls until the page goes; show puts the answer up.
export async function watchHealth() {
  for (;;) {
    try { show(await get('/v1/health')); } catch (_) { /* offline line, or a server without /v1/health */ }
    await new Promise((r) => setTimeout(r, every));
  }
}

function show(health) {
  const el = $('health');
  const notes = Object.entries(health.notes || {}).sort(([a], [b]) => a.localeCompare(b));
  el.hidden = health.ready && notes.length === 0;
  el.classList.toggle('unready', !health.ready);
  // Each note names what it is about ("webhook: …", "event log: …").
  const items = notes.map(([k, v]) => h('li', { 'data-key': k }, localTimes(v)));
  if (!health.ready) items.unshift(h('li', { 'data-key': 'ready' }, h('b', {}, 'Not ready: '), localTimes(health.error) || 'no reason given'));
  el.replaceChildren(h('ul', {}, ...items));
}

// localTimes puts the server's UTC times (RFC 3339, as /readyz words
// them) in the page's local format: the banner read 11:14:45Z over an
// events row of the same moment reading 20:14:48 in Tokyo.
const utcTime = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z\b/g;
export const localTimes = (text) => (text ? text.replace(utcTime, (t) => fmtTime(t)) : text);
