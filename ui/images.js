// Images: every declared artifact with its cached versions (size, digest, when fetched and
// last used), and versions the catalog keeps for images no longer declared.
import * as api from './api.js';
import { h, bytes, ago } from './dom.js';

export async function render(view) {
  const { images } = await api.get('/v1/ui/images');
  const byImage = new Map();
  for (const r of images) {
    if (!byImage.has(r.image)) byImage.set(r.image, []);
    byImage.get(r.image).push(r);
  }
  view.append(h('div', { class: 'page images' }, h('h1', { text: 'Images' }),
    images.length === 0 ? h('p', { class: 'muted', text: 'No image is declared.' }) : '',
    [...byImage].map(([name, rows]) => h('section', { class: 'card image', dataset: { image: name } },
      h('h2', { text: name }),
      h('table', { class: 'grid' },
        h('thead', {}, h('tr', {}, ['kind', 'source', 'cached', 'version (sha256)', 'size', 'fetched', 'used', 'pinned'].map((t) => h('th', { text: t })))),
        h('tbody', {}, rows.map((r) => h('tr', { class: r.current ? 'current' : '' },
          h('td', { text: r.kind }),
          h('td', { text: r.source, title: r.url || '' }),
          h('td', { text: r.source === 'local' ? 'local file' : r.cached ? (r.current ? 'yes (current)' : 'yes') : 'no' }),
          h('td', { class: 'digest', title: r.sha256 || '', text: r.sha256 ? r.sha256 : '-' }),
          h('td', { class: 'num', text: r.size !== undefined ? bytes(r.size) : '-' }),
          h('td', { text: r.fetched_ms ? ago(r.fetched_ms) : '-' }),
          h('td', { text: r.used_ms ? ago(r.used_ms) : '-' }),
          h('td', { text: r.pinned ? 'yes' : '' })))))))));
}
