// Live updates: one EventSource on /v1/ui/events while the dashboard is open. The server
// gathers node changes and sends them a few times a second, many nodes per message
// (docs/dashboard.md, "Live updates"). Pages subscribe with a function that gets each
// batch ({nodes: [...]}) or {resync: true} after a reconnect, when changes may have been
// missed. While the stream is down, connected() is false and pages poll as before.
const subscribers = new Set();
let source = null;
let up = false;
let everUp = false;
let retry = null;
let received = 0;

function emit(batch) {
  for (const fn of subscribers) {
    try {
      fn(batch);
    } catch {
      /* one page's failure does not stop the others */
    }
  }
}

function mark(state) {
  up = state;
  document.body.dataset.live = state ? 'on' : 'off';
}

export function start() {
  if (source || typeof EventSource === 'undefined') return;
  clearTimeout(retry);
  source = new EventSource('/v1/ui/events');
  source.addEventListener('hello', () => {
    const reconnect = everUp;
    everUp = true;
    mark(true);
    if (reconnect) emit({ resync: true });
  });
  source.addEventListener('nodes', (ev) => {
    let batch;
    try {
      batch = JSON.parse(ev.data);
    } catch {
      return;
    }
    received += 1;
    document.body.dataset.liveMessages = String(received);
    emit(batch);
  });
  source.onerror = () => {
    mark(false);
    // The browser retries by itself after a dropped stream; a refused one (401, 503) is
    // closed for good, so try again later.
    if (source && source.readyState === EventSource.CLOSED) {
      source = null;
      retry = setTimeout(start, 10000);
    }
  };
}

export function stop() {
  clearTimeout(retry);
  if (source) source.close();
  source = null;
  everUp = false;
  mark(false);
}

export const connected = () => up;

export function subscribe(fn) {
  subscribers.add(fn);
  return () => subscribers.delete(fn);
}
