// The dashboard: login, then pages chosen by the URL's hash (#/, #/nodes, #/node/NAME,
// #/images). Each page module exports render(view, arg) and returns a function that stops
// its timers.
import * as api from './api.js';
import * as live from './live.js';
import { h } from './dom.js';
import * as overview from './overview.js';
import * as nodes from './nodes.js';
import * as node from './node.js';
import * as images from './images.js';

const view = document.getElementById('view');
const top = document.getElementById('top');
const loginSection = document.getElementById('login');
const loginForm = document.getElementById('login-form');
const loginError = document.getElementById('login-error');
let stop = () => {};
let generation = 0;

function route() {
  const hash = location.hash.replace(/^#/, '').split('?')[0] || '/';
  const parts = hash.split('/').filter(Boolean);
  if (parts.length === 0) return { page: overview, nav: 'overview' };
  if (parts[0] === 'nodes') return { page: nodes, nav: 'nodes' };
  if (parts[0] === 'node' && parts[1]) return { page: node, nav: 'nodes', arg: decodeURIComponent(parts[1]) };
  if (parts[0] === 'images') return { page: images, nav: 'images' };
  return { page: overview, nav: 'overview' };
}

async function show() {
  stop();
  stop = () => {};
  const gen = ++generation;
  const { page, nav, arg } = route();
  for (const a of document.querySelectorAll('[data-nav]')) a.classList.toggle('active', a.dataset.nav === nav);
  view.replaceChildren();
  document.body.dataset.ready = '';
  try {
    const stopper = await page.render(view, arg);
    if (gen !== generation) {
      if (stopper) stopper();
      return;
    }
    stop = stopper || (() => {});
    document.body.dataset.ready = nav;
  } catch (e) {
    if (gen !== generation || e.status === 401) return;
    view.replaceChildren(h('p', { class: 'error', role: 'alert', text: `Could not load this page: ${e.message}` }));
    document.body.dataset.ready = 'error';
  }
}

function showLogin(message) {
  live.stop();
  stop();
  stop = () => {};
  generation += 1;
  top.hidden = true;
  view.replaceChildren();
  loginSection.hidden = false;
  loginError.textContent = message || '';
  document.body.dataset.ready = 'login';
  document.getElementById('token').focus();
}

function showApp() {
  loginSection.hidden = true;
  top.hidden = false;
  live.start();
  show();
}

api.onLoggedOut(() => showLogin('Your session has ended. Log in again.'));

loginForm.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const input = document.getElementById('token');
  try {
    await api.login(input.value.trim());
    input.value = '';
    showApp();
  } catch (e) {
    loginError.textContent = e.status === 401 ? 'That token is not the operator token.' : e.message;
  }
});

document.getElementById('logout').addEventListener('click', async () => {
  await api.logout().catch(() => {});
  showLogin('Logged out.');
});

window.addEventListener('hashchange', () => {
  if (!top.hidden) show();
});

api
  .restore()
  .then((ok) => (ok ? showApp() : showLogin()))
  .catch(() => showLogin());
