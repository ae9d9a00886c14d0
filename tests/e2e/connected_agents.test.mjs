// The connected-agents page: the person sees the agent they approved and revokes it with one
// click; its token stops working at the gate at once.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startGatehouse } from './support/gatehouse.mjs';
import { Browser, REDIRECT, authorizeAsPerson, hiddenFields, pkce, register, tokenRequest } from './support/oauth.mjs';

let gh;
before(async () => (gh = await startGatehouse()));
after(() => gh?.stop());

test('a person lists their agents and revokes one', async () => {
  const browser = new Browser(gh.url);
  const anonymous = await browser.fetch('/.gatehouse/agents');
  assert.equal(anonymous.status, 302);
  assert.match(anonymous.headers.get('location'), /^\/\.gatehouse\/login\?return_to=%2F\.gatehouse%2Fagents$/);

  const client = await register(gh.url, { client_name: 'Notes agent' });
  const { verifier, challenge } = pkce();
  const code = (await authorizeAsPerson(gh.url, client, { challenge }, browser)).searchParams.get('code');
  const tokens = await (await tokenRequest(gh.url, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: client.client_id })).json();
  const bearer = { authorization: `Bearer ${tokens.access_token}` };
  assert.equal((await fetch(`${gh.url}/api/whoami`, { headers: bearer })).status, 200);

  const json = await (await browser.fetch('/.gatehouse/agents', { headers: { accept: 'application/json' } })).json();
  assert.equal(json.agents.length, 1);
  assert.equal(json.agents[0].client_name, 'Notes agent');
  assert.equal(json.agents[0].redirect_destination, '127.0.0.1');
  assert.ok(json.agents[0].last_used_at);

  const page = await browser.fetch('/.gatehouse/agents');
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /Notes agent/);
  assert.match(page.headers.get('content-security-policy'), /frame-ancestors 'none'/);
  const fields = hiddenFields(html);
  const revoked = await browser.fetch('/.gatehouse/agents/revoke', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields),
  });
  assert.equal(revoked.status, 303);
  assert.equal((await fetch(`${gh.url}/api/whoami`, { headers: bearer })).status, 401);
  const after = await (await browser.fetch('/.gatehouse/agents', { headers: { accept: 'application/json' } })).json();
  assert.deepEqual(after.agents, []);
});

test('a revoke without the CSRF token changes nothing', async () => {
  const res = await fetch(`${gh.url}/.gatehouse/agents/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_id=g_x',
  });
  assert.equal(res.status, 400);
});
