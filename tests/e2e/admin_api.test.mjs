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
before(async () => (gh = await startGatehouse({ vars: { ADMIN_TOKEN: TOKEN } })));
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
