// A confirmation dialog (<dialog>); resolves to the extra fields' values, or null when
// cancelled.
import { h } from './dom.js';

export function confirmAction(text, fields = []) {
  const dialog = document.getElementById('confirm');
  document.getElementById('confirm-text').textContent = text;
  const extra = document.getElementById('confirm-extra');
  const inputs = fields.map((f) => h('input', { name: f.name, value: f.value || '', 'aria-label': f.label }));
  extra.replaceChildren(
    ...fields.map((f, i) => h('label', { class: 'field' }, h('span', { text: f.label }), inputs[i])),
  );
  return new Promise((resolve) => {
    dialog.addEventListener(
      'close',
      () => {
        if (dialog.returnValue !== 'ok') return resolve(null);
        const values = {};
        fields.forEach((f, i) => {
          values[f.name] = inputs[i].value.trim();
        });
        resolve(values);
      },
      { once: true },
    );
    dialog.returnValue = '';
    dialog.showModal();
  });
}
