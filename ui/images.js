// Images: every declared artifact with its cached versions (size, digest, when fetched and
// last used, when an unused one expires), versions the catalog keeps for images no longer
// declared, and the background update checks of the url-declared files (the last check's
// time and result, the next check, recent events). Reloaded every 10 seconds.
import * as api from './api.js';
import { h, clear, bytes, ago, time, duration } from './dom.js';

const RELOAD_MS = 10000;

// "2026-12-05 16:40:01Z (3.0s ago)" / "(in 1m05s)".
function when(ts) {
  if (!ts) return '-';
  const d = ts - Date.now();
  return `${time(ts)} (${d > 0 ? `in ${duration(d)}` : ago(ts)})`;
}

function every(seconds) {
  return seconds > 0 ? duration(seconds * 1000) : 'never';
}

// When a cached version goes: kept ones never while they are kept, the others once unused
// for the file's expire (collected by the next collection after that).
function expiry(r) {
  if (!r.cached) return '-';
  if (r.kept === 'pinned') return 'never (pinned)';
  if (r.source === 'undeclared') return 'at the next drover images gc';
  if (r.kept === 'current') return r.expire_s ? 'kept while current' : 'never';
  if (r.kept === 'install') return 'kept: a pending install uses it';
  if (!r.expires_ms) return 'never';
  return r.expires_ms <= Date.now() ? `due since ${when(r.expires_ms)}` : when(r.expires_ms);
}

function result(c) {
  if (c.last_result) return c.last_result;
  if (!c.cached) return 'not cached yet';
  return c.interval_s > 0 ? 'not checked yet' : '-';
}

function nextCheck(c) {
  if (!(c.interval_s > 0)) return 'never (no update interval)';
  if (!c.cached) return 'after the first use';
  if (!c.next_check_ms) return '-';
  if (c.next_check_ms <= Date.now()) return 'due now';
  return `${c.next_check_estimated ? 'about ' : ''}${when(c.next_check_ms)}`;
}

// "3.0s ago updated 0123456789ab"; a failure's error unless it is the one shown as the
// last result's.
function eventLine(e, lastError) {
  const what = e.count > 1 ? `${e.event} ×${e.count}` : e.event;
  const version = e.sha256 ? ` ${e.sha256.slice(0, 12)}` : '';
  const detail = e.detail && e.detail !== lastError ? `: ${e.detail}` : '';
  return h('div', { class: 'event', text: `${ago(e.ts)} ${what}${version}${detail}` });
}

function versionsTable(rows) {
  const head = ['kind', 'source', 'cached', 'version (sha256)', 'size', 'fetched', 'used', 'pinned', 'expires'];
  return h('table', { class: 'grid versions' },
    h('thead', {}, h('tr', {}, head.map((t) => h('th', { text: t })))),
    h('tbody', {}, rows.map((r) => h('tr', { class: r.current ? 'current' : '', dataset: { kind: r.kind, sha256: r.sha256 || '' } },
      h('td', { text: r.kind }),
      h('td', { text: r.source, title: r.url || '' }),
      h('td', { text: r.source === 'local' ? 'local file' : r.cached ? (r.current ? 'yes (current)' : 'yes') : 'no' }),
      h('td', { class: 'digest', title: r.sha256 || '', text: r.sha256 ? r.sha256 : '-' }),
      h('td', { class: 'num', text: r.size !== undefined ? bytes(r.size) : '-' }),
      h('td', { text: r.fetched_ms ? ago(r.fetched_ms) : '-' }),
      h('td', { text: r.used_ms ? ago(r.used_ms) : '-' }),
      h('td', { text: r.pinned ? 'yes' : '' }),
      h('td', { class: 'expires', text: expiry(r) })))));
}

function checksTable(checks) {
  const head = ['kind', 'every', 'last check', 'result', 'next check', 'expire', 'versions', 'recent events'];
  return h('table', { class: 'grid checks' },
    h('thead', {}, h('tr', {}, head.map((t) => h('th', { text: t })))),
    h('tbody', {}, checks.map((c) => h('tr', { dataset: { kind: c.kind, result: c.last_result || '' } },
      h('td', { text: c.kind }),
      h('td', { text: every(c.interval_s) }),
      h('td', { class: 'last-check', text: c.checked_ms ? when(c.checked_ms) : '-' }),
      h('td', { class: `result result-${c.last_result || 'none'}` },
        h('div', { text: result(c) }),
        c.last_error ? h('div', { class: 'error', text: c.last_error }) : ''),
      h('td', { class: 'next-check', text: nextCheck(c) }),
      h('td', { text: c.expire_s > 0 ? `unused for ${duration(c.expire_s * 1000)}` : 'never' }),
      h('td', { class: 'num', text: String(c.versions) }),
      h('td', { class: 'events' }, (c.events || []).map((e) => eventLine(e, c.last_error)))))));
}

function draw(box, images, checks) {
  const byImage = new Map();
  for (const r of images) {
    if (!byImage.has(r.image)) byImage.set(r.image, []);
    byImage.get(r.image).push(r);
  }
  const checksOf = (name) => checks.filter((c) => c.image === name);
  const cards = [...byImage].map(([name, rows]) => h('section', { class: 'card image', dataset: { image: name } },
    h('h2', { text: name }),
    versionsTable(rows),
    checksOf(name).length ? [h('h3', { text: 'Update checks' }), checksTable(checksOf(name))] : ''));
  clear(box).append(...(images.length === 0 ? [h('p', { class: 'muted', text: 'No image is declared.' })] : cards));
}

export async function render(view) {
  const box = h('div', { id: 'image-list' });
  view.append(h('div', { class: 'page images' }, h('h1', { text: 'Images' }), box));
  const first = await api.get('/v1/ui/images');
  draw(box, first.images, first.checks || []);
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const data = await api.get('/v1/ui/images');
      draw(box, data.images, data.checks || []);
    } catch {
      // the next reload tries again; a logged-out session shows the login
    } finally {
      busy = false;
    }
  }, RELOAD_MS);
  return () => clearInterval(timer);
}
