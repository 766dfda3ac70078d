// The admin API from the page: every call carries the token (when the
// server wants one) as an Authorization header, the live stream included;
// the token lives in this tab's sessionStorage and never in a URL.

const KEY = 'cliser.token';

export class APIError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

let asking = null; // the pending token prompt, shared by concurrent calls

function headers(extra) {
  const h = new Headers(extra || {});
  const tok = sessionStorage.getItem(KEY);
  if (tok) h.set('Authorization', 'Bearer ' + tok);
  return h;
}

// askToken shows the token dialog until the server accepts what is typed.
function askToken(message) {
  if (asking) return asking;
  const dlg = document.getElementById('login');
  const form = document.getElementById('login-form');
  const input = document.getElementById('login-token');
  const err = document.getElementById('login-error');
  err.textContent = message || '';
  asking = new Promise((resolve) => {
    // The server may come back wanting no token (restarted without one):
    // its config is asked every 2 s while the prompt is up, which then
    // goes. It stayed, over a page that waited behind it (dashboard audit).
    const watch = setInterval(async () => {
      const c = await readConfig();
      if (c && c.token === false && asking) done();
    }, 2000);
    const done = () => {
      clearInterval(watch);
      config = null; // what it said of itself before the prompt may be old
      input.value = '';
      asking = null;
      dlg.close();
      resolve();
    };
    form.onsubmit = async (ev) => {
      ev.preventDefault();
      const tok = input.value.trim();
      // A header takes printable ASCII only: fetch would throw on
      // anything else, which read as a server that does not answer.
      if (!tok) { err.textContent = 'Type the admin token (CLISER_ADMIN_TOKEN, or a line of --admin-token-file).'; return; }
      if (!/^[\x21-\x7e]+$/.test(tok)) {
        err.textContent = 'An admin token is printable ASCII without spaces: this one cannot be the server\'s.';
        input.select();
        return;
      }
      let res;
      try {
        res = await fetch('/v1/stats', { headers: { Authorization: 'Bearer ' + tok } });
      } catch (_) {
        err.textContent = 'The server does not answer: try again once it does.';
        return;
      }
      // 403: the Host or Origin guard, whatever the token; it is not
      // kept, as one refused is not.
      if (res.status === 401 || res.status === 403 || res.status === 429) {
        err.textContent = 'Refused: ' + await errorText(res);
        input.select();
        return;
      }
      sessionStorage.setItem(KEY, tok);
      done();
    };
  });
  // Every call waits for the token: Escape must not put the prompt away
  // and leave the page waiting with no way to sign in but a reload. The
  // browser lets a page refuse the first Escape only, so a close while
  // still asking opens the prompt again.
  dlg.oncancel = (ev) => ev.preventDefault();
  dlg.onclose = () => { if (asking) { dlg.showModal(); input.focus(); } };
  if (!dlg.open) dlg.showModal();
  input.focus();
  return asking;
}

// refused forgets the token a 401 answered and says why the prompt is
// back: the server restarted with another token, or it was removed from
// its --admin-token-file. A tab that had none is asked plainly.
function refused() {
  const had = sessionStorage.getItem(KEY);
  sessionStorage.removeItem(KEY);
  return had ? 'The server refused the token this tab kept (it may have restarted with another one): type the current token.' : '';
}

async function errorText(res) {
  try {
    const body = await res.json();
    if (body && typeof body.error === 'string') return body.error;
  } catch (_) { /* not JSON */ }
  return res.status + ' ' + res.statusText;
}

// serverConfig is what the server tells the page before its first call
// (GET /ui/config.json, no token needed): {token, events, cluster},
// whether it wants the admin token, whether it keeps an event log and
// whether its records name their node. Without it
// the page would learn both from a 401 and a 404, which the browser logs
// as errors. Should it fail, the page goes on as if neither (a 401 still
// asks for the token), and the next call asks again: a server down when
// the page loaded does not leave its guess in place for the tab's life.
let config = null;
// readConfig is the server's answer, or null when it gave none.
const readConfig = () => fetch('/ui/config.json', { cache: 'no-store' }).then((res) => (res.ok ? res.json() : null), () => null);
export function serverConfig() {
  config ??= readConfig()
    .then((c) => {
      if (!c) config = null;
      return c || { token: false, events: true };
    });
  return config;
}

// ready settles once, before the first call: when the server wants a
// token and this tab has none, the prompt comes first.
let settled = null;
function ready() {
  settled ??= serverConfig().then((c) => (c.token && !sessionStorage.getItem(KEY) ? askToken() : undefined));
  return settled;
}

// call sends one request; a 401 (a token that is no longer right) asks
// for the token and tries again.
export async function call(method, path, body) {
  const res = await send(method, path, body);
  if (res.status === 204) {
    // Read, though empty: a body left unread is a request the browser
    // cancels, which DevTools lists as failed (net::ERR_ABORTED).
    await res.text();
    return null;
  }
  return res.json();
}

export const get = (path) => call('GET', path);

// read is get with whether the answer is stale: a cluster node that can
// not reach NATS answers reads from what it last saw, with the header
// X-Cliser-Stale: true (docs/cluster.md, "When NATS does not answer").
export async function read(path) {
  const res = await send('GET', path);
  return { data: await res.json(), stale: res.headers.get('X-Cliser-Stale') === 'true' };
}

// Whether the server answers: a request that gets no answer at all (the
// process was killed or restarts, or the network is away) makes it false,
// any answer true again. The page says so rather than show its last
// figures as if they were live (live.js), and reads again when it is back.
const reach = { up: true, since: null, listeners: new Set(), back: [] };
function reached(up) {
  if (up === reach.up) return;
  reach.up = up;
  reach.since = up ? null : new Date();
  if (up) {
    // Back, maybe restarted with other settings (an event log now, or
    // none): what it said of itself is asked again.
    config = null;
    reach.wake?.(); // the stream waiting out its backoff tries now
    for (const fn of reach.back.splice(0)) fn();
  }
  for (const l of reach.listeners) l(up, reach.since);
}
// asked waits, while the server keeps no event log, until it may have
// restarted with one: it came back, or 5 s went by (a restart between
// two of the page's calls is seen by none). Its config is asked again.
const asked = () => new Promise((resolve) => {
  const back = () => { clearTimeout(timer); resolve(); };
  const timer = setTimeout(() => { // not back: let go of the waiter, which would pile up
    reach.back.splice(reach.back.indexOf(back) >>> 0, 1);
    resolve();
  }, 5000);
  reach.back.push(back);
}).then(() => { config = null; });
// onReach(fn) calls fn(up, since) each time the server stops or starts
// answering.
export function onReach(fn) { reach.listeners.add(fn); }
export const reachable = () => reach.up;

// streamStart settles once the stream knows the seq it starts after (or
// that there is no stream): a list read after it misses no client that
// the stream does not bring.
let started;
export const streamStart = new Promise((r) => { started = r; });

// onGap(fn) hears when the stream had to skip events the log no longer
// keeps (a resume answered 410): what the page built from them is stale.
const gaps = new Set();
export function onGap(fn) { gaps.add(fn); }

// fetchAnswer is fetch that says whether the server answered.
async function fetchAnswer(path, init) {
  let res;
  try { res = await fetch(path, init); } catch (e) {
    if (e.name === 'AbortError') throw e;
    reached(false);
    throw new APIError(0, 'the server does not answer');
  }
  reached(true);
  return res;
}

// A client ID may be "." or "..", which a browser takes in a URL's path
// for the current and the parent directory, encoded or not: POST
// /v1/clients/../shutdown would go to /v1/shutdown and shut every client
// down. Such a client can not be named in a path from a page (the API's
// other clients can, as %2E%2E); namable says whether cid can, and send
// refuses a path with such a segment rather than send it elsewhere.
export const namable = (cid) => cid !== '.' && cid !== '..';
export const unnamable = 'a client ID of "." or ".." can not be named in a URL by a browser: use the API (as %2E%2E) or cliser\'s commands';
const dotSegment = /\/(?:\.|%2e){1,2}(?=[/?#]|$)/i;

// send is call's request: the answer when it is a 2xx, else an APIError.
async function send(method, path, body) {
  if (dotSegment.test(path)) {
    throw new APIError(0, unnamable);
  }
  await ready();
  for (;;) {
    const init = { method, headers: headers() };
    if (body !== undefined) {
      init.headers.set('Content-Type', 'application/json');
      init.body = JSON.stringify(body);
    }
    const res = await fetchAnswer(path, init);
    if (res.status === 401) {
      await askToken(refused());
      continue;
    }
    if (!res.ok) throw new APIError(res.status, await errorText(res));
    return res;
  }
}

// parseSSE feeds text chunks and calls onMessage({id, event, data}) for
// each complete message (the text/event-stream rules: lines end in LF, CR
// or CRLF; a blank line dispatches; ':' starts a comment).
export function sseParser(onMessage) {
  let buf = '';
  let msg = { id: '', event: '', data: [] };
  return (chunk) => {
    buf += chunk;
    for (;;) {
      const m = /\r\n|\r|\n/.exec(buf);
      // A lone CR at the end may be half of a CRLF: wait for more.
      if (!m || (m[0] === '\r' && m.index === buf.length - 1)) return;
      const line = buf.slice(0, m.index);
      buf = buf.slice(m.index + m[0].length);
      if (line === '') {
        if (msg.data.length) onMessage({ id: msg.id, event: msg.event || 'message', data: msg.data.join('\n') });
        msg = { id: msg.id, event: '', data: [] };
        continue;
      }
      if (line[0] === ':') continue;
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      let value = i < 0 ? '' : line.slice(i + 1);
      if (value[0] === ' ') value = value.slice(1);
      if (field === 'data') msg.data.push(value);
      else if (field === 'event') msg.event = value;
      else if (field === 'id') msg.id = value;
    }
  };
}

// A page the browser keeps in its back/forward cache must not hold its
// stream: each would keep one of the six connections a browser gives a
// host, and a sixth kept page left none to load the dashboard again. The
// stream lets go on pagehide and follows again on pageshow, resuming
// after the last id it saw.
// So does a tab in the background (hidden), and for the same six: each
// open tab of the dashboard held a stream, and with six (client pages
// opened in tabs, say) no tab had a connection left for its reads; the
// one on show kept its green "live" over figures that no longer moved,
// and a seventh did not load (TestDashboardBackgroundTabsLetGoOfTheStream).
const away = {
  left: false, // pagehide: in the back/forward cache
  attempt: null,
  back: null,
  get hidden() { return this.left || document.visibilityState === 'hidden'; },
};
const letGo = () => away.attempt?.abort();
const comeBack = () => { if (!away.hidden) away.back?.(); };
addEventListener('pagehide', () => { away.left = true; letGo(); });
addEventListener('pageshow', () => { away.left = false; comeBack(); });
document.addEventListener('visibilitychange', () => (document.visibilityState === 'hidden' ? letGo() : comeBack()));

// untilShown resolves when the page is shown again (at once when it is).
function untilShown() {
  if (!away.hidden) return Promise.resolve();
  return new Promise((resolve) => { away.back = () => { away.back = null; resolve(); }; });
}

// stream follows GET /v1/events/stream with fetch (EventSource cannot send
// a header), resuming after the last id it saw. onState(state, why) hears
// 'live', 'retrying' and 'off' (no event log on this server); why is the
// server's answer when it refused the stream (a 503 past the most streams
// it holds, say), for the operator to see why the page is not live.
export async function stream(onEvent, onState) {
  // A server without an event log may come back with one (restarted):
  // the stream asks again each time it is back.
  let off = false;
  while (!(await serverConfig()).events) { onState('off'); off = true; started(); await asked(); }
  await ready();
  // The stream starts after the log's newest event, read first, and not
  // at whatever is newest when it connects: a stream that drops before it
  // brought any event (a restart on a quiet server) resumes from there,
  // where it used to resume from the newest event once the server was
  // back and so missed every event between (the restart's own among
  // them). A resume from events the log no longer keeps (410) starts
  // from its newest again.
  let last = '';
  const newest = () => call('GET', '/v1/events?limit=1').then((r) => (r && r.next !== undefined ? String(r.next) : ''), () => '');
  let wait = 500;
  // offUntilLog waits, said off, until the server keeps an event log.
  const offUntilLog = async () => {
    onState('off');
    off = true;
    await asked();
    while (!(await serverConfig()).events) await asked();
  };
  for (;;) {
    let why = null;
    try {
      // Back from a restart without an event log: its config says so (read
      // again once it answered), where a try met a 404, an error in the
      // browser's console (dashboard audit).
      if (!(await serverConfig()).events) { await offUntilLog(); continue; }
      // The seq it starts after is known before it waits to be shown: a
      // tab opened in the background reads its lists at once.
      if (!last) last = await newest();
      started();
      await untilShown();
      const h = headers({ Accept: 'text/event-stream' });
      if (last) h.set('Last-Event-ID', last);
      away.attempt = new AbortController();
      if (away.hidden) continue; // hidden while it read the log's newest
      const res = await fetchAnswer('/v1/events/stream', { headers: h, cache: 'no-store', signal: away.attempt.signal });
      if (res.status === 401) {
        onState('retrying', new APIError(401, 'the server refused the token: sign in again'));
        await askToken(refused());
        continue;
      }
      if (res.status === 404) { // no event log now: ask again until it has one
        await offUntilLog();
        continue;
      }
      if (res.status === 410) { // events it missed are gone: the views read again
        last = '';
        for (const fn of gaps) fn();
      }
      if (!res.ok || !res.body) throw new APIError(res.status, await errorText(res));
      onState('live');
      // From no event log to one (restarted): the views read again, as
      // after a gap, and drop what they showed of no log.
      if (off) { off = false; for (const fn of gaps) fn(); }
      wait = 500;
      const feed = sseParser((m) => {
        if (m.id) last = m.id;
        try { onEvent(JSON.parse(m.data)); } catch (e) { console.warn('event not JSON', e); }
      });
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        feed(value);
      }
    } catch (e) {
      // A server restart or a network blip: retry below, quietly (the
      // offline line says the server does not answer). Or the page was
      // hidden: follow again once it is shown.
      if (away.hidden) { onState('retrying'); continue; }
      why = e instanceof APIError && e.status > 0 ? e : null; // 0: no answer at all
      config = null; // dropped: the server may be back with other settings before the retry
    }
    onState('retrying', why);
    await new Promise((r) => { reach.wake = r; setTimeout(r, wait); });
    reach.wake = null;
    wait = Math.min(wait * 2, 10000);
  }
}
