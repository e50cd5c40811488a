// The API client: same-origin calls with the session cookie; every unsafe
// request carries X-Stor-CSRF, which the server requires with the cookie.

export class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
    // Seconds to wait (the Retry-After header of a 429 or 423), or null.
    this.retryAfter = retryAfter;
  }
}

const listeners = new Set();
// onUnauthenticated registers a callback for any 401 (session gone).
export function onUnauthenticated(fn) { listeners.add(fn); }

// url resolves an API path (or a link the API gave out) against the page.
// Links from the API are absolute with the server's public base URL; the UI
// always calls its own origin, so only the path and query are kept.
export function url(u) {
  if (!u) return u;
  try {
    const abs = new URL(u, document.baseURI);
    return abs.pathname + abs.search;
  } catch {
    return u;
  }
}

// A 401 means the session is gone (onUnauthenticated), except where it
// answers a credential the user typed (keep401).
export async function api(path, { method = 'GET', body, query, signal, raw, keep401 } = {}) {
  let target = path.startsWith('/') || path.startsWith('http') ? url(path) : path;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v != null && v !== '') q.set(k, v);
    const s = q.toString();
    if (s) target += (target.includes('?') ? '&' : '?') + s;
  }
  const headers = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') headers['X-Stor-CSRF'] = '1';
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(target, {
    method, headers, signal, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (raw) return res;
  if (res.status === 204) return null;
  let data = null;
  const ct = res.headers.get('Content-Type') || '';
  if (ct.includes('json')) data = await res.json().catch(() => null);
  else data = await res.text().catch(() => null);
  if (!res.ok) {
    const e = data && data.error ? data.error : {};
    const ra = Number.parseInt(res.headers.get('Retry-After') || '', 10);
    const err = new ApiError(res.status, e.code, e.message || (typeof data === 'string' && data.trim()) || res.statusText,
      Number.isFinite(ra) ? ra : null);
    if (res.status === 401 && !keep401 && !path.endsWith('session')) listeners.forEach((fn) => fn(err));
    throw err;
  }
  return data;
}

// Short forms for the routes the UI calls.
export const A = {
  session: () => api('api/v1/session'),
  signIn: (token) => api('api/v1/session', { method: 'POST', body: { token } }),
  signInPassword: (username, password) => api('api/v1/session', { method: 'POST', body: { username, password } }),
  sessions: () => api('api/v1/sessions'),
  changePassword: (current, next) => api('api/v1/account/password', { method: 'PUT', body: { current_password: current, new_password: next }, keep401: true }),
  revokeSession: (id) => api(`api/v1/sessions/${encodeURIComponent(id)}`, { method: 'DELETE' }),
  bulkTag: (ids, add, remove) => api('api/v1/tags', { method: 'POST', body: { ids, add: add || [], remove: remove || [] } }),
  signOut: () => api('api/v1/session', { method: 'DELETE' }),
  assets: (query, signal) => api('api/v1/assets', { query, signal }),
  asset: (id, signal) => api(`api/v1/assets/${encodeURIComponent(id)}`, { signal }),
  tasks: (id, signal) => api(`api/v1/assets/${encodeURIComponent(id)}/tasks`, { signal }),
  events: (id) => api(`api/v1/assets/${encodeURIComponent(id)}/events`),
  derivatives: (id) => api(`api/v1/assets/${encodeURIComponent(id)}/derivatives`),
  metadata: (id) => api(`api/v1/assets/${encodeURIComponent(id)}/metadata`),
  text: (id) => api(`api/v1/assets/${encodeURIComponent(id)}/text`),
  reprocess: (id) => api(`api/v1/assets/${encodeURIComponent(id)}/reprocess`, { method: 'POST', body: {} }),
  retryTask: (id) => api(`api/v1/tasks/${encodeURIComponent(id)}/retry`, { method: 'POST' }),
  allTasks: (query) => api('api/v1/tasks', { query }),
  processing: () => api('api/v1/processing'),
  pause: () => api('api/v1/processing/pause', { method: 'POST' }),
  resume: () => api('api/v1/processing/resume', { method: 'POST' }),
  edit: (id, patch) => api(`api/v1/assets/${encodeURIComponent(id)}`, { method: 'PATCH', body: patch }),
  tag: (id, add, remove) => api(`api/v1/assets/${encodeURIComponent(id)}/tags`, { method: 'POST', body: { add: add || [], remove: remove || [] } }),
  fields: (project) => api(`api/v1/projects/${encodeURIComponent(project)}/fields`),
  putFields: (project, fields) => api(`api/v1/projects/${encodeURIComponent(project)}/fields`, { method: 'PUT', body: { fields } }),
  project: (name) => api(`api/v1/projects/${encodeURIComponent(name)}`),
  putProject: (name, p) => api(`api/v1/projects/${encodeURIComponent(name)}`, { method: 'PUT', body: p }),
  pages: (id) => api(`api/v1/assets/${encodeURIComponent(id)}/pages`),
  collections: (query) => api('api/v1/collections', { query }),
  collection: (id) => api(`api/v1/collections/${encodeURIComponent(id)}`),
  createCollection: (c) => api('api/v1/collections', { method: 'POST', body: c }),
  updateCollection: (id, c) => api(`api/v1/collections/${encodeURIComponent(id)}`, { method: 'PATCH', body: c }),
  deleteCollection: (id) => api(`api/v1/collections/${encodeURIComponent(id)}`, { method: 'DELETE' }),
  members: (id) => api(`api/v1/collections/${encodeURIComponent(id)}/members`),
  setMembers: (id, ids) => api(`api/v1/collections/${encodeURIComponent(id)}/members`, { method: 'PUT', body: { ids } }),
  users: () => api('api/v1/users'),
  createUser: (u) => api('api/v1/users', { method: 'POST', body: u }),
  patchUser: (id, c) => api(`api/v1/users/${encodeURIComponent(id)}`, { method: 'PATCH', body: c }),
  tokens: () => api('api/v1/tokens'),
  createToken: (t) => api('api/v1/tokens', { method: 'POST', body: t }),
  revokeToken: (id) => api(`api/v1/tokens/${encodeURIComponent(id)}`, { method: 'DELETE' }),
  audit: (query) => api('api/v1/audit', { query }),
  signinLocks: () => api('api/v1/signin-locks'),
  unlockSignin: (name) => api(`api/v1/signin-locks/${encodeURIComponent(name)}`, { method: 'DELETE' }),
};

// items accepts both {items: [...]} and a bare array.
export function items(v) {
  if (Array.isArray(v)) return v;
  return (v && v.items) || [];
}
