import { h } from './dom.js';

// pager pages an API listing with its cursor, PAGE entries at a time, for
// every list of the page (clients, bans, credentials): fetch(cursor)
// gets one page ({next, ...}), show(res, at) draws it and says how many
// entries it shows. Previous goes back through the cursors of the pages
// visited; a page emptied by removals goes back one. With a single page
// there are no buttons. A query the API refuses (a 4xx: a prefix too
// long, say) calls clear, so that no row is left on show as if it
// matched what was asked. A failed load's words stay until a load
// succeeds: a count redrawn after it (a client event's) put the last
// good page's "50 shown" over the refusal, above no row.
export const PAGE = 100;
export function pager(fetch, show, none, clear) {
  const prev = h('button', { id: 'page-prev', type: 'button', disabled: true }, '← Previous');
  const next = h('button', { id: 'page-next', type: 'button', disabled: true }, 'Next →');
  const info = h('span', { class: 'muted', id: 'page-info' });
  const cursors = ['']; // the cursor of each page visited
  let at = 0;
  let seq = 0;
  let more = false;
  let failed = ''; // the last load's error, until one succeeds
  const load = async () => {
    const my = ++seq;
    info.textContent = 'loading…';
    let res;
    try { res = await fetch(cursors[at]); } catch (e) {
      if (my !== seq) return;
      info.textContent = failed = e.message;
      if (e.status >= 400 && e.status < 500) { clear?.(); prev.hidden = next.hidden = true; }
      return;
    }
    if (my !== seq) return; // a newer load won
    failed = '';
    const n = show(res, at);
    shownAt = at;
    if (!n && at > 0) { at--; load(); return; }
    more = !!res.next;
    cursors[at + 1] = res.next;
    prev.disabled = at === 0;
    next.disabled = !more;
    prev.hidden = next.hidden = at === 0 && !more;
    shown(n);
  };
  let total = ''; // how many the listing has in all, where the view knows
  let lastN = 0;
  // The page on show: a total that came while the next page loaded named
  // that page over the rows of this one (CI caught it in a test).
  let shownAt = 0;
  const shown = (n) => {
    lastN = n;
    if (failed) return;
    info.textContent = n ? 'page ' + (shownAt + 1) + ' · ' + n + ' shown' + (total ? ' · ' + total : '') : none;
  };
  prev.addEventListener('click', () => { if (at > 0) { at--; load(); } });
  // Only to a page whose cursor is known: a second click while the next
  // page loads asked for it with none, and page 1 was shown as "page 3"
  // (dashboard audit: a double-click on Next).
  next.addEventListener('click', () => { if (more && cursors[at + 1] !== undefined) { at++; load(); } });
  return {
    info,
    buttons: [prev, next],
    load, // this page again
    first() { at = 0; cursors.length = 1; load(); },
    shown, // the page now shows n entries (rows the stream added or filtered)
    total(text) { total = text; shown(lastN); }, // "20,000 records", or '' when not known
  };
}

// pageQuery is a listing's query for the page at cursor.
export function pageQuery(cursor, extra) {
  const q = new URLSearchParams({ limit: String(PAGE), ...extra });
  if (cursor) q.set('cursor', cursor);
  return q;
}
