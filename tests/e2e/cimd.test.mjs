// Client ID Metadata Documents end to end: an agent identified by the URL of its metadata
// document, served by a local http server on 127.0.0.1, goes through login, consent, token and
// refresh; SSRF attempts are answered with an error page and never fetched. Plain http on
// loopback is accepted only because this instance runs with CIMD_ALLOW_INSECURE_LOOPBACK=on
// (refused by configuration outside local development); a second instance without the flag
// refuses the same URL. No test sends a request to a non-loopback address: gatehouse refuses
// those before fetching, which the request counter of the test server and the error pages show.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { after, before, describe, test } from 'node:test';
import { startGatehouse } from './support/gatehouse.mjs';
import { REDIRECT, authorizeAsPerson, authorizeUrl, Browser, DEMO, pkce, tokenRequest } from './support/oauth.mjs';

let gh;
let strict;
let denied;
let off;
let docs;
let docsUrl;
const hits = [];
const routes = new Map();

before(async () => {
  docs = createServer((req, res) => {
    hits.push(req.url);
    const route = routes.get(req.url);
    // Never answers: gatehouse's fetch must time out on its own.
    if (route?.hang) return;
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(route.status ?? 200, route.headers ?? { 'content-type': 'application/json' });
    res.end(route.body ?? '');
  });
  await new Promise((resolve) => docs.listen(0, '127.0.0.1', resolve));
  docsUrl = `http://127.0.0.1:${docs.address().port}`;
  [gh, strict, denied, off] = await Promise.all([
    startGatehouse({ vars: { CIMD_ALLOW_INSECURE_LOOPBACK: 'on' } }),
    startGatehouse(),
    startGatehouse({ vars: { CIMD_ALLOW_INSECURE_LOOPBACK: 'on', CIMD_DENIED_HOSTS: '127.0.0.1' } }),
    startGatehouse({ vars: { CIMD: 'off' } }),
  ]);
});
after(async () => {
  await Promise.all([gh?.stop(), strict?.stop(), denied?.stop(), off?.stop()]);
  docs?.closeAllConnections();
  docs?.close();
});

function serveDocument(path, overrides = {}) {
  const clientId = `${docsUrl}${path}`;
  routes.set(path, {
    body: JSON.stringify({ client_id: clientId, client_name: 'Doc Agent', redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'], ...overrides }),
    headers: { 'content-type': 'application/json', 'cache-control': 'max-age=600' },
  });
  return { client_id: clientId };
}

/** The error page gatehouse shows a person for an authorization request by `clientId`. */
async function errorPage(base, clientId) {
  const browser = new Browser(base);
  const res = await browser.fetch(authorizeUrl(base, { client_id: clientId }, { challenge: pkce().challenge }));
  assert.equal(res.headers.get('location'), null, 'an error about the client is never redirected');
  return { status: res.status, html: await res.text() };
}

describe('an agent identified by its metadata document', () => {
  test('discovery advertises client id metadata documents with the none auth method', async () => {
    const metadata = await (await fetch(`${gh.url}/.well-known/oauth-authorization-server`)).json();
    assert.equal(metadata.client_id_metadata_document_supported, true);
    assert.ok(metadata.token_endpoint_auth_methods_supported.includes('none'));
  });

  test('goes through login, consent, token and refresh without registering', async () => {
    const client = serveDocument('/agent/client.json');
    const { verifier, challenge } = pkce();
    const browser = new Browser(gh.url);
    const login = await browser.fetch(authorizeUrl(gh.url, client, { challenge }));
    const loggedIn = await browser.submit(await login.text(), { email: DEMO.email, password: DEMO.password });
    const consent = await (await browser.fetch(loggedIn.headers.get('location'))).text();
    assert.match(consent, /Doc Agent/);
    assert.match(consent, /client identified by <strong>https:\/\/127\.0\.0\.1\/…<\/strong>/);
    const approved = await browser.submit(consent, { decision: 'approve' });
    const location = new URL(approved.headers.get('location'));
    const exchanged = await tokenRequest(gh.url, {
      grant_type: 'authorization_code',
      code: location.searchParams.get('code'),
      redirect_uri: REDIRECT,
      code_verifier: verifier,
      client_id: client.client_id,
    });
    assert.equal(exchanged.status, 200, await exchanged.clone().text());
    const tokens = await exchanged.json();
    const refreshed = await tokenRequest(gh.url, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
      client_id: client.client_id,
    });
    assert.equal(refreshed.status, 200, await refreshed.clone().text());
    // Authorize, consent, token and refresh: one fetch, then the cache.
    assert.equal(hits.filter((h) => h === '/agent/client.json').length, 1);
  });

  test('a document naming another client id is refused with an error page', async () => {
    const client = serveDocument('/mismatch.json', { client_id: 'https://other.example/client.json' });
    const { status, html } = await errorPage(gh.url, client.client_id);
    assert.equal(status, 400);
    assert.match(html, /names another client_id/);
  });

  test('a redirect URI that is not in the document is refused', async () => {
    const client = serveDocument('/narrow.json');
    const location = await authorizeAsPerson(gh.url, client, { challenge: pkce().challenge, redirect: 'http://127.0.0.1:10/elsewhere' })
      .catch((e) => e);
    assert.match(String(location), /no redirect: 400/);
  });
});

describe('documents that cost too much', () => {
  test('a server that never answers is given up after the timeout', async () => {
    routes.set('/slow.json', { hang: true });
    const started = Date.now();
    const { status, html } = await errorPage(gh.url, `${docsUrl}/slow.json`);
    assert.equal(status, 400);
    assert.match(html, /could not be fetched/);
    assert.ok(Date.now() - started < 15_000, 'within the fetch timeout, not the platform default');
  });

  test('a document over the size cap is refused', async () => {
    const client = serveDocument('/large.json', { software_id: 'x'.repeat(6 * 1024) });
    const { status, html } = await errorPage(gh.url, client.client_id);
    assert.equal(status, 400);
    assert.match(html, /not valid client metadata/);
  });
});

describe('server-side request forgery', () => {
  test('client ids pointing at internal addresses are refused and never fetched', async () => {
    for (const id of [
      'https://169.254.169.254/latest/meta-data',
      'https://10.0.0.1/client.json',
      'https://192.168.0.1/client.json',
      'https://localhost/client.json',
      'https://[::1]/client.json',
      'http://10.0.0.1/client.json',
    ]) {
      const { status, html } = await errorPage(gh.url, id);
      assert.equal(status, 400, id);
      assert.match(html, /local or private address|canonical https URL/, id);
    }
  });

  test('a redirect from the document server (to an internal address) is never followed', async () => {
    routes.set('/hop.json', { status: 302, headers: { location: 'http://169.254.169.254/latest/meta-data' } });
    routes.set('/hop-https.json', { status: 302, headers: { location: 'https://10.0.0.1/client.json' } });
    for (const path of ['/hop.json', '/hop-https.json']) {
      const before = hits.length;
      const { status, html } = await errorPage(gh.url, `${docsUrl}${path}`);
      assert.equal(status, 400);
      assert.match(html, /could not be fetched/);
      assert.deepEqual(hits.slice(before), [path], 'only the redirecting URL was requested');
    }
  });

  test('without CIMD_ALLOW_INSECURE_LOOPBACK the loopback test server is refused and not fetched', async () => {
    const client = serveDocument('/strict.json');
    const { status, html } = await errorPage(strict.url, client.client_id);
    assert.equal(status, 400);
    assert.match(html, /canonical https URL/);
    assert.equal(hits.filter((h) => h === '/strict.json').length, 0);
  });
});

describe('private_key_jwt for an agent that publishes its keys', () => {
  const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

  async function keyedAgent() {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    routes.set('/keyed/jwks.json', {
      body: JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', use: 'sig' }] }),
    });
    const client = serveDocument('/keyed/client.json', {
      token_endpoint_auth_method: 'private_key_jwt',
      jwks_uri: `${docsUrl}/keyed/jwks.json`,
    });
    const sign = ({ aud = `${gh.url}/oauth/token`, jti = randomUUID(), key = privateKey } = {}) =>
      new SignJWT({ jti })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(client.client_id)
        .setSubject(client.client_id)
        .setAudience(aud)
        .setIssuedAt()
        .setExpirationTime('2m')
        .sign(key);
    return { client, sign };
  }

  async function exchange(client, assertion) {
    const { verifier, challenge } = pkce();
    const location = await authorizeAsPerson(gh.url, client, { challenge });
    return tokenRequest(gh.url, {
      grant_type: 'authorization_code',
      code: location.searchParams.get('code'),
      redirect_uri: REDIRECT,
      code_verifier: verifier,
      ...(assertion ? { client_assertion_type: ASSERTION_TYPE, client_assertion: assertion } : { client_id: client.client_id }),
    });
  }

  test('a signed assertion authenticates; its replay, a wrong audience or a wrong key do not', async () => {
    const { client, sign } = await keyedAgent();
    const assertion = await sign();
    const ok = await exchange(client, assertion);
    assert.equal(ok.status, 200, await ok.clone().text());
    const replayed = await exchange(client, assertion);
    assert.equal(replayed.status, 401);
    assert.equal((await replayed.json()).error, 'invalid_client');
    const wrongAudience = await exchange(client, await sign({ aud: 'https://elsewhere.example/oauth/token' }));
    assert.equal(wrongAudience.status, 401);
    const { privateKey: otherKey } = await generateKeyPair('ES256');
    const wrongKey = await exchange(client, await sign({ key: otherKey }));
    assert.equal(wrongKey.status, 401);
    const asPublicClient = await exchange(client, null);
    assert.equal(asPublicClient.status, 401, 'a keyed client cannot pass as a public one');
  });
});

describe('operator controls', () => {
  test('CIMD_DENIED_HOSTS refuses a host before fetching', async () => {
    const client = serveDocument('/denied.json');
    const { status, html } = await errorPage(denied.url, client.client_id);
    assert.equal(status, 400);
    assert.match(html, /from this host are not accepted here/);
    assert.equal(hits.filter((h) => h === '/denied.json').length, 0);
  });

  test('CIMD=off stops advertising and accepting documents', async () => {
    const metadata = await (await fetch(`${off.url}/.well-known/oauth-authorization-server`)).json();
    assert.equal(metadata.client_id_metadata_document_supported, false);
    const client = serveDocument('/off.json');
    const { status, html } = await errorPage(off.url, client.client_id);
    assert.equal(status, 400);
    assert.match(html, /not accepted here; register the client/);
    assert.equal(hits.filter((h) => h === '/off.json').length, 0);
  });
});
