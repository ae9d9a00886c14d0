// gatehouse-fetch against an authorization server that is not gatehouse: panva's oidc-provider
// (dynamic registration, PKCE, resource indicators, the device flow, revocation), started here
// on 127.0.0.1, in front of a small resource server of this suite's own that answers 401/403
// with Bearer challenges and verifies the JWT access tokens with jose. The person's steps (login,
// consent, entering the user code) are played through oidc-provider's development
// interactions by HTTP. Nothing here is gatehouse: it proves the client is not tuned to it.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import Provider, { errors } from 'oidc-provider';
import { freePort } from './support/gatehouse.mjs';
import { buildFetchCli, freshHome, runFetch } from './support/fetch_cli.mjs';

let bin;
let issuer;
let rsUrl;
let otherUrl;
const servers = [];
const collected = []; // requests the foreign origin received
const READ = 'notes:read';
const WRITE = 'notes:write';
const PRE_REGISTERED = 'pre-registered-cli';
const SHORT_DEVICE = 'short-lived-device-codes';

const listen = (handler, port) =>
  new Promise((resolve) => {
    const server = http.createServer(handler);
    servers.push(server);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });

const json = (res, status, body, headers = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

async function startProvider(port) {
  issuer = `http://127.0.0.1:${port}`;
  const jwk = (type, options) => ({ ...generateKeyPairSync(type, options).privateKey.export({ format: 'jwk' }) });
  const provider = new Provider(issuer, {
    // A client registered by the operator, for --client-id.
    clients: [{
      client_id: PRE_REGISTERED,
      token_endpoint_auth_method: 'none',
      application_type: 'native',
      redirect_uris: ['http://127.0.0.1/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    }, {
      // Its device codes live 2 seconds: for the expiry test.
      client_id: SHORT_DEVICE,
      token_endpoint_auth_method: 'none',
      application_type: 'native',
      redirect_uris: [],
      grant_types: ['urn:ietf:params:oauth:grant-type:device_code'],
      response_types: [],
    }],
    ttl: { DeviceCode: (_ctx, _token, client) => (client.clientId === SHORT_DEVICE ? 2 : 600) },
    jwks: { keys: [{ ...jwk('rsa', { modulusLength: 2048 }), alg: 'RS256', use: 'sig' }, { ...jwk('ec', { namedCurve: 'P-256' }), alg: 'ES256', use: 'sig' }] },
    cookies: { keys: ['oidc-provider-e2e-cookie-key'] },
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    features: {
      devInteractions: { enabled: true },
      registration: { enabled: true },
      revocation: { enabled: true },
      deviceFlow: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => {
          if (indicator !== rsUrl) throw new errors.InvalidTarget();
          return { scope: `${READ} ${WRITE}`, audience: rsUrl, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } };
        },
      },
    },
  });
  await listen(provider.callback(), port);
}

/** The resource server: RFC 9728 metadata, Bearer challenges, JWT verification with jose. */
async function startResourceServer(port) {
  rsUrl = `http://127.0.0.1:${port}`;
  const jwks = createRemoteJWKSet(new URL(`${issuer}/jwks`));
  const prm = `${rsUrl}/.well-known/oauth-protected-resource`;
  await listen(async (req, res) => {
    const url = new URL(req.url, rsUrl);
    if (url.pathname === '/.well-known/oauth-protected-resource') {
      return json(res, 200, { resource: rsUrl, authorization_servers: [issuer], scopes_supported: [READ, WRITE] });
    }
    if (url.pathname === '/moved') return json(res, 302, {}, { location: '/notes' });
    if (url.pathname === '/away') return json(res, 302, {}, { location: `${otherUrl}/collect` });
    const needed = req.method === 'GET' ? READ : WRITE;
    const challenge = (extra = '') => `Bearer resource_metadata="${prm}", scope="${needed}"${extra}`;
    const [scheme, token] = (req.headers.authorization ?? '').split(' ');
    if (scheme !== 'Bearer' || !token) return json(res, 401, { error: 'no token' }, { 'www-authenticate': challenge() });
    let claims;
    try {
      ({ payload: claims } = await jwtVerify(token, jwks, { issuer, audience: rsUrl, typ: 'at+jwt' }));
    } catch (e) {
      return json(res, 401, { error: e.code }, { 'www-authenticate': challenge(', error="invalid_token"') });
    }
    if (!claims.scope.split(' ').includes(needed)) {
      return json(res, 403, { error: 'insufficient_scope' }, { 'www-authenticate': `Bearer error="insufficient_scope", scope="${needed}", resource_metadata="${prm}"` });
    }
    let body = '';
    for await (const chunk of req) body += chunk;
    json(res, 200, { sub: claims.sub, scope: claims.scope, client_id: claims.client_id, method: req.method, body });
  }, port);
}

/** Another origin: records what reaches it, and serves metadata with a lying issuer. */
async function startOther(port) {
  otherUrl = `http://127.0.0.1:${port}`;
  await listen((req, res) => {
    if (req.url === '/.well-known/oauth-protected-resource/lying') {
      return json(res, 200, { resource: `${otherUrl}/lying`, authorization_servers: [otherUrl] });
    }
    if (req.url === '/.well-known/oauth-authorization-server') {
      return json(res, 200, { issuer: issuer, authorization_endpoint: `${issuer}/auth`, token_endpoint: `${issuer}/token`, code_challenge_methods_supported: ['S256'] });
    }
    if (req.url === '/lying') return json(res, 401, {}, { 'www-authenticate': 'Bearer' });
    collected.push({ url: req.url, headers: req.headers });
    json(res, 200, { collected: true });
  }, port);
}

before(async () => {
  const [p1, p2, p3] = [await freePort(), await freePort(), await freePort()];
  await startProvider(p1);
  await Promise.all([startResourceServer(p2), startOther(p3)]);
  bin = await buildFetchCli();
});
after(() => {
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
});

/** A cookie-keeping browser for oidc-provider's pages. */
class Browser {
  cookies = new Map();
  async go(url, init = {}) {
    const headers = new Headers(init.headers);
    if (new URL(url).origin === issuer && this.cookies.size) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const i = pair.indexOf('=');
      this.cookies.set(pair.slice(0, i).trim(), pair.slice(i + 1));
    }
    return res;
  }
  post(url, fields) {
    return this.go(url, { method: 'POST', body: new URLSearchParams(fields), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  }
}

/**
 * Plays the person from `start` until the provider sends the browser off its origin (the
 * client's redirect URI, which is then followed) or shows a final page. `decision`: 'approve',
 * or 'deny' (abort at the consent step, or at the device confirmation); `userCode` for the
 * device flow.
 */
async function person(start, { decision = 'approve', userCode } = {}) {
  const browser = new Browser();
  let res = await browser.go(start);
  for (let steps = 0; steps < 20; steps++) {
    if (res.status >= 300 && res.status < 400) {
      const next = new URL(res.headers.get('location'), issuer);
      if (next.origin !== issuer) {
        await fetch(next); // the browser lands on the loopback listener
        return next;
      }
      res = await browser.go(next.href);
      continue;
    }
    const html = await res.text();
    const action = (id) => new URL(html.match(new RegExp(`<form[^>]*id="${id}"[^>]*action="([^"]+)"`))?.[1] ?? html.match(/action="([^"]+)"/)[1], issuer).href;
    const xsrf = html.match(/name="xsrf" value="([^"]+)"/)?.[1];
    if (html.includes('op.deviceInputForm')) {
      res = await browser.post(action('op.deviceInputForm'), { xsrf, user_code: userCode });
    } else if (html.includes('op.deviceConfirmForm')) {
      const fields = { xsrf, user_code: html.match(/name="user_code" value="([^"]+)"/)[1] };
      if (decision === 'deny') return (await browser.post(action('op.deviceConfirmForm'), { ...fields, abort: 'yes' })).text();
      res = await browser.post(action('op.deviceConfirmForm'), { ...fields, confirm: 'yes' });
    } else if (html.includes('name="prompt" value="login"')) {
      res = await browser.post(new URL(html.match(/action="([^"]+)"/)[1], issuer).href, { prompt: 'login', login: 'alice', password: 'any' });
    } else if (html.includes('name="prompt" value="consent"')) {
      const submit = new URL(html.match(/action="([^"]+)"/)[1], issuer).href;
      res = decision === 'deny' ? await browser.go(`${submit}/abort`) : await browser.post(submit, { prompt: 'consent' });
    } else {
      return html; // a final page (device flow: success or error)
    }
  }
  throw new Error('the person got lost');
}

const store = async (home) => JSON.parse(await readFile(join(home, 'tokens.json'), 'utf8'));
const fetchCli = (args, options) => runFetch(bin, args, options);

describe('authorization code with PKCE and a loopback redirect', () => {
  let home;
  before(async () => (home = await freshHome()));

  test('registers, authorizes with a resource indicator, and reads the notes as the person', async () => {
    const out = await fetchCli(['--yes', '--no-browser', `${rsUrl}/notes`], { home, onAuthorizeUrl: (u) => person(u.href) });
    assert.equal(out.code, 0, out.stderr);
    const body = JSON.parse(out.stdout);
    assert.equal(body.sub, 'alice');
    assert.equal(body.scope, READ);
    const params = out.authorizeUrl.searchParams;
    assert.equal(`${out.authorizeUrl.origin}${out.authorizeUrl.pathname}`, `${issuer}/auth`);
    assert.equal(params.get('resource'), rsUrl);
    assert.equal(params.get('code_challenge_method'), 'S256');
    const { tokens, clients } = await store(home);
    assert.equal(tokens[0].issuer, issuer);
    assert.equal(tokens[0].resource, rsUrl);
    assert.ok(tokens[0].refresh_token);
    assert.equal(clients[0].client_id, body.client_id);
  });

  test('reuses the token, then refreshes it once expired', async () => {
    const file = join(home, 'notes.json');
    const reuse = await fetchCli(['-o', file, `${rsUrl}/notes`], { home });
    assert.equal(reuse.code, 0, reuse.stderr);
    assert.equal(reuse.stdout, '');
    assert.equal(JSON.parse(await readFile(file, 'utf8')).sub, 'alice');
    const held = await store(home);
    held.tokens[0].expires_at = 1;
    await writeFile(join(home, 'tokens.json'), JSON.stringify(held));
    const out = await fetchCli([`${rsUrl}/notes`], { home });
    assert.equal(out.code, 0, out.stderr);
    assert.notEqual((await store(home)).tokens[0].access_token, held.tokens[0].access_token);
  });

  test('a rejected token is refreshed on the 401 without a new login', async () => {
    const held = await store(home);
    held.tokens[0].access_token = 'not-a-jwt';
    await writeFile(join(home, 'tokens.json'), JSON.stringify(held));
    const out = await fetchCli([`${rsUrl}/notes`], { home });
    assert.equal(out.code, 0, out.stderr);
    assert.notEqual((await store(home)).tokens[0].access_token, 'not-a-jwt');
  });

  test('insufficient_scope steps up to the union of scopes', async () => {
    let asked;
    const out = await fetchCli(['--yes', '--no-browser', '--json', '{"note":"hi"}', `${rsUrl}/notes`], {
      home,
      onAuthorizeUrl: (u) => {
        asked = u.searchParams.get('scope');
        return person(u.href);
      },
    });
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(asked.split(' ').sort(), [READ, WRITE]);
    const body = JSON.parse(out.stdout);
    assert.equal(body.method, 'POST');
    assert.equal(body.body, '{"note":"hi"}');
    assert.deepEqual(body.scope.split(' ').sort(), [READ, WRITE]);
  });

  test('redirects: the token follows within the origin, never to another one', async () => {
    const same = await fetchCli(['-L', `${rsUrl}/moved`], { home });
    assert.equal(same.code, 0, same.stderr);
    assert.equal(JSON.parse(same.stdout).sub, 'alice');
    const away = await fetchCli(['-L', '-H', 'Cookie: session=secret', `${rsUrl}/away`], { home });
    assert.equal(away.code, 0, away.stderr);
    assert.equal(collected.length, 1);
    assert.equal(collected[0].headers.authorization, undefined);
    assert.equal(collected[0].headers.cookie, undefined);
  });

  test('logout revokes the refresh token at the provider and forgets the tokens', async () => {
    const [held] = (await store(home)).tokens;
    const out = await fetchCli(['logout', `${rsUrl}/notes`], { home });
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stderr, /revoked at/);
    assert.equal((await store(home)).tokens.length, 0);
    const refresh = await fetch(`${issuer}/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: held.refresh_token, client_id: held.client_id }),
    });
    assert.equal((await refresh.json()).error, 'invalid_grant');
  });

  test('the person aborting at consent ends the run with the authorization exit code', async () => {
    const out = await fetchCli(['--yes', '--no-browser', `${rsUrl}/notes`], { home: await freshHome(), onAuthorizeUrl: (u) => person(u.href, { decision: 'deny' }) });
    assert.equal(out.code, 5, out.stderr);
    assert.match(out.stderr, /access_denied/);
  });

  test('--client-id uses a pre-registered client and registers nothing', async () => {
    const home2 = await freshHome();
    const out = await fetchCli(['--yes', '--no-browser', '--client-id', PRE_REGISTERED, `${rsUrl}/notes`], { home: home2, onAuthorizeUrl: (u) => person(u.href) });
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.authorizeUrl.searchParams.get('client_id'), PRE_REGISTERED);
    assert.equal(JSON.parse(out.stdout).client_id, PRE_REGISTERED);
    const saved = await store(home2);
    assert.deepEqual(saved.clients, []);
    assert.equal(saved.tokens[0].client_id, PRE_REGISTERED);
  });

  test('metadata whose issuer differs from the one named is refused', async () => {
    const out = await fetchCli(['--yes', '--no-browser', `${otherUrl}/lying`], { home: await freshHome() });
    assert.equal(out.code, 5, out.stderr);
    assert.match(out.stderr, /names issuer/);
  });
});

describe('device authorization grant (RFC 8628)', () => {
  test('--device: the person enters the code elsewhere; polling ends with a token', async () => {
    const home = await freshHome();
    const out = await fetchCli(['--yes', '--device', `${rsUrl}/notes`], {
      home,
      onDeviceCode: async ({ uri, code }) => assert.match(await person(uri, { userCode: code }), /Sign-in Success|success/i),
    });
    assert.equal(out.code, 0, out.stderr);
    assert.equal(JSON.parse(out.stdout).sub, 'alice');
    assert.equal(out.authorizeUrl, undefined);
  });

  test('without a display or browser the device grant is chosen by itself', async () => {
    const out = await fetchCli(['--yes', `${rsUrl}/notes`], {
      home: await freshHome(),
      onDeviceCode: ({ uri, code }) => person(uri, { userCode: code }),
    });
    assert.equal(out.code, 0, out.stderr);
    assert.ok(out.device);
  });

  test('access_denied ends polling with the authorization exit code', async () => {
    const out = await fetchCli(['--yes', '--device', `${rsUrl}/notes`], {
      home: await freshHome(),
      onDeviceCode: ({ uri, code }) => person(uri, { userCode: code, decision: 'deny' }),
    });
    assert.equal(out.code, 5, out.stderr);
    assert.match(out.stderr, /denied/);
  });

  test('a device code nobody enters expires, and polling stops', async () => {
    const out = await fetchCli(['--yes', '--device', '--client-id', SHORT_DEVICE, `${rsUrl}/notes`], {
      home: await freshHome(),
      onDeviceCode: async () => {}, // the person never comes
    });
    assert.equal(out.code, 5, out.stderr);
    assert.match(out.stderr, /expired/);
  });
});
