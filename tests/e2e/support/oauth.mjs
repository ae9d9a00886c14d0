// A minimal OAuth client and browser for the end-to-end suites: registers, drives the login and
// consent pages through HTTP form posts with a cookie jar, and calls the token endpoints.
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';

export const DEMO = { email: 'alice@example.com', password: 'gatehouse-demo' };
export const REDIRECT = 'http://127.0.0.1:9/callback';

export const b64url = (bytes) => Buffer.from(bytes).toString('base64url');

export function pkce() {
  const verifier = b64url(randomBytes(32));
  return { verifier, challenge: b64url(createHash('sha256').update(verifier).digest()) };
}

/**
 * fetch() over node:http, as a browser would send it: node's own fetch adds
 * `Sec-Fetch-Mode: cors` to every request and refuses hop-by-hop headers, which a browser
 * navigation or a misbehaving client would not. Never follows redirects.
 */
export function rawFetch(url, init = {}) {
  return send(url, init).catch((error) => {
    // A kept-alive connection the server closes as the request goes out ends without a byte of
    // an answer ("socket hang up"); a browser sends such a request again on a new connection,
    // and Node's documentation of `request.reusedSocket` does the same. Seen once in a full
    // run: the first request of a test, on a connection idle since the test before.
    if (!error.reusedSocket || error.code !== 'ECONNRESET') throw error;
    return send(url, init, false);
  });
}

function send(url, { method = 'GET', headers = {}, body } = {}, agent = undefined) {
  const target = new URL(url);
  const flat = headers instanceof Headers ? Object.fromEntries(headers) : headers;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, method, headers: flat, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const out = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          for (const v of [].concat(value)) out.append(name, v);
        }
        const nullBody = [101, 204, 205, 304].includes(res.statusCode);
        resolve(new Response(nullBody ? null : Buffer.concat(chunks), { status: res.statusCode, headers: out }));
      });
    });
    req.on('error', (error) => reject(Object.assign(error, { reusedSocket: req.reusedSocket })));
    req.end(body instanceof URLSearchParams ? body.toString() : body);
  });
}

/** A browser's cookie jar and redirect-free fetch. */
export class Browser {
  constructor(base) {
    this.base = base;
    this.cookies = new Map();
  }

  async fetch(path, init = {}) {
    const url = new URL(path, this.base);
    const headers = new Headers(init.headers);
    if (url.origin === new URL(this.base).origin && this.cookies.size) {
      headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    }
    const res = await rawFetch(url, { ...init, headers });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const [name, value] = pair.split('=');
      this.cookies.set(name.trim(), value);
    }
    return res;
  }

  /** Submits a form with the page's hidden fields plus `fields`. */
  async submit(html, fields) {
    const action = html.match(/<form method="post" action="([^"]+)"/)[1];
    const body = new URLSearchParams(hiddenFields(html));
    for (const [k, v] of Object.entries(fields)) body.set(k, v);
    return this.fetch(action, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  }
}

/** The hidden inputs of a page, unescaped. */
export function hiddenFields(html) {
  const fields = {};
  for (const [, name, value] of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields[name] = value.replaceAll('&quot;', '"').replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&#x27;', "'").replaceAll('&amp;', '&');
  }
  return fields;
}

export async function register(base, metadata = {}) {
  const res = await fetch(`${base}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'e2e agent',
      redirect_uris: [REDIRECT],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      ...metadata,
    }),
  });
  if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${await res.text()}`);
  return res.json();
}

export function authorizeUrl(base, client, { challenge, state = 'st4te', scope, resource = base, redirect = REDIRECT } = {}) {
  // Under the app's path prefix when `base` has one (`http://host/wiki`).
  const url = new URL(`${String(base).replace(/\/$/, '')}/oauth/authorize`);
  const params = { response_type: 'code', client_id: client.client_id, redirect_uri: redirect, code_challenge: challenge, code_challenge_method: 'S256', state, resource };
  if (scope) params.scope = scope;
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  return url;
}

/**
 * Plays the person at an authorization URL built by any client: logs in with the demo account
 * (or `email`/`password`), answers the consent page with `decision` (default approve), and
 * returns the URL gatehouse finally redirects to.
 */
export async function personAt(base, url, options = {}, browser = new Browser(base)) {
  let res = await browser.fetch(url);
  if (res.status === 200) {
    let html = await res.text();
    if (html.includes('name="password"')) {
      res = await browser.submit(html, { email: options.email ?? DEMO.email, password: options.password ?? DEMO.password });
      if (res.status !== 303) throw new Error(`login failed: ${res.status} ${await res.text()}`);
      const back = res.headers.get('location');
      // A login from the app itself returns to the app; only an authorization continues here.
      if (!new URL(back, base).pathname.endsWith('/oauth/authorize')) return new URL(back, base);
      res = await browser.fetch(back);
      html = res.status === 200 ? await res.text() : '';
    }
    if (html.includes('value="approve"')) res = await browser.submit(html, { decision: options.decision ?? 'approve' });
  }
  const location = res.headers.get('location');
  if (!location) throw new Error(`no redirect: ${res.status} ${await res.text()}`);
  return new URL(location);
}

/** Runs authorize → login → consent for `client` as a person; returns the final redirect's URL. */
export function authorizeAsPerson(base, client, options = {}, browser = new Browser(base)) {
  return personAt(base, authorizeUrl(base, client, options), options, browser);
}

export async function tokenRequest(base, params, { basic } = {}) {
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  if (basic) headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(basic.id)}:${encodeURIComponent(basic.secret)}`).toString('base64')}`;
  return fetch(`${base}/oauth/token`, { method: 'POST', headers, body: new URLSearchParams(params) });
}

/**
 * Registers a public client and runs the whole flow (in `browser`, whose session it keeps, when
 * given); returns the client and its tokens.
 */
/**
 * The form of `client`'s exchange of `code` with PKCE `verifier` at the token endpoint
 * (RFC 6749 §4.1.3, RFC 7636 §4.5), redirected to `REDIRECT`; `extra` adds to it (a secret).
 */
export function codeExchange(client, code, verifier, extra = {}) {
  return { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: client.client_id, ...extra };
}

export async function tokensFor(base, options = {}, browser = new Browser(base)) {
  const client = await register(base, options.metadata);
  const { verifier, challenge } = pkce();
  const location = await authorizeAsPerson(base, client, { ...options, challenge }, browser);
  const res = await tokenRequest(base, codeExchange(client, location.searchParams.get('code'), verifier));
  if (res.status !== 200) throw new Error(`token exchange failed: ${res.status} ${await res.text()}`);
  return { client, tokens: await res.json() };
}

export const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'));
