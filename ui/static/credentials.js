import { call, get, namable, unnamable } from './api.js';
import { credentialOf, recordOf } from './client.js';
import { act, clientID, coalesce, confirmAction, enc, field, flash, fmtTime, goDuration, h, head, keepFocus, notAClientID } from './dom.js';
import { listeners, recovered } from './live.js';
import { pageQuery, pager } from './pager.js';

// Credentials: list, create (the secret shown once), delete.
export function credentials(main) {
  const body = h('tbody', { id: 'creds-body' });
  const cid = h('input', { id: 'cred-cid', placeholder: 'pos-0042', required: true, autocomplete: 'off' });
  const grace = h('input', { id: 'cred-grace', placeholder: '24h · empty: none' });
  // A polite live region: a screen reader says the secret is on show
  // (shown once), which nothing else announced.
  const secretBox = h('div', { id: 'secret-box', role: 'status' });
  const heading = h('h1', { tabindex: -1 }, 'Credentials');
  const list = pager((cursor) => get('/v1/credentials?' + pageQuery(cursor)), (r) => {
    keepFocus(body, 'data-cid', heading, () => body.replaceChildren(...(r.credentials.length ? r.credentials.map((c) => h('tr', { 'data-cid': c.cid }, h('td', {}, h('a', { href: '#/client/' + enc(c.cid) }, c.cid)),
      h('td', {}, fmtTime(c.created_at)), h('td', {}, c.previous_valid_until ? fmtTime(c.previous_valid_until) : '—'),
      // "." and "..": the page cannot name them in a URL; off up front,
      // as on the client's page, rather than after a confirmation.
      h('td', {}, h('button', { class: 'small', type: 'button', disabled: !namable(c.cid), title: namable(c.cid) ? undefined : unnamable, onclick: () => remove(c.cid) }, 'Delete'))))
      : [h('tr', {}, h('td', { colspan: 4, class: 'muted' }, 'no credentials'))])));
    return r.credentials.length;
  }, ''); // an empty list says so in its table, not beside the pager as well
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
      code, copy, h('button', { type: 'button', onclick: () => { secretBox.replaceChildren(); cid.focus(); } }, 'Done')));
  };
  // Rotating (the client has one) asks first: without a grace period its
  // current secret stops working at once. So does creating one for a
  // client ID that has a record: the shared password stops admitting
  // that device, which then fails its next connect until it has the
  // secret (dashboard audit: no word of it, and its retries count
  // towards its address's --auth-fail-limit). One no device used yet
  // is created at once.
  const form = h('form', { class: 'toolbar', id: 'cred-form', onsubmit: async (e) => {
    e.preventDefault();
    const id = cid.value.trim();
    const g = grace.value.trim();
    // Checked here: the lookup below would answer a path's or a prefix's
    // error for it, not the field's.
    if (!clientID.test(id)) { flash(notAClientID(id), true); return; }
    if (!namable(id)) { flash(unnamable, true); return; }
    // Before the rotation's confirmation, which promised "keeps working
    // for abc" and then met the API's 400.
    if (g && g !== '0' && !goDuration.test(g)) { flash('The old secret\'s grace is a duration like 24h or 30m (empty: none).', true); return; }
    let had, rec;
    try { [had, { record: rec }] = await Promise.all([credentialOf(id), recordOf(id)]); } catch (err) { flash(err.message, true); return; }
    if (!had && rec && !(await confirmAction('Give ' + id + ' a credential of its own?', 'The shared password then no longer admits it: ' +
      'give the device the new secret before it connects again' + (rec.cstatus ? ' (its live session stays)' : '') + '.', [], 'Create'))) return;
    if (had && !(await confirmAction('Rotate the credential of ' + id + '?', 'It has had one since ' + fmtTime(had.created_at) +
      '. The new secret works at once; the current one ' + (g ? 'keeps working for ' + g + ', then stops.' : 'stops working now: the device cannot register with it again.'), [], 'Rotate'))) return;
    act(async () => { showSecret(await call('POST', '/v1/credentials/' + enc(id), g ? { grace: g } : undefined)); form.reset(); load(); });
  } }, field('Client ID', cid), field('Old secret still valid for', grace), h('button', { type: 'submit' }, 'Create or rotate'));
  main.replaceChildren(heading, form, secretBox,
    h('table', {}, head(['cid', 'created', 'previous valid until', '']), body),
    h('div', { class: 'pager' }, list.info, list.buttons));
  load();
  const again = coalesce(load, 1000);
  const l = (ev) => { if (ev.type.startsWith('credential.')) again(); };
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
