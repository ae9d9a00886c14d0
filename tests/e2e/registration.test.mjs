// Dynamic client registration (RFC 7591) against the real Worker and D1.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startGatehouse } from './support/gatehouse.mjs';
import { REDIRECT, register } from './support/oauth.mjs';

let gh;
before(async () => (gh = await startGatehouse()));
after(() => gh?.stop());

const post = (body, headers = { 'content-type': 'application/json' }) =>
  fetch(`${gh.url}/oauth/register`, { method: 'POST', headers, body });

test('a public client registers and gets an id, no secret, no caching', async () => {
  const res = await post(JSON.stringify({ client_name: 'Agent', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' }));
  assert.equal(res.status, 201);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  const client = await res.json();
  assert.ok(client.client_id);
  assert.equal(client.client_secret, undefined);
  assert.deepEqual(client.redirect_uris, [REDIRECT]);
});

test('a confidential client gets its secret once', async () => {
  const client = await register(gh.url, { token_endpoint_auth_method: 'client_secret_basic' });
  assert.ok(client.client_secret.length >= 43);
  assert.equal(client.client_secret_expires_at, 0);
});

test('dangerous redirect URIs are refused with invalid_redirect_uri', async () => {
  for (const uri of ['javascript:alert(1)', ' JAVASCRIPT:alert(1)', 'data:text/html,x', 'file:///etc/passwd', 'http://evil.example/cb', 'https://a.example/cb#f']) {
    const res = await post(JSON.stringify({ redirect_uris: [uri] }));
    assert.equal(res.status, 400, uri);
    assert.equal((await res.json()).error, 'invalid_redirect_uri', uri);
  }
});

test('bad metadata is refused with invalid_client_metadata', async () => {
  for (const body of ['not json', JSON.stringify({ redirect_uris: [REDIRECT], grant_types: ['implicit'] })]) {
    const res = await post(body);
    assert.equal(res.status, 400, body);
    assert.equal((await res.json()).error, 'invalid_client_metadata', body);
  }
});

test('an oversized registration is refused with 413', async () => {
  const res = await post(JSON.stringify({ redirect_uris: [REDIRECT], padding: 'x'.repeat(40_000) }));
  assert.equal(res.status, 413);
});

test('only POST registers', async () => {
  const res = await fetch(`${gh.url}/oauth/register`);
  assert.equal(res.status, 405);
  assert.match(res.headers.get('allow'), /POST/);
});

test('a burst of registrations from one address stops at 30 an hour, racing or not; others still register', async () => {
  // Concurrent requests: the count and the insert must be one step, or a burst gets past it.
  const from = (ip) => post(JSON.stringify({ client_name: 'Burst', redirect_uris: [REDIRECT] }), {
    'content-type': 'application/json',
    'cf-connecting-ip': ip,
  });
  const burst = await Promise.all(Array.from({ length: 40 }, () => from('198.51.100.7')));
  const statuses = burst.map((r) => r.status);
  assert.equal(statuses.filter((s) => s === 201).length, 30, statuses.join(' '));
  const refused = burst.filter((r) => r.status === 503);
  assert.equal(refused.length, 10, statuses.join(' '));
  assert.equal((await refused[0].json()).error, 'temporarily_unavailable');
  assert.equal((await from('198.51.100.7')).status, 503, 'still refused afterwards');
  assert.equal((await from('198.51.100.8')).status, 201, 'another address is not affected');
  // Only the stored clients are in the audit log.
  const [{ n }] = await gh.query(
    "SELECT COUNT(*) AS n FROM audit_events WHERE kind = 'client_registered' AND source_ip = '198.51.100.7'",
  );
  assert.equal(n, 30);
});
