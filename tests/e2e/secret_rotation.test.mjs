// Rotating GATEHOUSE_SECRET without an outage (README "Rotating GATEHOUSE_SECRET"), on one
// running instance's state: the operator restarts it with a new GATEHOUSE_SECRET and the old one
// as GATEHOUSE_SECRET_PREVIOUS, then without the previous one. What the old secret made (the
// browser session, the registered client, its refresh token, the sealed signing key) keeps
// working during the rotation; what is made then uses the new secret and outlives the old one.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ROOT, startGatehouse } from './support/gatehouse.mjs';
import { Browser, authorizeUrl, pkce, tokenRequest, tokensFor } from './support/oauth.mjs';

const OLD = readFileSync(join(ROOT, '.dev.vars'), 'utf8').match(/^GATEHOUSE_SECRET=(.*)$/m)[1];
const NEW = 'the-new-secret-of-the-rotation-test-0123456789';

let gh;
after(() => gh?.stop());

const kidOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url')).kid;
const whoami = (token) => fetch(`${gh.url}/api/whoami`, { headers: { authorization: `Bearer ${token}` } });
const refresh = (client, token) =>
  tokenRequest(gh.url, { grant_type: 'refresh_token', refresh_token: token, client_id: client.client_id });
/** Whether the browser's session still holds: an authorization asks for no password. */
const sessionHolds = async (browser, client) => {
  const res = await browser.fetch(authorizeUrl(gh.url, client, { challenge: pkce().challenge }));
  const html = res.status === 200 ? await res.text() : '';
  return !html.includes('name="password"');
};
const sealedKeys = async () =>
  Object.fromEntries((await gh.query('SELECT kid, private_key_encrypted FROM signing_keys')).map((r) => [r.kid, r.private_key_encrypted]));

test('a rotation keeps sessions, clients, refresh tokens and signing keys; retiring the old secret keeps what the new one made', async () => {
  gh = await startGatehouse();
  const browser = new Browser(gh.url);
  const old = await tokensFor(gh.url, {}, browser);
  const kid = kidOf(old.tokens.access_token);
  const sealedBefore = (await sealedKeys())[kid];
  assert.ok(sealedBefore);
  assert.ok(await sessionHolds(browser, old.client));

  // Rotation: the new secret, and the old one kept as previous.
  gh = await startGatehouse({ restart: await gh.crash(), vars: { GATEHOUSE_SECRET: NEW, GATEHOUSE_SECRET_PREVIOUS: OLD } });
  assert.equal((await whoami(old.tokens.access_token)).status, 200, 'an access token of before the rotation');
  assert.ok(await sessionHolds(browser, old.client), 'a session of before the rotation');
  const rotated = await refresh(old.client, old.tokens.refresh_token);
  assert.equal(rotated.status, 200, 'a client and refresh token of before the rotation');
  const successor = await rotated.json();
  assert.equal(kidOf(successor.access_token), kid, 'the signing key sealed under the old secret signs');
  const sealedAfter = (await sealedKeys())[kid];
  assert.notEqual(sealedAfter, sealedBefore, 'the signing key was sealed again under the new secret');
  const fresh = new Browser(gh.url);
  const made = await tokensFor(gh.url, {}, fresh);

  // Retirement: the previous secret removed.
  gh = await startGatehouse({ restart: await gh.crash(), vars: { GATEHOUSE_SECRET: NEW } });
  const again = await refresh(made.client, made.tokens.refresh_token);
  assert.equal(again.status, 200, 'a client and refresh token made during the rotation');
  assert.equal(kidOf((await again.json()).access_token), kid, 'the key sealed again still signs');
  assert.ok(await sessionHolds(fresh, made.client), 'a session made during the rotation');
  assert.equal((await whoami(successor.access_token)).status, 200);
  // What only the old secret made ends: its client ids are unknown, its sessions log in again.
  const retired = await refresh(old.client, successor.refresh_token);
  assert.equal(retired.status, 401);
  assert.equal((await retired.json()).error, 'invalid_client');
  assert.equal(await sessionHolds(browser, made.client), false, "a session of before the rotation logs in again");
});
