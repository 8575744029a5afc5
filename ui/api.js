// The JSON API of the server (docs/api.md): every call the pages make.
// A token (`onceflow ui --token-file`) is given once as ?token=... in the address; it is kept
// for the tab (sessionStorage) and sent as `Authorization: Bearer`.

const params = new URLSearchParams(window.location.search);
if (params.has('token')) {
  sessionStorage.setItem('onceflow-token', params.get('token'));
  params.delete('token');
  const rest = params.toString();
  history.replaceState(null, '', window.location.pathname + (rest ? `?${rest}` : ''));
}

export class ApiError extends Error {
  constructor(path, status, message) {
    super(`${path}: ${status ? `HTTP ${status}: ` : ''}${message}`);
    this.status = status;
  }
}

// GET /api/v1/<path> -> parsed JSON, or throws ApiError with the server's own message.
export async function get(path) {
  const headers = {};
  const token = sessionStorage.getItem('onceflow-token');
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(`/api/v1/${path}`, { headers, cache: 'no-store' });
  } catch (e) {
    throw new ApiError(path, 0, `the server does not answer (${e.message})`);
  }
  const text = await response.text();
  if (!response.ok) {
    let message = text;
    try { message = JSON.parse(text).error ?? text; } catch { /* plain text error */ }
    throw new ApiError(path, response.status, message.trim());
  }
  return JSON.parse(text);
}

const p = (name) => `pipelines/${encodeURIComponent(name)}`;
export const pipelines = () => get('pipelines');
export const pipeline = (name) => get(p(name));
export const batches = (name, limit, before) =>
  get(`${p(name)}/batches?limit=${limit}${before != null ? `&before=${before}` : ''}`);
export const batch = (name, id) => get(`${p(name)}/batches/${id}`);
export const timeline = (name, limit) => get(`${p(name)}/timeline?limit=${limit}`);
export const audit = (name) => get(`${p(name)}/audit`);
export const deadLetters = (name, limit) => get(`${p(name)}/dead_letters?limit=${limit}`);
export const state = (name) => get(`${p(name)}/state`);
