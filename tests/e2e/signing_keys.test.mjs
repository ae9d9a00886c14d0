// Token signing keys: made on first use, sealed in D1, rotated on schedule, and the previous key
// stays published so tokens it signed keep verifying. SIGNING_KEY_ROTATION_SECS=2 makes the
// schedule observable in a test.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startGatehouse } from './support/gatehouse.mjs';
import { REDIRECT, authorizeAsPerson, claimsOf, pkce, register, tokenRequest } from './support/oauth.mjs';

let gh;
before(async () => (gh = await startGatehouse({ vars: { SIGNING_KEY_ROTATION_SECS: '2' } })));
after(() => gh?.stop());

const kidOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url')).kid;

test('a rotated key stays in the JWKS and its tokens stay valid', async () => {
  const client = await register(gh.url, { token_endpoint_auth_method: 'client_secret_post' });
  const secret = { client_id: client.client_id, client_secret: client.client_secret };
  const issue = async () => {
    const { verifier, challenge } = pkce();
    const code = (await authorizeAsPerson(gh.url, client, { challenge })).searchParams.get('code');
    const res = await tokenRequest(gh.url, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, ...secret });
    return (await res.json()).access_token;
  };
  const first = await issue();
  await new Promise((r) => setTimeout(r, 2_500));
  const second = await issue();
  assert.notEqual(kidOf(first), kidOf(second), 'the key rotated');
  const kids = (await (await fetch(`${gh.url}/oauth/jwks.json`)).json()).keys.map((k) => k.kid);
  assert.ok(kids.includes(kidOf(first)) && kids.includes(kidOf(second)), `both keys published: ${kids}`);
  assert.equal(kids[0], kidOf(second), 'the current key comes first');
  const introspect = await fetch(`${gh.url}/oauth/introspect`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: first, ...secret }),
  });
  const answer = await introspect.json();
  assert.equal(answer.active, true, 'a token of the previous key still verifies');
  assert.equal(answer.jti, claimsOf(first).jti);
});
