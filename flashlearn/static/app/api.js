// REST client and session tokens.
//
// The access token lives in memory only (a script-readable store would hand it to any injected script
// for its whole life). The refresh token is kept in sessionStorage so a reload of this tab stays signed
// in; it dies with the tab. Refresh tokens rotate: each refresh returns a new one and the old one is
// then rejected, so refreshes are single-flight.

const configured = document.querySelector('meta[name="flashlearn-api"]')?.content;
export const API_BASE = (configured || location.origin).replace(/\/$/, '');
export const WS_BASE = API_BASE.replace(/^http/, 'ws');
const REFRESH_KEY = 'flashlearn.refresh';

export class ApiError extends Error {
  constructor(status, code, message, fields = null, retryAfter = null) {
    super(message);
    Object.assign(this, { status, code, fields, retryAfter });
  }
  // The API's error shape {"error": {code, message, fields}} as one line a person can read.
  describe() {
    const fields = Object.entries(this.fields || {}).map(([name, problems]) => `${name}: ${[].concat(problems).join(' ')}`);
    const wait = this.retryAfter ? ` Try again in ${this.retryAfter} s.` : '';
    return `${this.message}${fields.length ? ` (${fields.join('; ')})` : ''}${wait}`;
  }
}

let access = null;
let refreshToken = sessionStorage.getItem(REFRESH_KEY);
let refreshTimer = null;
let refreshing = null;
export const auth = { user: null, onChange: () => {} };

export function claims(jwt) {
  const part = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
  return JSON.parse(atob(part));
}

export const accessToken = () => access;

function setTokens({ access: newAccess, refresh }) {
  access = newAccess;
  if (refresh) {
    refreshToken = refresh;
    sessionStorage.setItem(REFRESH_KEY, refresh);
  }
  // Schedule from the token's own lifetime (exp - iat), not from `exp` against our clock: a client
  // clock that is minutes off would otherwise refresh too late (every socket closes 4401 at `exp`).
  const { exp, iat } = claims(access);
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => refresh().catch(() => {}), Math.max(5, (exp - iat) * 0.8) * 1000);
}

function clearTokens() {
  access = refreshToken = null;
  sessionStorage.removeItem(REFRESH_KEY);
  clearTimeout(refreshTimer);
  auth.user = null;
  auth.onChange();
}

export function refresh() {
  if (!refreshing) {
    const token = refreshToken;
    refreshing = call('POST', '/api/v1/auth/refresh', { refresh: token }, { authed: false })
      .then((pair) => { setTokens(pair); return pair.access; })
      .catch((error) => {
        if (error.status === 401 || error.status === 400) clearTokens(); // revoked or expired: sign in again
        throw error;
      })
      .finally(() => { refreshing = null; });
  }
  return refreshing;
}

async function call(method, path, body, { authed = true } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (authed && access) headers.Authorization = `Bearer ${access}`;
  let response;
  try {
    response = await fetch(API_BASE + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    // A browser reports a CORS refusal exactly like a network failure: no status, no body.
    throw new ApiError(0, 'network_error', 'Could not reach the server (offline, or this page\'s origin is not allowed by the API).');
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = data?.error || {};
    throw new ApiError(response.status, error.code || `http_${response.status}`, error.message || `HTTP ${response.status}`,
      error.fields, response.headers.get('Retry-After'));
  }
  return data;
}

// An authenticated call; a 401 (token expired while the tab slept) refreshes once and retries.
export async function api(method, path, body) {
  try {
    return await call(method, path, body);
  } catch (error) {
    if (error.status !== 401 || !refreshToken) throw error;
    await refresh();
    return call(method, path, body);
  }
}

function signedIn(data) {
  setTokens(data);
  auth.user = { id: data.user.id, display_name: data.user.display_name || data.user.email };
  auth.onChange();
}

export async function signIn(email, password) {
  signedIn(await call('POST', '/api/v1/auth/login', { email, password }, { authed: false }));
}

export async function signUp(email, password, display_name) {
  signedIn(await call('POST', '/api/v1/auth/signup', { email, password, display_name }, { authed: false }));
}

// After a reload: the refresh token from this tab's storage gives a new access token.
export async function restore() {
  if (!refreshToken) return false;
  await refresh();
  const profile = await api('GET', '/api/v1/auth/profile');
  auth.user = { id: Number(claims(access).user_id), // the claim is a string
    display_name: profile.display_name || profile.email };
  auth.onChange();
  return true;
}

export async function signOut() {
  const token = refreshToken;
  clearTokens();
  if (token) await call('POST', '/api/v1/auth/logout', { refresh: token }, { authed: false }).catch(() => {});
}
