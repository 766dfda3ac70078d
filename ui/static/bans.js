import { call, get } from './api.js';
import { act, clientID, coalesce, confirmAction, enc, field, flash, fmtTime, goDuration, h, head, keepFocus, notAClientID } from './dom.js';
import { listeners, recovered } from './live.js';
import { pageQuery, pager } from './pager.js';

// Bans: list, add, lift.
export function bans(main) {
  const body = h('tbody', { id: 'bans-body' });
  const kind = h('select', { name: 'kind', id: 'ban-kind' }, ['cid', 'ip', 'net'].map((k) => h('option', { value: k }, k)));
  const value = h('input', { id: 'ban-value', placeholder: 'pos-0042 · 203.0.113.9 · 10.1.0.0/16', required: true, autocomplete: 'off' });
  const reason = h('input', { id: 'ban-reason', placeholder: 'optional' });
  const duration = h('input', { id: 'ban-duration', placeholder: '1h · empty: until lifted' });
  const heading = h('h1', { tabindex: -1 }, 'Bans');
  const list = pager((cursor) => get('/v1/bans?' + pageQuery(cursor)), (r) => {
    keepFocus(body, 'data-ban', heading, () => body.replaceChildren(...(r.bans.length ? r.bans.map((b) => h('tr', { 'data-ban': b.kind + '/' + b.value }, h('td', {}, b.kind), h('td', {}, b.value), h('td', { class: 'text' }, b.reason || '—'), h('td', {}, b.by),
      h('td', {}, fmtTime(b.at)), h('td', {}, b.until ? fmtTime(b.until) : 'until lifted'),
      h('td', {}, h('button', { class: 'small', type: 'button', onclick: () => lift(b) }, 'Lift'))))
      : [h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'no bans'))])));
    return r.bans.length;
  }, ''); // an empty list says so in its table, not beside the pager as well
  const load = list.load;
  const lift = (b) => confirmAction('Lift the ban on ' + b.kind + ' ' + b.value + '?', 'It can connect again at once.', [], 'Lift')
    .then((v) => v && act(() => call('DELETE', '/v1/bans/' + enc(b.kind) + '/' + enc(b.value)), 'ban lifted').then(load));
  const form = h('form', { class: 'toolbar', id: 'ban-form', onsubmit: (e) => {
    e.preventDefault();
    // As the credentials' form: said here, before a confirmation of a
    // request the API would refuse.
    if (kind.value === 'cid' && !clientID.test(value.value.trim())) { flash(notAClientID(value.value.trim()), true); return; }
    const why = banReasonCheck(reason.value) || banDurationCheck(duration.value);
    if (why) { flash(why, true); return; }
    // The confirmation says what is to be made, reason and length too.
    const lasts = duration.value.trim() ? 'It lasts ' + duration.value.trim() : 'It lasts until lifted';
    confirmAction('Ban ' + kind.value + ' ' + value.value.trim() + '?', lasts + (reason.value ? ', for "' + reason.value + '"' : ', with no reason given') +
      '. Matching live sessions close with "190 banned".', [], 'Ban')
      .then((v) => v && act(() => call('POST', '/v1/bans', banBody(kind.value, value.value.trim(), { reason: reason.value, duration: duration.value.trim() })), 'banned')
        .then((ok) => { if (ok) form.reset(); load(); }));
  } }, field('Kind', kind), field('Client ID, IP or network', value), field('Reason', reason), field('Duration', duration),
  h('button', { type: 'submit' }, 'Add ban'));
  main.replaceChildren(heading, form,
    h('table', {}, head(['kind', 'value', 'reason', 'by', 'since', 'until', '']), body),
    h('div', { class: 'pager' }, list.info, list.buttons));
  load();
  const again = coalesce(load, 1000);
  const l = (ev) => { if (ev.type.startsWith('ban.')) again(); };
  listeners.add(l);
  recovered.add(load);
  return { unmount() { listeners.delete(l); recovered.delete(load); } };
}

// maxBanReason is the API's limit on a ban's reason, in bytes.
const maxBanReason = 256;

// banReasonCheck and banDurationCheck say what the API would refuse in a
// ban's reason and duration, so that the client's Ban dialog stays open
// with what was typed: it closed on the API's 400, the text lost.
export const banReasonCheck = (v) => {
  const n = new TextEncoder().encode(v).length;
  return n > maxBanReason ? 'The reason is ' + n + ' bytes: at most ' + maxBanReason + '.' : '';
};
export const banDurationCheck = (v) => {
  const d = v.trim();
  if (!d) return '';
  if (!goDuration.test(d)) return 'A duration is like 1h, 30m or 1h30m (empty: until lifted).';
  return /[1-9]/.test(d.replace(/(ns|us|µs|μs|ms|s|m|h)/g, ' ')) ? '' : 'A ban lasts more than 0 (empty: until lifted).';
};

// banBody is the body of POST /v1/bans, from the Bans view's form or a
// client's Ban button.
export function banBody(kind, value, v) {
  const b = { kind, value, reason: v.reason || '' };
  const d = (v.duration || '').trim(); // as typed in a client's Ban dialog too
  if (d) b.duration = d;
  return b;
}
