// What every view hears and reads again: the server's events as they
// happen, and its answering again after a time it did not.

import { onGap, onReach } from './api.js';
import { $, draws, fmtClock } from './dom.js';

// ---- the live event stream, shared by every view ----------------------

export const listeners = new Set();
export function onEvent(ev) { draws.streamed++; for (const l of listeners) l(ev); }
// why, an APIError, is the server's refusal of the stream: its status
// shows beside "reconnecting…" and its message on hover.
export function setLive(state, why) {
  const el = $('live');
  el.textContent = { live: 'live', retrying: 'reconnecting…', off: 'no event log' }[state] || state;
  if (why) el.textContent += ' (refused: ' + why.status + ')';
  el.title = why ? 'the server refused the stream: ' + why.message : liveTitles[state] || '';
  el.className = 'live state-' + state; // green only for state-live (style.css)
  liveState = state;
}
export let liveState = 'retrying';
const liveTitles = {
  live: 'live event stream',
  retrying: 'the event stream is down: the page keeps trying to open it again',
  off: 'this server keeps no event log (--event-retention 0), so there is no live stream',
};

// ---- when the server does not answer ----------------------------------

// A server killed, restarting or out of reach: the page keeps what it
// showed, dimmed (body.offline, style.css), under a line that says since
// when nothing has answered, rather than leave its last figures on show
// as if they were live; the view on show reads again (recovered) once
// the server answers.
export const recovered = new Set();
onReach((up, since) => {
  const el = $('offline');
  document.body.classList.toggle('offline', !up);
  el.hidden = up;
  if (!up) {
    el.textContent = 'The server does not answer since ' + fmtClock(since) +
      ': what this page shows is from before then, not live. It keeps trying, and catches up once the server is back.';
  } else for (const fn of recovered) fn();
});
// So does a stream that skipped events the log no longer keeps.
onGap(() => { for (const fn of recovered) fn(); });
