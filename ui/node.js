// One node: its facts, its boot timeline as phases on a time axis (each phase lasts until
// the next event) with the raw events below, the iPXE script and cloud-config it would be
// served now, and the operator's actions. The timeline grows as the server pushes events
// (live.js); without the stream it is polled every two seconds.
import * as api from './api.js';
import * as live from './live.js';
import { h, svg, clear, bytes, duration, time, ago, stateBadge } from './dom.js';
import { confirmAction } from './confirm.js';

const PHASE_CLASS = {
  failed: 'bad', capture_failed: 'bad', installed: 'good', joined: 'good', captured: 'good',
};

export function phases(events, now, live) {
  return events.map((e, i) => {
    const end = i + 1 < events.length ? events[i + 1].ts : live ? now : e.ts;
    return { phase: e.phase, message: e.message, start: e.ts, end, ms: Math.max(0, end - e.ts) };
  });
}

function timeline(events, now, live) {
  const ps = phases(events, now, live);
  if (ps.length === 0) return h('p', { class: 'muted', text: 'No events yet.' });
  const w = 960;
  const laneH = 22;
  const left = 150;
  const t0 = ps[0].start;
  const t1 = Math.max(ps[ps.length - 1].end, t0 + 1000);
  const x = (t) => left + ((t - t0) / (t1 - t0)) * (w - left - 70);
  const height = ps.length * laneH + 34;
  const root = svg('svg', { viewBox: `0 0 ${w} ${height}`, class: 'timeline', role: 'img', 'aria-label': 'Boot timeline' });
  root.append(svg('line', { x1: left, y1: height - 24, x2: w - 70, y2: height - 24, class: 'axis' }));
  for (let i = 0; i <= 4; i += 1) {
    const t = t0 + ((t1 - t0) * i) / 4;
    root.append(svg('text', { x: x(t), y: height - 8, class: 'tick', 'text-anchor': 'middle', text: `+${duration(t - t0)}` }));
  }
  ps.forEach((p, i) => {
    const y = i * laneH + 4;
    const g = svg('g', { class: `phase ${PHASE_CLASS[p.phase] || ''}` });
    g.append(
      svg('text', { x: left - 6, y: y + 14, 'text-anchor': 'end', class: 'label', text: p.phase }),
      svg('rect', { x: x(p.start), y, width: Math.max(2, x(p.end) - x(p.start)), height: laneH - 6 }),
      svg('text', { x: Math.max(x(p.end), x(p.start) + 2) + 4, y: y + 14, class: 'dur', text: duration(p.ms) }),
      svg('title', { text: `${p.phase}: ${p.message || ''} (${duration(p.ms)})` }),
    );
    root.append(g);
  });
  return root;
}

function factsList(n) {
  const f = n.facts || {};
  const rows = [
    ['state', stateBadge(n.state)], ['since', `${time(n.since)} (${ago(n.since)})`], ['MAC', n.mac], ['IP', n.ip],
    ['profile', n.profile], ['declared', n.declared ? 'yes' : 'no (discovered)'], ['capture', n.capture],
    ['last heartbeat', n.last_seen ? ago(n.last_seen) : ''], ['hostname', f.hostname], ['arch', f.arch], ['UUID', f.uuid],
    ['CPU', f.cpu ? `${f.cpu.model || ''} × ${f.cpu.count || ''}` : ''], ['memory', f.memory_bytes ? bytes(f.memory_bytes) : ''],
    ['system', f.smbios ? [f.smbios.vendor, f.smbios.product, f.smbios.serial].filter(Boolean).join(' / ') : ''],
  ];
  const dl = h('dl', { class: 'facts', id: 'facts' }, rows.filter(([, v]) => v).map(([k, v]) => [h('dt', { text: k }), h('dd', {}, v)]));
  const disks = Array.isArray(f.disks) ? f.disks : [];
  const nics = Array.isArray(f.nics) ? f.nics : [];
  return h('div', {}, dl,
    disks.length ? h('table', { class: 'grid' }, h('thead', {}, h('tr', {}, ['disk', 'size', 'model', 'serial', 'rotational'].map((t) => h('th', { text: t })))),
      h('tbody', {}, disks.map((d) => h('tr', {}, h('td', { text: d.name }), h('td', { text: bytes(d.size_bytes) }), h('td', { text: d.model }), h('td', { text: d.serial }), h('td', { text: d.rotational ? 'yes' : 'no' }))))) : '',
    nics.length ? h('table', { class: 'grid' }, h('thead', {}, h('tr', {}, ['NIC', 'MAC', 'driver', 'link'].map((t) => h('th', { text: t })))),
      h('tbody', {}, nics.map((c) => h('tr', {}, h('td', { text: c.name }), h('td', { text: c.mac }), h('td', { text: c.driver }), h('td', { text: c.link ? 'up' : 'down' }))))) : '');
}

function eventsTable(events) {
  return h('table', { class: 'grid', id: 'events' },
    h('thead', {}, h('tr', {}, ['time', 'phase', 'message'].map((t) => h('th', { text: t })))),
    h('tbody', {}, events.slice().reverse().map((e) => h('tr', {}, h('td', { text: time(e.ts) }), h('td', { text: e.phase }), h('td', { text: e.message })))));
}

export async function render(view, name) {
  const base = `/v1/nodes/${api.enc(name)}`;
  const [n, events, preview] = await Promise.all([api.get(base), api.get(`${base}/events`), api.get(`/v1/ui/nodes/${api.enc(name)}/preview`)]);
  const header = h('div', { class: 'node-head' });
  const factsBox = h('section', { class: 'card' });
  const tlBox = h('section', { class: 'card', id: 'timeline' });
  const eventsBox = h('section', { class: 'card' });
  const scriptBox = h('pre', { class: 'code', id: 'ipxe' });
  const ccBox = h('pre', { class: 'code', id: 'cloud-config' });
  const status = h('p', { class: 'status', role: 'status', id: 'action-status' });
  let current = n;
  let evsNow = events;

  async function act(label, fn) {
    try {
      await fn();
      status.textContent = `${label}: done.`;
      await refresh();
    } catch (e) {
      status.textContent = `${label}: refused (${e.code || e.status}: ${e.message}).`;
    }
  }
  const actions = h('div', { class: 'actions' },
    h('button', { type: 'button', id: 'reinstall', onclick: async () => {
      if (await confirmAction(`Reinstall ${name}? Its next boot erases its disk and installs it again.`)) {
        act('Reinstall', () => api.post(`${base}/reinstall`));
      }
    }, text: 'Reinstall…' }),
    h('button', { type: 'button', id: 'capture', onclick: async () => {
      const v = await confirmAction(`Capture ${name}'s disk as a new image version on its next boot?`,
        [{ name: 'image', label: 'Image', value: `${name}-capture` }]);
      if (v) act('Capture', () => api.post(`${base}/capture`, v.image ? { image: v.image } : {}));
    }, text: 'Capture…' }),
    h('button', { type: 'button', id: 'cancel-capture', onclick: async () => {
      if (await confirmAction(`Cancel the pending capture of ${name}?`)) act('Cancel capture', () => api.del(`${base}/capture`));
    }, text: 'Cancel capture…' }));

  function draw(node, evs, pv) {
    current = node;
    evsNow = evs;
    clear(header).append(h('h1', {}, node.name, ' ', stateBadge(node.state)), actions, status);
    actions.querySelector('#cancel-capture').hidden = !node.capture;
    clear(factsBox).append(h('h2', { text: 'Facts' }), factsList(node));
    const running = node.state.startsWith('installing') || node.state.startsWith('discovered');
    clear(tlBox).append(h('h2', { text: `Boot timeline (${evs.length} events)` }), timeline(evs, Date.now(), running));
    clear(eventsBox).append(h('h2', { text: 'Events' }), eventsTable(evs));
    if (pv) {
      scriptBox.textContent = pv.script || '(no MAC known: no script)';
      ccBox.textContent = pv.cloud_config || '(only declared nodes get a cloud-config)';
      scriptBox.dataset.kind = pv.script_kind;
    }
  }

  // Reads that finish out of order must not draw an older node over a newer one.
  let started = 0;
  let drawn = 0;
  async function refresh() {
    const seq = ++started;
    const [node, evs, pv] = await Promise.all([api.get(base), api.get(`${base}/events`), api.get(`/v1/ui/nodes/${api.enc(name)}/preview`)]);
    if (seq < drawn) return;
    drawn = seq;
    draw(node, evs, pv);
  }

  view.append(h('div', { class: 'page node' }, header, factsBox, tlBox, eventsBox,
    h('section', { class: 'card' }, h('h2', {}, 'iPXE script it would be served now'), scriptBox),
    h('section', { class: 'card' }, h('h2', { text: 'Rendered cloud-config (secrets masked)' }), ccBox)));
  draw(n, events, preview);
  const unsubscribe = live.subscribe(async (batch) => {
    const c = batch.resync ? null : (batch.nodes || []).find((x) => x.name === name);
    if (!batch.resync && !c) return;
    try {
      // A new state may come with fields the pushed change does not carry (a pending
      // capture, the script it is served): read the whole node again.
      if (batch.resync || c.more || c.removed || (c.state !== undefined && c.state !== current.state)) {
        await refresh();
        return;
      }
      const node = { ...current };
      if (c.state !== undefined) node.since = c.since;
      // A batch may repeat entries the first load already read.
      const key = (e) => `${e.ts}\u0000${e.phase}\u0000${e.message}`;
      const seen = new Set(evsNow.slice(-100).map(key));
      draw(node, evsNow.concat((c.events || []).filter((e) => !seen.has(key(e)))), null);
    } catch {
      /* the page stays as it was; 401 shows the login */
    }
  });
  let busy = false;
  const timer = setInterval(async () => {
    if (busy || live.connected()) return;
    busy = true;
    try {
      await refresh();
    } catch {
      /* a failed poll leaves the page as it was; 401 shows the login */
    } finally {
      busy = false;
    }
  }, 2000);
  return () => {
    unsubscribe();
    clearInterval(timer);
  };
}
