// Discovery (RFC 8414, OpenID Connect Discovery, RFC 9728) and the JWKS, as unmodified clients
// probe them.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startGatehouse } from './support/gatehouse.mjs';
import { register, tokenRequest } from './support/oauth.mjs';

let gh;
before(async () => (gh = await startGatehouse()));
after(() => gh?.stop());

test('authorization server metadata answers every probe form with the issuer the client used', async () => {
  for (const path of [
    '/.well-known/oauth-authorization-server',
    '/.well-known/openid-configuration',
    '/.well-known/oauth-authorization-server/mcp',
    '/.well-known/openid-configuration/mcp',
    '/mcp/.well-known/openid-configuration',
  ]) {
    const res = await fetch(`${gh.url}${path}`);
    assert.equal(res.status, 200, path);
    assert.equal(res.headers.get('access-control-allow-origin'), '*', path);
    const doc = await res.json();
    assert.equal(doc.issuer, gh.url, path);
    assert.equal(doc.authorization_endpoint, `${gh.url}/oauth/authorize`);
    assert.equal(doc.token_endpoint, `${gh.url}/oauth/token`);
    assert.equal(doc.registration_endpoint, `${gh.url}/oauth/register`);
    assert.equal(doc.revocation_endpoint, `${gh.url}/oauth/revoke`);
    assert.equal(doc.introspection_endpoint, `${gh.url}/oauth/introspect`);
    assert.equal(doc.jwks_uri, `${gh.url}/oauth/jwks.json`);
    assert.deepEqual(doc.code_challenge_methods_supported, ['S256']);
    assert.equal(doc.authorization_response_iss_parameter_supported, true);
    assert.deepEqual(doc.response_types_supported, ['code']);
    assert.deepEqual(doc.token_endpoint_auth_methods_supported.sort(), ['client_secret_basic', 'client_secret_post', 'none']);
    assert.ok(doc.grant_types_supported.includes('refresh_token'));
    assert.deepEqual(doc.scopes_supported.sort(), ['read', 'write']);
  }
});

test('protected resource metadata names the app and its authorization server', async () => {
  const root = await (await fetch(`${gh.url}/.well-known/oauth-protected-resource`)).json();
  assert.equal(root.resource, gh.url);
  assert.deepEqual(root.authorization_servers, [gh.url]);
  assert.deepEqual(root.bearer_methods_supported, ['header']);
  const mcp = await (await fetch(`${gh.url}/.well-known/oauth-protected-resource/mcp`)).json();
  assert.equal(mcp.resource, `${gh.url}/mcp`);
});

test('hostile well-known paths are not served', async () => {
  for (const path of ['/.well-known/oauth-protected-resource/../x', '/.well-known/oauth-protected-resource//x', '/.well-known/oauth-protected-resource/%2e%2e/x']) {
    const res = await fetch(`${gh.url}${path}`);
    assert.equal(res.status, 404, path);
  }
});

test('the JWKS publishes the ES256 signing key, made on first use', async () => {
  const res = await fetch(`${gh.url}/oauth/jwks.json`);
  assert.equal(res.status, 200);
  const jwks = await res.json();
  assert.ok(jwks.keys.length >= 1, 'a key is made on first use');
  for (const key of jwks.keys) {
    assert.equal(key.kty, 'EC');
    assert.equal(key.crv, 'P-256');
    assert.equal(key.alg, 'ES256');
    assert.equal(key.d, undefined, 'a private key was published');
  }
});

test('CORS preflights are answered for browser-based clients', async () => {
  for (const path of ['/oauth/token', '/oauth/register', '/oauth/revoke', '/.well-known/oauth-authorization-server']) {
    const res = await fetch(`${gh.url}${path}`, { method: 'OPTIONS', headers: { origin: 'https://client.example', 'access-control-request-method': 'POST' } });
    assert.equal(res.status, 204, path);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.match(res.headers.get('access-control-allow-headers'), /Authorization/);
  }
});

test('a cross-origin client can read a failed client authentication\'s challenge, which is exposed only where there is one', async () => {
  const cors = (res) => [res.status, res.headers.get('access-control-allow-origin'), res.headers.get('access-control-expose-headers')];
  const origin = { origin: 'https://client.example' };
  const client = await register(gh.url, { token_endpoint_auth_method: 'client_secret_basic' });
  const refused = await tokenRequest(gh.url, { grant_type: 'refresh_token', refresh_token: 'x' }, { basic: { id: client.client_id, secret: 'wrong' } });
  assert.match(refused.headers.get('www-authenticate'), /^Basic/);
  assert.deepEqual(cors(refused), [401, '*', 'WWW-Authenticate']);
  // Without a challenge there is nothing to expose.
  assert.deepEqual(cors(await fetch(`${gh.url}/.well-known/oauth-authorization-server`, { headers: origin })), [200, '*', null]);
  assert.deepEqual(cors(await fetch(`${gh.url}/oauth/jwks.json`, { headers: origin })), [200, '*', null]);
});

test('the local "*" app answers loopback hosts only, so a forged Host cannot mint an issuer', async () => {
  const { request } = await import('node:http');
  const status = (host) =>
    new Promise((resolve, reject) => {
      const url = new URL(gh.url);
      const req = request({ host: url.hostname, port: url.port, path: '/.well-known/oauth-authorization-server', headers: { host } }, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on('error', reject);
      req.end();
    });
  assert.equal(await status(`localhost:${new URL(gh.url).port}`), 200);
  assert.equal(await status('evil.example'), 404);
});

test('a document or challenge an isolate prepared for one host is never answered to another', async () => {
  const { request } = await import('node:http');
  const { port } = new URL(gh.url);
  const get = (host, path, headers = {}) =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, headers: { host, ...headers } }, (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode, challenge: res.headers['www-authenticate'], body }));
      });
      req.on('error', reject);
      req.end();
    });
  const document = '/.well-known/oauth-authorization-server';
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `127.0.0.1:${port}`, `localhost:${port}`]) {
    const served = await get(host, document);
    assert.equal(JSON.parse(served.body).issuer, `http://${host}`, host);
    // The query is no part of a document's identity, but the host is.
    assert.equal(JSON.parse((await get(host, `${document}?x=1`)).body).issuer, `http://${host}`, host);
    const refused = await get(host, '/api/whoami', { accept: 'application/json' });
    assert.equal(refused.status, 401, host);
    assert.ok(refused.challenge.includes(`resource_metadata="http://${host}/`), `${host}: ${refused.challenge}`);
  }
  assert.equal((await get('evil.example', document)).status, 404, 'a host no app serves gets nothing prepared for another');
});

