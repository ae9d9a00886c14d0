// Login through an upstream OpenID Connect provider, against a real one: `oidc-provider`
// started by the suite (tests/e2e/support/idp.mjs), with a confidential client and users whose
// ID tokens carry groups. The person's steps are HTTP form posts, as a browser would send them.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { freePort, startGatehouse } from './support/gatehouse.mjs';
import { IDP_CLIENT, startIdp } from './support/idp.mjs';
import { Browser, REDIRECT, authorizeUrl, claimsOf, hiddenFields, pkce, register, tokenRequest } from './support/oauth.mjs';

let gh;
let idp;

const USERS = {
  alice: { email: 'Alice@Example.com', name: 'Alice', groups: ['engineering', 'everyone'] },
  bob: { email: 'bob@example.com', name: 'Bob', groups: ['sales'] },
};

before(async () => {
  idp = await startIdp({ users: USERS });
  const deadPort = await freePort(); // nothing listens there: a provider that is down
  const apps = [{
    name: 'Demo app', host: '*',
    scopes: { read: 'Read your data', write: 'Change your data' }, default_scopes: ['read'],
    policy: { allow_groups: ['engineering'] },
    routes: [{ methods: ['GET', 'HEAD'], path: '/api/**', scope: 'read' }],
  }];
  const providers = [
    { id: 'corp', name: 'Corp SSO', issuer: idp.issuer, client_id: IDP_CLIENT.id, client_secret_env: 'CORP_OIDC_SECRET',
      scopes: 'openid email profile groups', allowed_domains: ['example.com'], allow_insecure_loopback_issuer: true },
    { id: 'down', name: 'Down IdP', issuer: `http://127.0.0.1:${deadPort}`, client_id: 'x', public_client: true,
      allow_insecure_loopback_issuer: true },
  ];
  gh = await startGatehouse({
    vars: {
      APPS: JSON.stringify(apps),
      LOCAL_ACCOUNTS: '{}',
      OIDC_PROVIDERS: JSON.stringify(providers),
      CORP_OIDC_SECRET: IDP_CLIENT.secret,
    },
  });
  idp.allowRedirect(`${gh.url}/.gatehouse/oidc/callback`);
});
after(async () => {
  await gh?.stop();
  await idp?.stop();
});

/** From the login page, presses the button of `provider`; the provider's URL gatehouse sends to. */
async function pressProvider(browser, page, provider = 'corp') {
  const html = await page.text();
  const form = [...html.matchAll(/<form method="post" action="([^"]+)">(.*?)<\/form>/g)]
    .find(([, , inner]) => inner.includes(`name="provider" value="${provider}"`));
  assert.ok(form, `no button for ${provider}: ${html}`);
  const res = await browser.fetch(form[1], {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(hiddenFields(form[0])),
  });
  return res;
}

/** Opens the app in a browser, and starts the upstream login; the provider's URL. */
async function startLogin(browser) {
  const app = await browser.fetch('/', { headers: { accept: 'text/html' } });
  assert.equal(app.status, 302);
  const page = await browser.fetch(app.headers.get('location'));
  assert.equal(page.status, 200);
  const res = await pressProvider(browser, page);
  assert.equal(res.status, 303, await res.clone().text());
  return new URL(res.headers.get('location'));
}

async function assertPage(res, status, text) {
  assert.equal(res.status, status);
  assert.match(res.headers.get('content-type'), /text\/html/);
  assert.match(res.headers.get('content-security-policy'), /frame-ancestors 'none'/);
  assert.equal(res.headers.get('location'), null, 'a page, never a redirect');
  assert.match(await res.text(), text);
}

test('the login page offers each provider as a CSRF-protected button', async () => {
  const res = await new Browser(gh.url).fetch('/.gatehouse/login?return_to=%2F');
  assert.equal(res.status, 200);
  const html = await res.text();
  assert.match(html, /Log in with Corp SSO/);
  assert.match(html, /Log in with Down IdP/);
  assert.doesNotMatch(html, /name="password"/, 'no local accounts, no password form');
  assert.equal(html.match(/name="csrf_token"/g).length, 2);
  const forged = await fetch(`${gh.url}/.gatehouse/oidc/start`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'provider=corp&return_to=%2F',
  });
  assert.equal(forged.status, 400);
});

test('a person logs in through the provider and reaches the app with their groups', async () => {
  const browser = new Browser(gh.url);
  const upstream = await startLogin(browser);
  assert.equal(upstream.origin, idp.issuer);
  const q = upstream.searchParams;
  assert.equal(q.get('response_type'), 'code');
  assert.equal(q.get('client_id'), IDP_CLIENT.id);
  assert.equal(q.get('redirect_uri'), `${gh.url}/.gatehouse/oidc/callback`);
  assert.equal(q.get('code_challenge_method'), 'S256');
  assert.ok(q.get('state') && q.get('nonce') && q.get('code_challenge'));
  assert.ok(browser.cookies.has('__Host-gatehouse-oidc'), 'the state is bound to this browser');

  const callback = await idp.login(upstream, 'alice');
  assert.equal(callback.searchParams.get('iss'), idp.issuer);
  const back = await browser.fetch(callback);
  assert.equal(back.status, 303);
  assert.equal(back.headers.get('location'), '/');
  const whoami = await (await browser.fetch('/api/whoami')).json();
  assert.equal(whoami['gatehouse-email'], 'alice@example.com');
  assert.equal(whoami['gatehouse-subject'], `oidc:${idp.issuer}#alice`);
  assert.deepEqual(claimsOf(whoami['gatehouse-assertion']).groups, ['engineering', 'everyone']);

  const [row] = await gh.query("SELECT subject, detail FROM audit_events WHERE kind = 'logged_in' ORDER BY id DESC LIMIT 1");
  assert.equal(row.subject, `oidc:${idp.issuer}#alice`);
  assert.equal(JSON.parse(row.detail).provider, 'corp');
  const states = await gh.query('SELECT state_hash, used_at FROM oidc_states');
  assert.ok(states.every((s) => s.state_hash !== q.get('state') && /^[0-9a-f]{64}$/.test(s.state_hash)), 'stored hashed');

  // Replaying the provider's answer is refused: the state is single use.
  await assertPage(await browser.fetch(callback), 400, /already used/);
});

test('a wrong nonce is refused', async () => {
  const browser = new Browser(gh.url);
  const upstream = await startLogin(browser);
  upstream.searchParams.set('nonce', 'not-the-nonce-gatehouse-sent');
  const callback = await idp.login(upstream, 'alice');
  await assertPage(await browser.fetch(callback), 400, /could not be verified/);
});

test('an expired state is refused', async () => {
  const browser = new Browser(gh.url);
  const upstream = await startLogin(browser);
  const callback = await idp.login(upstream, 'alice');
  // Ten minutes pass: the pending login's expiry moves into the past.
  await gh.query('UPDATE oidc_states SET expires_at = 0 WHERE used_at IS NULL');
  await assertPage(await browser.fetch(callback), 400, /expired/);
});

test('a callback opened in another browser is refused', async () => {
  const upstream = await startLogin(new Browser(gh.url));
  const callback = await idp.login(upstream, 'alice');
  await assertPage(await new Browser(gh.url).fetch(callback), 400, /another browser/);
});

test('a tampered ID token is refused', async () => {
  const browser = new Browser(gh.url);
  const upstream = await startLogin(browser);
  idp.tamperNextIdToken();
  const callback = await idp.login(upstream, 'alice');
  await assertPage(await browser.fetch(callback), 400, /could not be verified/);
  const whoami = await browser.fetch('/api/whoami', { headers: { accept: 'text/html' } });
  assert.equal(whoami.status, 302, 'no session');
});

test('after the provider rotates its keys, the new key is fetched and verifies', async () => {
  await idp.rotateKeys();
  const browser = new Browser(gh.url);
  const callback = await idp.login(await startLogin(browser), 'alice');
  const back = await browser.fetch(callback);
  assert.equal(back.status, 303, await back.clone().text());
  assert.equal((await browser.fetch('/api/whoami')).status, 200);
});

test('cancelling at the provider ends on a page', async () => {
  const browser = new Browser(gh.url);
  const callback = await idp.login(await startLogin(browser), 'alice', { cancel: true });
  assert.equal(callback.searchParams.get('error'), 'access_denied');
  await assertPage(await browser.fetch(callback), 400, /did not log you in/);
});

test('a person outside the allowed groups is refused in the browser', async () => {
  const browser = new Browser(gh.url);
  const callback = await idp.login(await startLogin(browser), 'bob');
  assert.equal((await browser.fetch(callback)).status, 303);
  const app = await browser.fetch('/', { headers: { accept: 'text/html' } });
  assert.equal(app.status, 403);
});

/** Drives an agent's authorization request as `user`; the final redirect to the agent. */
async function authorizeAgent(client, challenge, user) {
  const browser = new Browser(gh.url);
  const page = await browser.fetch(authorizeUrl(gh.url, client, { challenge, scope: 'read' }));
  assert.equal(page.status, 200);
  const started = await pressProvider(browser, page);
  const callback = await idp.login(new URL(started.headers.get('location')), user);
  const back = await browser.fetch(callback);
  assert.equal(back.status, 303);
  let res = await browser.fetch(back.headers.get('location'));
  if (res.status === 200) {
    const html = await res.text();
    assert.match(html, /value="approve"/);
    res = await browser.submit(html, { decision: 'approve' });
  }
  return new URL(res.headers.get('location'));
}

test('an agent acting for a person in the group gets a token carrying the groups', async () => {
  const client = await register(gh.url, { client_name: 'oidc agent' });
  const { verifier, challenge } = pkce();
  const location = await authorizeAgent(client, challenge, 'alice');
  const code = location.searchParams.get('code');
  assert.ok(code, location.href);
  const res = await tokenRequest(gh.url, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: client.client_id });
  assert.equal(res.status, 200);
  const { access_token } = await res.json();
  const claims = claimsOf(access_token);
  assert.equal(claims.sub, `oidc:${idp.issuer}#alice`);
  assert.deepEqual(claims.groups, ['engineering', 'everyone']);
  const whoami = await fetch(`${gh.url}/api/whoami`, { headers: { authorization: `Bearer ${access_token}` } });
  assert.equal(whoami.status, 200);
});

test('an agent acting for a person outside the allowed groups is refused', async () => {
  const client = await register(gh.url, { client_name: 'oidc agent' });
  const { challenge } = pkce();
  const location = await authorizeAgent(client, challenge, 'bob');
  assert.equal(`${location.origin}${location.pathname}`, REDIRECT);
  assert.equal(location.searchParams.get('error'), 'access_denied');
  assert.equal(location.searchParams.get('code'), null);
});

test('a provider that is down ends on a 503 page with Retry-After', async () => {
  const browser = new Browser(gh.url);
  const page = await browser.fetch('/.gatehouse/login?return_to=%2F');
  const never = await pressProvider(browser, page, 'down');
  await assertPage(never, 503, /cannot be reached/);
  assert.ok(Number(never.headers.get('retry-after')) > 0);

  // The provider goes down between sending the person there and their return.
  const upstream = await startLogin(browser);
  await idp.stop();
  const state = upstream.searchParams.get('state');
  const res = await browser.fetch(`/.gatehouse/oidc/callback?code=c0de&state=${encodeURIComponent(state)}&iss=${encodeURIComponent(idp.issuer)}`);
  await assertPage(res, 503, /cannot be reached/);
  assert.ok(Number(res.headers.get('retry-after')) > 0);
});
