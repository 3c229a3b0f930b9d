// Overview: nodes by state, boots in progress, boots completed per hour, failures, and the
// DHCP/TFTP/HTTP counters.
import * as api from './api.js';
import * as live from './live.js';
import { h, svg, clear, ago, duration, stateBadge } from './dom.js';

const STATES = ['new', 'discovered', 'installing', 'installed', 'joined', 'failed'];

function chart(series) {
  const w = 720;
  const ht = 160;
  const pad = 24;
  const max = Math.max(1, ...series.map((p) => p.count));
  const bw = (w - pad * 2) / series.length;
  const root = svg('svg', { viewBox: `0 0 ${w} ${ht + 30}`, class: 'chart', role: 'img', 'aria-label': 'Boots completed per hour' });
  root.append(svg('line', { x1: pad, y1: ht, x2: w - pad, y2: ht, class: 'axis' }));
  root.append(svg('text', { x: 2, y: 12, class: 'tick', text: String(max) }));
  series.forEach((p, i) => {
    const bh = (p.count / max) * (ht - 20);
    const x = pad + i * bw;
    const bar = svg('rect', { x: x + 1, y: ht - bh, width: Math.max(1, bw - 2), height: bh, class: 'bar' });
    bar.append(svg('title', { text: `${new Date(p.hour_start).toISOString().slice(0, 13)}:00Z: ${p.count}` }));
    root.append(bar);
    if (i % 4 === 0) root.append(svg('text', { x, y: ht + 16, class: 'tick', text: `${new Date(p.hour_start).toISOString().slice(11, 13)}h` }));
  });
  return root;
}

function counterTable(counters) {
  const groups = { dhcp: [], tftp: [], http: [] };
  for (const [name, value] of Object.entries(counters)) {
    const m = name.match(/^drover_(dhcp|tftp|http)_/);
    if (m) groups[m[1]].push([name.slice('drover_'.length), value]);
  }
  return h(
    'div',
    { class: 'counters' },
    Object.entries(groups).map(([g, rows]) =>
      h(
        'section',
        { class: 'card' },
        h('h3', { text: g.toUpperCase() }),
        rows.length === 0
          ? h('p', { class: 'muted', text: 'no traffic yet' })
          : h('table', {}, h('tbody', {}, rows.sort().map(([n, v]) => h('tr', {}, h('td', { text: n }), h('td', { class: 'num', text: v }))))),
      ),
    ),
  );
}

function draw(root, d) {
  clear(root);
  root.append(
    h('h1', { text: 'Overview' }),
    h(
      'div',
      { class: 'states' },
      h('a', { class: 'card stat', href: '#/nodes' }, h('span', { class: 'big', text: d.total }), h('span', { text: 'nodes' })),
      STATES.map((s) =>
        h('a', { class: `card stat state-${s}`, href: `#/nodes?state=${s}`, dataset: { state: s } },
          h('span', { class: 'big', text: d.by_state[s] || 0 }), h('span', { text: s }))),
    ),
    h('h2', { text: `Booting now (${d.booting.length})` }),
    d.booting.length === 0
      ? h('p', { class: 'muted', text: 'No machine is installing.' })
      : h('table', { class: 'grid', id: 'booting' },
        h('thead', {}, h('tr', {}, ['node', 'current phase', 'in phase', 'installing for'].map((t) => h('th', { text: t })))),
        h('tbody', {}, d.booting.slice(0, 200).map((b) => h('tr', {},
          h('td', {}, h('a', { href: `#/node/${api.enc(b.name)}`, text: b.name })),
          h('td', { text: b.phase || '-' }),
          h('td', { text: b.ts ? duration(d.now - b.ts) : '-' }),
          h('td', { text: b.since ? duration(d.now - b.since) : '-' }))))),
    h('h2', { text: 'Boots completed per hour (last 24 h)' }),
    chart(d.completed_per_hour),
    h('h2', { text: `Failures (${d.failures.length})` }),
    d.failures.length === 0
      ? h('p', { class: 'muted', text: 'No node has failed.' })
      : h('table', { class: 'grid', id: 'failures' },
        h('thead', {}, h('tr', {}, ['node', 'reason', 'since'].map((t) => h('th', { text: t })))),
        h('tbody', {}, d.failures.map((f) => h('tr', {},
          h('td', {}, h('a', { href: `#/node/${api.enc(f.name)}`, text: f.name })),
          h('td', {}, stateBadge('failed'), ' ', f.reason || 'no reason reported'),
          h('td', { text: ago(f.since) }))))),
    h('h2', { text: 'Counters' }),
    counterTable(d.counters),
  );
}

export async function render(view) {
  const root = h('div', { class: 'page overview' });
  view.append(root);
  draw(root, await api.get('/v1/ui/overview'));
  // The overview is totals over every node: a pushed batch asks for fresh totals, at most
  // once a second however many batches come; without the stream it polls.
  let pending = null;
  const reload = () => api.get('/v1/ui/overview').then((d) => draw(root, d)).catch(() => {});
  const unsubscribe = live.subscribe(() => {
    if (!pending) pending = setTimeout(() => { pending = null; reload(); }, 1000);
  });
  // Polled every 5 s without the stream; with it every 30 s, for the counters.
  let ticks = 0;
  const timer = setInterval(() => {
    ticks += 1;
    if (!live.connected() || ticks % 6 === 0) reload();
  }, 5000);
  return () => {
    unsubscribe();
    clearTimeout(pending);
    clearInterval(timer);
  };
}
