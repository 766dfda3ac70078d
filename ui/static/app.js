// cliser's dashboard. Plain modern JavaScript, no library and no build
// step: the page is a handful of tables, forms and one line chart, which
// the DOM and a <canvas> do in less code than a vendored framework would
// need to be wired in, and the binary stays free of third-party script.
// Every API value is put in the page as text (textContent), never as HTML.
//
// This file is the shell: it routes the URL's fragment to a view, a
// module each (overview.js, clients.js, client.js, events.js, bans.js,
// credentials.js), and starts the event stream. What the views share is
// in dom.js, live.js and pager.js; api.js is the admin API's client.

import { stream } from './api.js';
import { bans } from './bans.js';
import { client } from './client.js';
import { clients } from './clients.js';
import { credentials } from './credentials.js';
import { $, cancelConfirm, h } from './dom.js';
import { eventsView } from './events.js';
import { watchHealth } from './health.js';
import { onEvent, setLive } from './live.js';
import { overview } from './overview.js';

// ---- routing ---------------------------------------------------------------

let current = null; // the mounted view: {unmount()}

function route() {
  const [path, query] = (location.hash.slice(1) || '/overview').split('?');
  const parts = path.split('/').filter(Boolean);
  const params = new URLSearchParams(query || '');
  const main = $('main');
  cancelConfirm();
  if (current) current.unmount();
  const view = parts[0] || 'overview';
  // aria-current says to a screen reader which link is the view on show,
  // which the class said only in colour.
  for (const a of document.querySelectorAll('#nav a')) {
    const on = a.dataset.view === (view === 'client' ? 'clients' : view);
    a.classList.toggle('active', on);
    if (on) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  main.dataset.view = view;
  switch (view) {
    case 'clients': current = clients(main, params); break;
    case 'client': current = client(main, decoded(parts.slice(1).join('/'))); break;
    case 'events': current = eventsView(main); break;
    case 'bans': current = bans(main); break;
    case 'credentials': current = credentials(main); break;
    default: current = overview(main);
  }
  // The tab's title names the view (and the client): every tab and
  // history entry read "cliser" alone.
  const name = { clients: 'Clients', client: 'Client', events: 'Events', bans: 'Bans', credentials: 'Credentials' }[view] || 'Overview';
  document.title = (view === 'client' ? decoded(parts.slice(1).join('/')) + ' · ' : '') + name + ' · cliser';
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

// decoded is a link's client ID; one that does not decode (#/client/%,
// typed or cut short) is taken as written, and the client's view says no
// client has it, where an exception here stopped the page and its stream.
function decoded(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

window.addEventListener('hashchange', route);
// The view starts at once: its first call, like the stream, waits for the
// token when the server wants one and this tab has none (api.js).
route();
stream(onEvent, setLive);
watchHealth();
