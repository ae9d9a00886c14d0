// Issue 15 §6: a made-up client_id, authorization code, refresh token or device code costs no D1
// query. The identifiers gatehouse issues carry a MAC tag, checked before storage; client ids
// without a tag (registered before tags, or inserted by the operator) are checked against a
// per-isolate list read at most once a second. D1 calls are counted in the Worker's isolate
// through the inspector (support/inspector.mjs), as in hot_path.test.mjs.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startGatehouse } from './support/gatehouse.mjs';
import { countRuntimeCalls } from './support/inspector.mjs';
import { REDIRECT, authorizeAsPerson, pkce, tokenRequest, tokensFor } from './support/oauth.mjs';

/** The D1 API: every query is prepared first; several go out as one batch. */
const D1 = ['prepare', 'batch'];
const d1Calls = (calls) => Object.fromEntries(D1.map((method) => [method, calls[method] ?? 0]));

let gh;
let probe;
before(async () => {
  gh = await startGatehouse();
  probe = await countRuntimeCalls(gh.inspectorPort, D1);
});
after(async () => {
  await probe?.stop();
  await gh?.stop();
});

const hex = (bytes) => randomBytes(bytes).toString('hex');
const b64 = (bytes) => randomBytes(bytes).toString('base64url');
/** A value shaped like a tagged one (body, dot, 22 characters of tag) with a made-up tag. */
const withMadeUpTag = (body) => `${body}.${b64(16)}`;

/** Sends `count` requests at once; their statuses and error codes, and the seconds they took. */
async function burst(count, params) {
  const started = Date.now();
  const answers = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const res = await tokenRequest(gh.url, params(i));
      return `${res.status} ${(await res.json()).error}`;
    }),
  );
  return { answers, seconds: Math.ceil((Date.now() - started) / 1000) };
}

test('made-up client ids shaped like issued ones: twenty at once, no D1 query', async () => {
  const { client } = await tokensFor(gh.url);
  assert.match(client.client_id, /^c_[0-9a-f]{32}\.[A-Za-z0-9_-]{22}$/, 'registered ids carry a tag');
  const [body] = client.client_id.split('.');
  await probe.counts();
  const { answers } = await burst(20, (i) => ({
    grant_type: 'refresh_token',
    refresh_token: 'x',
    client_id: i % 2 ? withMadeUpTag(`c_${hex(16)}`) : withMadeUpTag(body),
  }));
  const calls = await probe.counts();
  assert.deepEqual(answers, Array(20).fill('401 invalid_client'));
  assert.deepEqual(d1Calls(calls), { prepare: 0, batch: 0 });
});

test('made-up untagged client ids: the isolate reads its list of untagged clients at most once a second', async () => {
  const untagged = () => `c_${hex(16)}`;
  await tokenRequest(gh.url, { grant_type: 'refresh_token', refresh_token: 'x', client_id: untagged() });
  await probe.counts();
  const { answers, seconds } = await burst(20, () => ({ grant_type: 'refresh_token', refresh_token: 'x', client_id: untagged() }));
  const calls = await probe.counts();
  assert.deepEqual(answers, Array(20).fill('401 invalid_client'));
  assert.equal(calls.batch ?? 0, 0);
  assert.ok((calls.prepare ?? 0) <= seconds + 1, `D1 queries for 20 made-up ids in ${seconds} s: ${JSON.stringify(d1Calls(calls))}`);
});

test('made-up codes and refresh tokens of a real client: refused with no D1 query', async () => {
  const { client, tokens } = await tokensFor(gh.url);
  const [refreshBody] = tokens.refresh_token.split('.');
  // The client is read once and kept by the isolate for 5 s.
  await tokenRequest(gh.url, { grant_type: 'refresh_token', refresh_token: 'x', client_id: client.client_id });
  await probe.counts();
  const codes = await burst(10, (i) => ({
    grant_type: 'authorization_code',
    code: i % 2 ? withMadeUpTag(b64(32)) : b64(32),
    redirect_uri: REDIRECT,
    code_verifier: pkce().verifier,
    client_id: client.client_id,
  }));
  const refreshes = await burst(10, (i) => ({
    grant_type: 'refresh_token',
    refresh_token: i % 2 ? withMadeUpTag(refreshBody) : b64(32),
    client_id: client.client_id,
  }));
  const calls = await probe.counts();
  assert.deepEqual([...codes.answers, ...refreshes.answers], Array(20).fill('400 invalid_grant'));
  // At most the client's own read again, should its 5 s in the isolate have run out.
  assert.ok((calls.prepare ?? 0) <= 1 && (calls.batch ?? 0) === 0, JSON.stringify(d1Calls(calls)));
  // The issued refresh token is still looked up and rotates: the probe sees D1 where there is some.
  const rotated = await tokenRequest(gh.url, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.client_id });
  assert.equal(rotated.status, 200);
  assert.ok((await probe.counts()).prepare > 0);
});

test('made-up device codes of a real client: refused with no D1 query', async () => {
  const grant = 'urn:ietf:params:oauth:grant-type:device_code';
  const registered = await fetch(`${gh.url}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_name: 'CLI agent', token_endpoint_auth_method: 'none', grant_types: [grant] }),
  });
  const { client_id } = await registered.json();
  const started = await fetch(`${gh.url}/oauth/device_authorization`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id, scope: 'read' }),
  });
  assert.equal(started.status, 200);
  const { device_code } = await started.json();
  assert.match(device_code, /^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{22}$/, 'device codes carry a tag');
  await probe.counts();
  const { answers } = await burst(10, (i) => ({
    grant_type: grant,
    device_code: i % 2 ? withMadeUpTag(device_code.split('.')[0]) : b64(32),
    client_id,
  }));
  const calls = await probe.counts();
  assert.deepEqual(answers, Array(10).fill('400 invalid_grant'));
  assert.ok((calls.prepare ?? 0) <= 1 && (calls.batch ?? 0) === 0, JSON.stringify(d1Calls(calls)));
  const pending = await tokenRequest(gh.url, { grant_type: grant, device_code, client_id });
  assert.equal((await pending.json()).error, 'authorization_pending');
});

test('a client the operator inserted without a tag works within a second of its insertion', async () => {
  const metadata = {
    redirect_uris: [REDIRECT],
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    client_name: 'Pre-registered agent',
  };
  const id = 'pre-registered-cli';
  const now = Math.floor(Date.now() / 1000);
  await gh.query(
    `INSERT INTO clients (client_id, source, token_endpoint_auth_method, metadata, created_at) ` +
      `VALUES ('${id}', 'static', 'none', '${JSON.stringify(metadata)}', ${now})`,
  );
  await new Promise((r) => setTimeout(r, 1_100));
  const client = { client_id: id };
  const { verifier, challenge } = pkce();
  const location = await authorizeAsPerson(gh.url, client, { challenge });
  const res = await tokenRequest(gh.url, {
    grant_type: 'authorization_code',
    code: location.searchParams.get('code'),
    redirect_uri: REDIRECT,
    code_verifier: verifier,
    client_id: id,
  });
  assert.equal(res.status, 200, await res.clone().text());
  const tokens = await res.json();
  const refreshed = await tokenRequest(gh.url, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: id });
  assert.equal(refreshed.status, 200);
});
