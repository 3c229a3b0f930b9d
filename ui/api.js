// The operator API, called with the session cookie; state changes carry the session's
// CSRF token in X-CSRF-Token.

let csrf = '';
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

export function onLoggedOut(fn) {
  listeners.add(fn);
}

function loggedOut() {
  csrf = '';
  for (const fn of listeners) fn();
}

async function call(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET') headers['X-CSRF-Token'] = csrf;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    if (res.status === 401 && path.startsWith('/v1/')) loggedOut();
    throw new ApiError(res.status, data.error, data.message);
  }
  return data;
}

export const get = (path) => call('GET', path);
export const post = (path, body) => call('POST', path, body === undefined ? {} : body);
export const del = (path) => call('DELETE', path);

export async function restore() {
  const s = await call('GET', '/ui/session');
  csrf = s.csrf || '';
  return Boolean(csrf);
}

export async function login(token) {
  const s = await call('POST', '/ui/login', { token });
  csrf = s.csrf;
}

export async function logout() {
  try {
    await call('POST', '/ui/logout', {});
  } finally {
    loggedOut();
  }
}

export const enc = encodeURIComponent;
