// Nodes: every node in a table that sorts, filters (state, profile, network, label) and
// searches (name, MAC, IP). Only the rows in view are in the DOM, so 10,000 nodes cost
// what 40 do. Below it, machines Drover discovered but the declaration does not name, with
// their hardware facts and the lines that adopt them.
import * as api from './api.js';
import * as live from './live.js';
import { h, clear, ago, bytes, stateBadge } from './dom.js';

const ROW = 30;
const COLUMNS = [
  { key: 'name', label: 'Name' },
  { key: 'state', label: 'State' },
  { key: 'ip', label: 'IP' },
  { key: 'mac', label: 'MAC' },
  { key: 'profile', label: 'Profile' },
  { key: 'network', label: 'Network' },
  { key: 'labels', label: 'Labels' },
  { key: 'last_event', label: 'Last event' },
  { key: 'last_event_ts', label: 'When' },
];

function labelText(labels) {
  return Object.entries(labels || {}).map(([k, v]) => `${k}=${v}`).join(' ');
}

function ipKey(ip) {
  return (ip || '').split('.').map((p) => p.padStart(3, '0')).join('.');
}

function collator() {
  return new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
}

function cell(n, key) {
  switch (key) {
    case 'name': return h('a', { href: `#/node/${api.enc(n.name)}`, text: n.name });
    case 'state': return stateBadge(n.state);
    case 'labels': return labelText(n.labels);
    case 'last_event_ts': return ago(n.last_event_ts);
    default: return n[key] || '';
  }
}

export function snippet(n) {
  const f = n.facts || {};
  const lines = [
    '  - name: CHOOSE-A-NAME',
    `    mac: ${n.mac}`,
  ];
  if (f.uuid) lines.push(`    uuid: ${f.uuid}`);
  lines.push('    # ip: 192.0.2.x', '    # profile: PROFILE');
  return lines.join('\n');
}

function discoveredSection(rows) {
  const found = rows.filter((n) => !n.declared);
  if (found.length === 0) return h('p', { class: 'muted', text: 'No undeclared machine has registered.' });
  return h('div', { id: 'discovered' }, found.slice(0, 500).map((n) => {
    const f = n.facts || {};
    const text = snippet(n);
    const copy = h('button', { type: 'button', text: 'Copy' });
    copy.addEventListener('click', () => {
      navigator.clipboard?.writeText(text).then(() => { copy.textContent = 'Copied'; }).catch(() => {});
    });
    return h('section', { class: 'card discovered', dataset: { node: n.name } },
      h('h3', {}, h('a', { href: `#/node/${api.enc(n.name)}`, text: n.name }), ' ', stateBadge(n.state)),
      h('dl', { class: 'facts' },
        [['MAC', n.mac], ['arch', f.arch], ['CPU', f.cpu ? `${f.cpu} × ${f.cpus}` : ''],
          ['memory', f.memory_bytes ? bytes(f.memory_bytes) : ''], ['disks', f.disks ? `${f.disks} (${bytes(f.disk_bytes)})` : ''],
          ['system', [f.vendor, f.product].filter(Boolean).join(' ')], ['seen', ago(n.last_event_ts)]]
          .filter(([, v]) => v).map(([k, v]) => [h('dt', { text: k }), h('dd', { text: v })])),
      h('p', { class: 'hint', text: 'Add to nodes: in the declaration, then reload drover serve (SIGHUP):' }),
      h('pre', { class: 'snippet', text }), copy);
  }));
}

function uniq(values) {
  return [...new Set(values.filter(Boolean))].sort(collator().compare);
}

function select(name, label, values, current) {
  return h('label', { class: 'field' }, h('span', { text: label }),
    h('select', { name }, h('option', { value: '', text: 'any' }),
      values.map((v) => h('option', { value: v, text: v, selected: v === current }))));
}

export async function render(view) {
  const rows = await api.get('/v1/ui/nodes');
  const params = new URLSearchParams(location.hash.split('?')[1] || '');
  const filter = { state: params.get('state') || '', profile: '', network: '', label: '', q: '' };
  let sort = { key: 'name', dir: 1 };
  let shown = rows;

  const states = uniq(rows.map((n) => n.state.split('+')[0]));
  const labels = uniq(rows.flatMap((n) => Object.entries(n.labels || {}).map(([k, v]) => `${k}=${v}`)));
  const controls = h('form', { class: 'filters', onsubmit: (e) => e.preventDefault() },
    h('label', { class: 'field' }, h('span', { text: 'Search' }),
      h('input', { name: 'q', type: 'search', placeholder: 'name, MAC or IP', 'aria-label': 'Search nodes' })),
    select('state', 'State', states, filter.state),
    select('profile', 'Profile', uniq(rows.map((n) => n.profile)), ''),
    select('network', 'Network', uniq(rows.map((n) => n.network)), ''),
    select('label', 'Label', labels, ''));
  const count = h('p', { class: 'count' });
  const head = h('div', { class: 'vrow vhead', role: 'row' }, COLUMNS.map((c) =>
    h('button', { type: 'button', class: 'vcell sort', dataset: { key: c.key }, role: 'columnheader', text: c.label })));
  const spacer = h('div', { class: 'vspacer' });
  const body = h('div', { class: 'vbody', role: 'rowgroup' });
  const scroller = h('div', { class: 'vscroll', id: 'node-table', role: 'table' }, spacer, body);

  function apply() {
    const q = filter.q.toLowerCase();
    shown = rows.filter((n) =>
      (!filter.state || n.state.split('+')[0] === filter.state) &&
      (!filter.profile || n.profile === filter.profile) &&
      (!filter.network || n.network === filter.network) &&
      (!filter.label || labelText(n.labels).split(' ').includes(filter.label)) &&
      (!q || n.name.toLowerCase().includes(q) || (n.mac || '').toLowerCase().includes(q) || (n.ip || '').includes(q)));
    const cmp = collator().compare;
    const key = sort.key;
    shown.sort((a, b) => {
      if (key === 'ip') return sort.dir * (ipKey(a.ip) < ipKey(b.ip) ? -1 : ipKey(a.ip) > ipKey(b.ip) ? 1 : 0);
      if (key === 'last_event_ts') return sort.dir * ((a[key] || 0) - (b[key] || 0));
      if (key === 'labels') return sort.dir * cmp(labelText(a.labels), labelText(b.labels));
      return sort.dir * cmp(String(a[key] || ''), String(b[key] || ''));
    });
    for (const b of head.children) {
      b.classList.toggle('asc', b.dataset.key === key && sort.dir > 0);
      b.classList.toggle('desc', b.dataset.key === key && sort.dir < 0);
    }
    count.textContent = `${shown.length} of ${rows.length} nodes`;
    spacer.style.height = `${shown.length * ROW}px`;
    scroller.style.height = `${Math.min(Math.max(shown.length, 1) * ROW, Math.round(window.innerHeight * 0.6))}px`;
    paint(true);
  }

  let painted = '';
  function paint(force) {
    const first = Math.max(0, Math.floor(scroller.scrollTop / ROW) - 5);
    const last = Math.min(shown.length, first + Math.ceil((scroller.clientHeight || 600) / ROW) + 10);
    const key = `${first}:${last}`;
    if (!force && key === painted) return;
    painted = key;
    body.style.transform = `translateY(${first * ROW}px)`;
    body.replaceChildren(...shown.slice(first, last).map((n) =>
      h('div', { class: 'vrow', role: 'row', dataset: { node: n.name } },
        COLUMNS.map((c) => h('div', { class: `vcell c-${c.key}`, role: 'cell' }, cell(n, c.key))))));
  }

  controls.addEventListener('input', (e) => {
    filter[e.target.name] = e.target.value;
    apply();
  });
  head.addEventListener('click', (e) => {
    const k = e.target.closest('[data-key]')?.dataset.key;
    if (!k) return;
    sort = { key: k, dir: sort.key === k ? -sort.dir : 1 };
    apply();
  });
  scroller.addEventListener('scroll', () => paint(false), { passive: true });

  const undeclared = rows.filter((n) => !n.declared).length;
  view.append(h('div', { class: 'page nodes' },
    h('h1', { text: 'Nodes' }), controls, count, h('div', { class: 'table' }, head, scroller),
    h('h2', { text: `Discovered machines (${undeclared})` }), discoveredSection(rows)));
  apply();
  performance.mark('drover-nodes-rendered');
  requestAnimationFrame(() => setTimeout(() => performance.mark('drover-nodes-painted'), 0));

  // Pushed changes update the rows in place; a node the table does not know yet (or a
  // reconnect that may have missed changes) reloads the rows.
  const byName = new Map(rows.map((n) => [n.name, n]));
  let reloading = false;
  async function reload() {
    if (reloading) return;
    reloading = true;
    try {
      const fresh = await api.get('/v1/ui/nodes');
      rows.splice(0, rows.length, ...fresh);
      byName.clear();
      for (const n of rows) byName.set(n.name, n);
      apply();
    } catch {
      /* kept as it was */
    } finally {
      reloading = false;
    }
  }
  const unsubscribe = live.subscribe((batch) => {
    if (batch.resync) return reload();
    let unknown = false;
    for (const c of batch.nodes || []) {
      const n = byName.get(c.name);
      if (!n) {
        unknown = unknown || !c.removed;
        continue;
      }
      if (c.removed) {
        rows.splice(rows.indexOf(n), 1);
        byName.delete(c.name);
        continue;
      }
      if (c.state !== undefined) Object.assign(n, { state: c.state, since: c.since });
      if (c.last_event) Object.assign(n, { last_event: c.last_event, last_event_ts: c.last_event_ts });
    }
    if (unknown) return reload();
    apply();
    return undefined;
  });
  return () => {
    unsubscribe();
    clear(body);
  };
}
