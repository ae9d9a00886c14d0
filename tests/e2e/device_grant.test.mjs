// The device authorization grant (RFC 8628) end to end against wrangler dev and local D1: a
// device-only client starts, polls, a person logs in and approves through the verification
// page's forms, and the token works on the demo app; denial, slow_down, racing polls, the
// wrong-code limit, policy refusal, CSRF and cross-site links.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startGatehouse } from './support/gatehouse.mjs';
import { Browser, DEMO, claimsOf, tokenRequest } from './support/oauth.mjs';

const GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
// The demo account's hash (.dev.vars), given to two more people: bob, whom the wrong-code
// limit locks out without touching alice, and mallory, whose domain the demo policy refuses.
const HASH = 'pbkdf2-sha256:100000:KZzd3ULarogF1Gf7kL2G_w:apRgD_oVfI2hAgzAeKEw-ub9l5c83LQ_jxObpFfn7y4';
const ACCOUNTS = { [DEMO.email]: HASH, 'bob@example.com': HASH, 'mallory@evil.example': HASH };

let gh;
before(async () => (gh = await startGatehouse({ vars: { LOCAL_ACCOUNTS: JSON.stringify(ACCOUNTS) } })));
after(() => gh?.stop());

const form = { 'content-type': 'application/x-www-form-urlencoded' };

async function registerDevice(metadata = {}) {
  const res = await fetch(`${gh.url}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_name: 'e2e device', token_endpoint_auth_method: 'none', grant_types: [GRANT, 'refresh_token'], ...metadata }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return res.json();
}

function start(client, params = {}) {
  return fetch(`${gh.url}/oauth/device_authorization`, {
    method: 'POST', headers: form, body: new URLSearchParams({ client_id: client.client_id, ...params }),
  });
}

async function started(client, params) {
  const res = await start(client, params);
  assert.equal(res.status, 200, await res.clone().text());
  return res.json();
}

const poll = (client, deviceCode) => tokenRequest(gh.url, { grant_type: GRANT, device_code: deviceCode, client_id: client.client_id });

async function pollError(client, deviceCode) {
  const res = await poll(client, deviceCode);
  assert.equal(res.status, 400);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  return (await res.json()).error;
}

/** Logs `email` in through the login page the verification page sends a new visitor to. */
async function loggedIn(email, path = '/.gatehouse/device') {
  const browser = new Browser(gh.url);
  const first = await browser.fetch(path);
  assert.equal(first.status, 302);
  const login = await browser.fetch(first.headers.get('location'));
  const res = await browser.submit(await login.text(), { email, password: DEMO.password });
  assert.equal(res.status, 303);
  return { browser, back: res.headers.get('location') };
}

/** Types `userCode` on the verification page; returns the response. */
async function typeCode(browser, userCode) {
  const page = await browser.fetch('/.gatehouse/device');
  assert.equal(page.status, 200);
  return browser.submit(await page.text(), { user_code: userCode });
}

/** A person follows `verification_uri_complete`, logs in, confirms the code and decides. */
async function personDecides(begun, decision, email = DEMO.email) {
  const link = new URL(begun.verification_uri_complete);
  const { browser, back } = await loggedIn(email, `${link.pathname}${link.search}`);
  assert.equal(back, `${link.pathname}${link.search}`);
  const page = await (await browser.fetch(back)).text();
  // The link only fills the code in; the person still submits it.
  assert.match(page, new RegExp(`value="${begun.user_code}"`));
  const consent = await browser.submit(page, { user_code: begun.user_code });
  assert.equal(consent.status, 200);
  const html = await consent.text();
  assert.match(html, /e2e device/);
  assert.match(html, /Only continue if you started this yourself/);
  const done = await browser.submit(html, { decision });
  assert.equal(done.status, 200);
  return done.text();
}

describe('discovery and registration', () => {
  test('the metadata advertises the device authorization endpoint and the grant', async () => {
    const doc = await (await fetch(`${gh.url}/.well-known/oauth-authorization-server`)).json();
    assert.equal(doc.device_authorization_endpoint, `${gh.url}/oauth/device_authorization`);
    assert.ok(doc.grant_types_supported.includes(GRANT));
  });

  test('a device-only client registers without redirect URIs and may not register one', async () => {
    const client = await registerDevice();
    assert.deepEqual(client.redirect_uris, []);
    assert.deepEqual(client.grant_types, ['refresh_token', GRANT]);
    const res = await fetch(`${gh.url}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_types: [GRANT], redirect_uris: ['https://device.example/cb'] }),
    });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error, 'invalid_redirect_uri');
  });
});

describe('a person approves a device', () => {
  test('start, pending, approve through the forms, tokens, and the token works on the app', async () => {
    const client = await registerDevice();
    const res = await start(client, { scope: 'read write' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const begun = await res.json();
    assert.match(begun.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    assert.equal(begun.verification_uri, `${gh.url}/.gatehouse/device`);
    assert.equal(begun.verification_uri_complete, `${gh.url}/.gatehouse/device?user_code=${begun.user_code}`);
    assert.equal(begun.interval, 5);
    assert.equal(begun.expires_in, 600);
    assert.equal(await pollError(client, begun.device_code), 'authorization_pending');

    assert.match(await personDecides(begun, 'approve'), /Device connected/);
    const tokens = await poll(client, begun.device_code);
    assert.equal(tokens.status, 200);
    assert.equal(tokens.headers.get('cache-control'), 'no-store');
    const body = await tokens.json();
    assert.equal(body.scope, 'read write');
    assert.ok(body.refresh_token);
    assert.equal(claimsOf(body.access_token).sub, `local:${DEMO.email}`);

    const whoami = await fetch(`${gh.url}/api/whoami`, { headers: { authorization: `Bearer ${body.access_token}` } });
    assert.equal(whoami.status, 200);
    const who = await whoami.json();
    assert.equal(who['gatehouse-email'], DEMO.email);
    assert.equal(who['gatehouse-client-id'], client.client_id);
    // Single use: the next poll finds the code spent.
    assert.equal(await pollError(client, begun.device_code), 'invalid_grant');

    // Only hashes reach D1.
    const rows = await gh.query('SELECT device_code_hash, user_code_hash, status FROM device_codes');
    const dump = JSON.stringify(rows);
    assert.ok(!dump.includes(begun.device_code));
    assert.ok(!dump.includes(begun.user_code.replace('-', '')));
    assert.ok(rows.some((r) => r.status === 'redeemed'));
  });

  test('a denied request answers access_denied', async () => {
    const client = await registerDevice();
    const begun = await started(client);
    assert.match(await personDecides(begun, 'deny'), /Request denied/);
    assert.equal(await pollError(client, begun.device_code), 'access_denied');
  });

  test('polling faster than the interval answers slow_down', async () => {
    const client = await registerDevice();
    const begun = await started(client);
    assert.equal(await pollError(client, begun.device_code), 'authorization_pending');
    assert.equal(await pollError(client, begun.device_code), 'slow_down');
    const [row] = await gh.query(`SELECT interval_secs FROM device_codes WHERE client_id = '${client.client_id}'`);
    assert.equal(row.interval_secs, 10);
  });

  test('racing polls after approval receive tokens exactly once', async () => {
    const client = await registerDevice();
    const begun = await started(client);
    await personDecides(begun, 'approve');
    const results = await Promise.all(Array.from({ length: 8 }, () => poll(client, begun.device_code)));
    const statuses = results.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 200).length, 1, `${statuses}`);
    for (const r of results.filter((r) => r.status !== 200)) {
      assert.equal(r.status, 400);
      assert.equal((await r.json()).error, 'invalid_grant');
    }
  });

  test('another client cannot redeem the code', async () => {
    const client = await registerDevice();
    const thief = await registerDevice();
    const begun = await started(client);
    await personDecides(begun, 'approve');
    assert.equal(await pollError(thief, begun.device_code), 'invalid_grant');
    assert.equal((await poll(client, begun.device_code)).status, 200);
  });

  test('a code-flow client may not start the device grant', async () => {
    const res = await fetch(`${gh.url}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: ['http://127.0.0.1:9/cb'], token_endpoint_auth_method: 'none' }),
    });
    const client = await res.json();
    const refused = await start(client);
    assert.equal(refused.status, 400);
    assert.equal((await refused.json()).error, 'unauthorized_client');
  });
});

describe('the verification page defends itself', () => {
  test('a cross-site link only fills in the code: nothing is approved and no guess is spent', async () => {
    const client = await registerDevice();
    const begun = await started(client);
    const { browser } = await loggedIn(DEMO.email);
    for (const code of [begun.user_code, 'BBBB-BBBB']) {
      const res = await browser.fetch(`/.gatehouse/device?user_code=${code}&decision=approve`);
      assert.equal(res.status, 200);
      assert.match(await res.text(), new RegExp(`value="${code}"`));
    }
    assert.equal(await pollError(client, begun.device_code), 'authorization_pending');
  });

  test('a form without the CSRF cookie is refused', async () => {
    const client = await registerDevice();
    const begun = await started(client);
    const { browser } = await loggedIn(DEMO.email);
    const page = await (await browser.fetch('/.gatehouse/device')).text();
    browser.cookies.delete('__Host-gatehouse-csrf');
    const res = await browser.submit(page, { user_code: begun.user_code, decision: 'approve' });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /form expired/);
    assert.equal(await pollError(client, begun.device_code), 'authorization_pending');
  });

  test('five wrong codes lock the person out, even for the right code', async () => {
    const client = await registerDevice();
    const begun = await started(client);
    const { browser } = await loggedIn('bob@example.com');
    for (let i = 0; i < 4; i++) {
      const res = await typeCode(browser, 'BBBB-BBBB');
      assert.equal(res.status, 400);
      assert.match(await res.text(), /wrong or has expired/);
    }
    assert.equal((await typeCode(browser, 'not-a-code')).status, 429);
    const locked = await typeCode(browser, begun.user_code);
    assert.equal(locked.status, 429);
    assert.match(await locked.text(), /too many wrong codes/);
  });

  test('a person the app policy refuses cannot approve', async () => {
    const client = await registerDevice();
    const begun = await started(client);
    const link = new URL(begun.verification_uri_complete);
    const { browser, back } = await loggedIn('mallory@evil.example', `${link.pathname}${link.search}`);
    const res = await browser.fetch(back);
    assert.equal(res.status, 403);
    assert.match(await res.text(), /access denied by policy/);
    assert.equal(await pollError(client, begun.device_code), 'authorization_pending');
  });
});
