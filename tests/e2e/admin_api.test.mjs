// The admin API with a real ADMIN_TOKEN: list a person's grants, cut them off (their agents'
// tokens die at the gate, their browser session ends), read the audit log; refused without the
// token; absent without the secret.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startGatehouse } from './support/gatehouse.mjs';
import { Browser, DEMO, personAt, tokensFor } from './support/oauth.mjs';

const TOKEN = 'e2e-admin-token-e2e-admin-token-e2e-admin-token';
const SUBJECT = `local:${DEMO.email}`;
let gh;
// alice@example.com is also an admin by the ADMINS policy, from her browser session.
const ADMINS = JSON.stringify({ allow_emails: [DEMO.email] });
before(async () => (gh = await startGatehouse({ vars: { ADMIN_TOKEN: TOKEN, ADMINS } })));
after(() => gh?.stop());

const admin = { authorization: `Bearer ${TOKEN}` };

test('an operator lists, cuts off and audits a person', async () => {
  const { client, tokens } = await tokensFor(gh.url);
  const bearer = { authorization: `Bearer ${tokens.access_token}` };
  assert.equal((await fetch(`${gh.url}/api/whoami`, { headers: bearer })).status, 200);
  const browser = new Browser(gh.url);
  const nav = { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } };
  await personAt(gh.url, new URL((await browser.fetch('/', nav)).headers.get('location'), gh.url), {}, browser);
  assert.equal((await browser.fetch('/', nav)).status, 200);

  const grants = await (await fetch(`${gh.url}/.gatehouse/admin/grants?subject=${encodeURIComponent(SUBJECT)}`, { headers: admin })).json();
  assert.ok(grants.some((g) => g.client_id === client.client_id && g.revoked_at === null));

  const cut = await fetch(`${gh.url}/.gatehouse/admin/revoke`, {
    method: 'POST', headers: { ...admin, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ subject: SUBJECT }),
  });
  assert.equal(cut.status, 200);
  assert.ok((await cut.json()).grants >= 1);
  assert.equal((await fetch(`${gh.url}/api/whoami`, { headers: bearer })).status, 401, "the agent's token dies");
  assert.equal((await browser.fetch('/', nav)).status, 302, 'the browser session ends');

  const audit = await (await fetch(`${gh.url}/.gatehouse/admin/audit?client_id=${client.client_id}`, { headers: admin })).json();
  assert.deepEqual(audit.map((e) => e.kind).slice(0, 1), ['grant_revoked']);
  assert.equal(audit[0].detail.reason, 'admin_request');
});

test('the admin API refuses a missing or wrong token', async () => {
  for (const headers of [{}, { authorization: 'Bearer wrong-wrong-wrong-wrong-wrong-wrong' }]) {
    const res = await fetch(`${gh.url}/.gatehouse/admin/grants?subject=x`, { headers });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate'), /^Bearer/);
  }
});

const form = (body) => ({
  method: 'POST', headers: { ...admin, 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(body),
});

test('disabling a client revokes its grants and locks it out; the audit log names the admin', async () => {
  const { client, tokens } = await tokensFor(gh.url);
  const start = Math.floor(Date.now() / 1000) - 1;
  const res = await fetch(`${gh.url}/.gatehouse/admin/clients/disable`, form({ client_id: client.client_id }));
  assert.equal(res.status, 200);
  assert.equal((await res.json()).grants, 1);
  assert.equal((await fetch(`${gh.url}/api/whoami`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).status, 401);
  const refresh = await fetch(`${gh.url}/oauth/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.client_id }),
  });
  assert.equal(refresh.status, 401, 'a disabled client cannot authenticate');
  assert.equal((await refresh.json()).error, 'invalid_client');

  const recent = await (await fetch(`${gh.url}/.gatehouse/admin/audit?since=${start}`, { headers: admin })).json();
  const action = recent.find((e) => e.kind === 'admin_action');
  assert.equal(action.detail.by, 'admin-token');
  assert.equal(action.detail.action, 'disable_client');
  assert.ok(recent.every((e) => e.at >= start));
  const before = await (await fetch(`${gh.url}/.gatehouse/admin/audit?until=${start - 1}`, { headers: admin })).json();
  assert.ok(before.every((e) => e.at <= start - 1));
  assert.ok(!before.some((e) => e.kind === 'admin_action' && e.detail.action === 'disable_client'));
});

test('an admin by the ADMINS policy uses the API from the browser, with the CSRF token for changes', async () => {
  const { client } = await tokensFor(gh.url);
  const browser = new Browser(gh.url);
  const nav = { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } };
  await personAt(gh.url, new URL((await browser.fetch('/', nav)).headers.get('location'), gh.url), {}, browser);
  const listed = await browser.fetch('/.gatehouse/admin/grants?all=true');
  assert.equal(listed.status, 200);
  assert.ok((await listed.json()).some((g) => g.client_id === client.client_id));

  const post = (body) => browser.fetch('/.gatehouse/admin/revoke', {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body),
  });
  const forged = await post({ client_id: client.client_id });
  assert.equal(forged.status, 400, 'no CSRF token: refused');
  const csrf = browser.cookies.get('__Host-gatehouse-csrf');
  assert.ok(csrf, 'the app page set the CSRF cookie');
  const done = await post({ client_id: client.client_id, csrf_token: csrf });
  assert.equal(done.status, 200);
  assert.equal((await done.json()).grants, 1);
  const audit = await (await fetch(`${gh.url}/.gatehouse/admin/audit?limit=20`, { headers: admin })).json();
  assert.ok(audit.some((e) => e.kind === 'admin_action' && e.detail.by === DEMO.email));
});
