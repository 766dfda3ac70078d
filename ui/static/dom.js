// What app.js and every view build the page with: DOM helpers, formats,
// the confirmation dialog, the flash line and the redraw scheduler.

export const $ = (id) => document.getElementById(id);

// h builds an element; string and number children become text nodes.
export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const k of kids.flat()) {
    if (k === null || k === undefined || k === false) continue;
    el.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return el;
}

// fmtTime is local time as "2026-11-30 09:41:03" and fmtClock its time
// of day, "09:41:03": one 24-hour format on every view. By hand: the
// first toLocaleString of a page loads the locale data, which took 160 ms
// of the first 100 rows' time on a loaded machine.
const pad2 = (n) => String(n).padStart(2, '0');
export const fmtClock = (d) => pad2(d.getHours()) + ':' + pad2(d.getMinutes()) + ':' + pad2(d.getSeconds());
export const fmtTime = (s) => {
  // null: not known (a stale answer's record of another node's client).
  if (!s) return '—';
  const d = new Date(s);
  return d.getFullYear() + '-' + pad2(d.getMonth() + 1) + '-' + pad2(d.getDate()) + ' ' + fmtClock(d);
};
export const fmtSecs = (v) => (v === null || v === undefined ? '—' : v < 1 ? (v * 1000).toFixed(1) + ' ms' : v.toFixed(2) + ' s');
export const enc = encodeURIComponent;
// addr is an address and port as the page shows them: an IPv6 address in
// brackets, so that its port does not read as one more group of it.
export const addr = (ip, port) => (ip.includes(':') ? '[' + ip + ']' : ip) + ':' + port;

// How often each view redrew, how many events the stream brought and how
// often the clients' total was counted, for the browser tests (a storm
// must not redraw more than a few times a second) and anyone profiling.
export const draws = { overview: 0, clients: 0, events: 0, streamed: 0, counted: 0 };
window.cliserDraws = draws;

// A redraw scheduler: however many events arrive, fn runs at most every
// minGap ms, on an animation frame. The first runs at once: counted from
// 0, it waited until minGap after the page's navigation.
export function coalesce(fn, minGap = 250) {
  let queued = false;
  let lastRun = -Infinity;
  return () => {
    if (queued) return;
    queued = true;
    const delay = Math.max(0, lastRun + minGap - performance.now());
    setTimeout(() => requestAnimationFrame(() => {
      queued = false;
      lastRun = performance.now();
      fn();
    }), delay);
  };
}

// head is a table's header row; a column without a title (the row's
// buttons) is named for a screen reader, which read an empty header.
export const head = (cols) => h('thead', {}, h('tr', {}, cols.map((c) => h('th', {}, c || h('span', { class: 'sr-only' }, 'actions')))));

// keepFocus runs redraw, which puts new rows in body, and gives the
// keyboard's focus, when a row's link or button held it, to the same
// control of the row with the same key (attribute attr) or, that row
// gone, of the row now at its place; without one, to fallback. It fell
// to <body> (a Lift, a Delete, any list read again by an event or a
// poll), and a keyboard user lost their place.
export function keepFocus(body, attr, fallback, redraw) {
  const el = document.activeElement;
  const tr = el && body.contains(el) ? el.closest('tr') : null;
  if (!tr) { redraw(); return; }
  const controls = (r) => (r ? [...r.querySelectorAll('a, button')] : []);
  const key = tr.getAttribute(attr);
  const at = controls(tr).indexOf(el);
  const row = [...body.rows].indexOf(tr);
  redraw();
  if (el.isConnected) return;
  const rows = [...body.rows];
  const usable = (c) => (c && !c.disabled ? c : null);
  // The same row keeps it (on its link, once its button is gone): never
  // another client's Kick in its stead.
  const same = key === null ? null : rows.find((r) => r.getAttribute(attr) === key);
  const to = same ? usable(controls(same)[at]) || usable(controls(same)[0])
    : usable(controls(rows[Math.min(row, rows.length - 1)])[at]);
  (to || fallback).focus({ preventScroll: true });
}

// ---- confirmation --------------------------------------------------------

// confirmAction shows the dialog; fields are [{name, label, placeholder}];
// it resolves to the fields' values, or null when cancelled.
export function confirmAction(title, text, fields = [], okLabel = 'Confirm') {
  const dlg = $('confirm');
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = okLabel;
  const box = $('confirm-fields');
  box.replaceChildren(...fields.map((f) => h('label', {}, f.label,
    h('input', { name: f.name, placeholder: f.placeholder || '', 'data-field': f.name, oninput: (e) => e.target.setCustomValidity('') }))));
  return new Promise((resolve) => {
    const done = (v) => { dlg.close(); resolve(v); };
    $('confirm-cancel').onclick = () => done(null);
    // A field's check(value) says what is wrong with it, and the dialog
    // stays open with what was typed, rather than close on a request the
    // API will refuse.
    $('confirm-form').onsubmit = (e) => {
      e.preventDefault();
      const out = {};
      for (const inp of box.querySelectorAll('input')) {
        const why = fields.find((f) => f.name === inp.name)?.check?.(inp.value) || '';
        inp.setCustomValidity(why);
        if (why) { inp.reportValidity(); return; }
        out[inp.name] = inp.value;
      }
      done(out);
    };
    dlg.oncancel = () => resolve(null);
    pending = () => done(null);
    dlg.showModal();
  });
}

// pending cancels the confirmation on show, if any.
let pending = null;

// cancelConfirm puts away a confirmation the page moved on from (Back,
// a link): it named an action of the view it was asked on, and a Confirm
// over another view read as that view's.
export function cancelConfirm() {
  if ($('confirm').open && pending) pending();
  pending = null;
}

// field is a form field with its label above it.
export const field = (label, input) => h('label', { class: 'field' }, h('span', {}, label), input);

// flash shows msg for 4 s at the bottom right. Those on show at once
// stack in one box (#flashes), each in full: each used to sit at the same
// spot over the one before, and one with a long word (a 65-character
// client ID) ran off a narrow window's left edge.
// The box is a polite live region (index.html) that a screen reader
// reads each message of.
export function flash(msg, isError) {
  const el = h('div', { class: 'flash' + (isError ? ' error' : '') }, msg);
  $('flashes').append(el);
  setTimeout(() => el.remove(), 4000);
}

export async function act(fn, okMsg) {
  try {
    await fn();
    if (okMsg) flash(okMsg);
    return true;
  } catch (e) {
    flash(e.message, true);
    return false;
  }
}

// clientID is PROTOCOL.md's rule for a client ID, and notAClientID what
// the page says of one that breaks it.
export const clientID = /^[A-Za-z0-9._:@-]{1,64}$/;
// goDuration is what Go's time.ParseDuration takes with a unit (the API's
// durations): 1h, 30m, 1h30m, 1.5h.
export const goDuration = /^\+?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$/;
export const notAClientID = (cid) => JSON.stringify(cid) + ' is not a client ID: 1 to 64 of A-Z a-z 0-9 . _ : @ -';
