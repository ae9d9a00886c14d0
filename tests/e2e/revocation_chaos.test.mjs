// Revocation survives any crash, any retry path and any length of migration window (issue 16),
// against real workerd, D1, KV and Queue. Seeded (CHAOS_SEED, printed), bounded in count and time.
//
// Each round: ≥ 30 grants are revoked in one burst through every path (RFC 7009 with the access
// or the refresh token, the connected-agents page, the admin API by grant and by client, a client
// disable, refresh-token reuse, code replay, a policy change, a device's grant); the dev server's
// whole process group is SIGKILLed at a random moment of the burst; it is restarted on the same
// state; every request that got no answer is sent again through the same path; the cron runs.
// Then, for every grant: the gate answers 401, refresh is refused, the admin list shows it
// revoked, the agents page no longer lists it, its consent is withdrawn (the next authorization
// shows the consent page), and there is exactly one grant_revoked audit event. The controls
// (another person's agents) are untouched.
//
// The migration round does the same in migration mode, ages the state past 24 h (deny entries
// expired, held revocations dated 25 h back: the local KV edited while the server is down), ends
// the mode, kills a drain partway and runs it again three times at once.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startGatehouse } from './support/gatehouse.mjs';
import { Browser, DEMO, REDIRECT, authorizeAsPerson, authorizeUrl, hiddenFields, pkce, tokenRequest } from './support/oauth.mjs';

const SEED = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);
console.log(`revocation chaos: CHAOS_SEED=${SEED}`);
const ROUNDS = 2;
const GRANTS_PER_ROUND = 33;
const REQUEST_TIMEOUT_MS = 10_000;

const ADMIN_TOKEN = 'e2e-admin-token-e2e-admin-token-e2e-admin-token';
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
// The demo account's hash (.dev.vars) for two more people: bob owns the controls; the policy of
// the burst no longer admits carol.
const HASH = 'pbkdf2-sha256:100000:KZzd3ULarogF1Gf7kL2G_w:apRgD_oVfI2hAgzAeKEw-ub9l5c83LQ_jxObpFfn7y4';
const ACCOUNTS = JSON.stringify({ [DEMO.email]: HASH, 'bob@example.com': HASH, 'carol@example.com': HASH });
const app = (denied) => JSON.stringify([{
  name: 'Demo app', host: '*', scopes: { read: 'Read your data', write: 'Change your data' }, default_scopes: ['read'],
  policy: { allow_domains: ['example.com'], deny_emails: denied },
  routes: [{ methods: ['GET', 'HEAD'], path: '/api/**', scope: 'read' }, { methods: ['POST', 'PUT', 'PATCH', 'DELETE'], path: '/api/**', scope: 'write' }],
}]);
const VARS = { ADMIN_TOKEN, LOCAL_ACCOUNTS: ACCOUNTS, APPS: app([]) };
const BURST_VARS = { ...VARS, APPS: app(['carol@example.com']) };
const DEVICE = 'urn:ietf:params:oauth:grant-type:device_code';

const PATHS = ['rfc7009-access', 'rfc7009-refresh', 'agents', 'admin-grant', 'admin-client', 'client-disable', 'refresh-reuse', 'code-replay', 'policy', 'device'];
// Migration mode refuses what must write D1 at once (the code exchange, disabling a client).
const MIGRATION_PATHS = ['rfc7009-access', 'rfc7009-refresh', 'agents', 'admin-grant', 'admin-client', 'refresh-reuse', 'policy'];

/** mulberry32: a small seeded generator, so a failing run can be replayed with its seed. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let gh;
after(() => gh?.stop());

const form = (body, headers = {}) => ({
  method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(body),
  signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
});
const refresh = (grant, token) => tokenRequest(gh.url, { grant_type: 'refresh_token', refresh_token: token, client_id: grant.client.client_id });
const whoami = (token) => fetch(`${gh.url}/api/whoami`, { headers: { authorization: `Bearer ${token}` } });
const grantOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url')).grant_id;
const scheduled = () => fetch(`${gh.url}/__scheduled?cron=${encodeURIComponent('* * * * *')}`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
const heldWrites = async () => (await fetch(`${gh.url}/.gatehouse/admin/held`, { headers: admin })).json();

/** Browsers of the three people, logged in once (sessions live in D1 and survive restarts). */
function people() {
  return { alice: new Browser(gh.url), bob: new Browser(gh.url), carol: new Browser(gh.url) };
}
const EMAIL = { alice: DEMO.email, bob: 'bob@example.com', carol: 'carol@example.com' };

/**
 * Registers a public client from its own network: the registration limit (30 an hour per
 * network) is not what this test is about.
 */
let registrations = 0;
async function registerClient(metadata) {
  const n = registrations++;
  const res = await fetch(`${gh.url}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'cf-connecting-ip': `10.${(n >> 8) & 255}.${n & 255}.1` },
    body: JSON.stringify({ token_endpoint_auth_method: 'none', ...metadata }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return res.json();
}

/** A grant of `person` to a new client, with what its revocation path needs. */
async function grantFor(browsers, person, path) {
  const browser = browsers[person];
  if (path === 'device') return deviceGrant(browser, person);
  const client = await registerClient({ client_name: `chaos ${path}`, redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'] });
  const { verifier, challenge } = pkce();
  const code = (await authorizeAsPerson(gh.url, client, { challenge, email: EMAIL[person] }, browser)).searchParams.get('code');
  const exchanged = await tokenRequest(gh.url, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: client.client_id });
  assert.equal(exchanged.status, 200, await exchanged.clone().text());
  const tokens = await exchanged.json();
  const grant = { person, path, client, code, verifier, access: tokens.access_token, refresh: tokens.refresh_token, id: grantOf(tokens.access_token) };
  if (path === 'refresh-reuse') {
    // Rotated twice: the first token, presented again, is reuse (its successor was used).
    grant.reused = grant.refresh;
    const once = await (await refresh(grant, grant.refresh)).json();
    const twice = await (await refresh(grant, once.refresh_token)).json();
    grant.refresh = twice.refresh_token;
    grant.access = twice.access_token;
  }
  return grant;
}

async function deviceGrant(browser, person) {
  const client = await registerClient({ client_name: 'chaos device', grant_types: [DEVICE, 'refresh_token'] });
  const begun = await (await fetch(`${gh.url}/oauth/device_authorization`, form({ client_id: client.client_id }))).json();
  const page = await browser.fetch(`/.gatehouse/device?user_code=${begun.user_code}`);
  let html = await page.text();
  if (page.status === 302 || html.includes('name="password"')) throw new Error('device: person not logged in');
  html = await (await browser.submit(html, { user_code: begun.user_code })).text();
  const done = await browser.submit(html, { decision: 'approve' });
  assert.equal(done.status, 200);
  const tokens = await (await tokenRequest(gh.url, { grant_type: DEVICE, device_code: begun.device_code, client_id: client.client_id })).json();
  assert.ok(tokens.access_token, JSON.stringify(tokens));
  return { person, path: 'device', client, device: true, access: tokens.access_token, refresh: tokens.refresh_token, id: grantOf(tokens.access_token) };
}

/** Logs each person in through the login page once. */
async function logIn(browsers) {
  for (const [person, browser] of Object.entries(browsers)) {
    const first = await browser.fetch('/.gatehouse/agents');
    const login = await browser.fetch(first.headers.get('location'));
    const res = await browser.submit(await login.text(), { email: EMAIL[person], password: DEMO.password });
    assert.equal(res.status, 303);
  }
}

/** The request that revokes `grant` through its path. Resolves to the response (or throws). */
async function revokeThrough(grant, browsers, csrf) {
  const { path, client } = grant;
  switch (path) {
    case 'rfc7009-access':
    case 'device':
      return fetch(`${gh.url}/oauth/revoke`, form({ token: grant.access, client_id: client.client_id }));
    case 'rfc7009-refresh':
      return fetch(`${gh.url}/oauth/revoke`, form({ token: grant.refresh, client_id: client.client_id }));
    case 'agents':
      return browsers[grant.person].fetch('/.gatehouse/agents/revoke', form({ grant_id: grant.id, csrf_token: csrf[grant.person] }));
    case 'admin-grant':
      return fetch(`${gh.url}/.gatehouse/admin/revoke`, form({ grant_id: grant.id }, admin));
    case 'admin-client':
      return fetch(`${gh.url}/.gatehouse/admin/revoke`, form({ client_id: client.client_id }, admin));
    case 'client-disable':
      return fetch(`${gh.url}/.gatehouse/admin/clients/disable`, form({ client_id: client.client_id }, admin));
    case 'refresh-reuse':
      return fetch(`${gh.url}/oauth/token`, form({ grant_type: 'refresh_token', refresh_token: grant.reused, client_id: client.client_id }));
    case 'policy':
      return fetch(`${gh.url}/oauth/token`, form({ grant_type: 'refresh_token', refresh_token: grant.refresh, client_id: client.client_id }));
    case 'code-replay':
      return fetch(`${gh.url}/oauth/token`, form({ grant_type: 'authorization_code', code: grant.code, redirect_uri: REDIRECT, code_verifier: grant.verifier, client_id: client.client_id }));
    default:
      throw new Error(path);
  }
}

/** Whether the path's answer says the revocation was done. */
async function answeredDone(res) {
  if (res.status === 200 || res.status === 303) return true;
  if (res.status !== 400) return false;
  return (await res.json()).error === 'invalid_grant';
}

/** The CSRF token of each person's agents page (bound to their cookie). */
async function csrfTokens(browsers) {
  const csrf = {};
  for (const [person, browser] of Object.entries(browsers)) {
    csrf[person] = hiddenFields(await (await browser.fetch('/.gatehouse/agents')).text()).csrf_token;
  }
  return csrf;
}

/** Revokes every grant at once, SIGKILLs the server at `killAfterMs`, restarts it, and retries. */
async function burst(grants, browsers, vars, killAfterMs) {
  const csrf = await csrfTokens(browsers);
  const pending = grants.map(async (grant) => {
    try {
      return { grant, done: await answeredDone(await revokeThrough(grant, browsers, csrf)) };
    } catch {
      return { grant, done: false };
    }
  });
  await new Promise((r) => setTimeout(r, killAfterMs));
  const killed = await gh.crash();
  const outcomes = await Promise.all(pending);
  gh = await startGatehouse({ restart: killed, vars });
  const unanswered = outcomes.filter((o) => !o.done).map((o) => o.grant);
  // What the kill left half done: revoked in D1 but not settled (steps 3–5 missing).
  const [{ n: partial }] = await gh.query('SELECT count(*) AS n FROM grants WHERE revoked_at IS NOT NULL AND revocation_settled_at IS NULL');
  console.log(`  killed after ${killAfterMs} ms: ${grants.length - unanswered.length} answered, ${unanswered.length} retried, ${partial} left half done`);
  const csrfAgain = await csrfTokens(browsers);
  for (let attempt = 1; unanswered.length && attempt <= 3; attempt++) {
    for (const grant of [...unanswered]) {
      const res = await revokeThrough(grant, browsers, csrfAgain);
      if (await answeredDone(res)) unanswered.splice(unanswered.indexOf(grant), 1);
    }
  }
  assert.deepEqual(unanswered.map((g) => g.path), [], 'every retry is answered as done');
}

/** Everything a finished revocation leaves, for every grant; the controls untouched. */
async function check(grants, controls, browsers) {
  const ids = [...grants, ...controls].map((g) => `'${g.id}'`).join(',');
  const listed = await (await fetch(`${gh.url}/.gatehouse/admin/grants?all=true`, { headers: admin })).json();
  const revokedAt = new Map(listed.map((g) => [g.grant_id, g.revoked_at]));
  const events = new Map((await gh.query(
    `SELECT grant_id, count(*) AS n FROM audit_events WHERE kind = 'grant_revoked' AND grant_id IN (${ids}) GROUP BY grant_id`,
  )).map((r) => [r.grant_id, r.n]));
  const consents = await gh.query(`SELECT c.client_id, c.withdrawn_at FROM consents c`);
  const withdrawn = new Map(consents.map((c) => [c.client_id, c.withdrawn_at]));
  const pages = {};
  for (const [person, browser] of Object.entries(browsers)) {
    pages[person] = (await (await browser.fetch('/.gatehouse/agents', { headers: { accept: 'application/json' } })).json()).agents.map((a) => a.grant_id);
  }
  for (const grant of grants) {
    const name = `${grant.path} ${grant.id}`;
    assert.equal((await whoami(grant.access)).status, 401, `${name}: gate`);
    const refused = await refresh(grant, grant.refresh);
    const error = (await refused.json()).error;
    // A disabled client can no longer authenticate at all.
    assert.equal(error, grant.path === 'client-disable' ? 'invalid_client' : 'invalid_grant', `${name}: refresh`);
    assert.ok(revokedAt.get(grant.id) > 0, `${name}: revoked in the admin list`);
    assert.ok(!pages[grant.person].includes(grant.id), `${name}: gone from the agents page`);
    assert.ok(withdrawn.get(grant.client.client_id) > 0, `${name}: consent withdrawn`);
    assert.equal(events.get(grant.id), 1, `${name}: exactly one audit event`);
    if (!grant.device && grant.path !== 'client-disable' && grant.path !== 'policy') {
      // The agent's next authorization asks the person again.
      const page = await browsers[grant.person].fetch(authorizeUrl(gh.url, grant.client, { challenge: pkce().challenge }));
      assert.equal(page.status, 200, `${name}: consent page, not a redirect with a code`);
      assert.match(await page.text(), /value="approve"/, `${name}: consent page`);
    }
  }
  for (const control of controls) {
    assert.equal((await whoami(control.access)).status, 200, 'control: gate');
    assert.equal(revokedAt.get(control.id), null, 'control: not revoked');
    assert.equal(withdrawn.get(control.client.client_id), null, 'control: consent kept');
    assert.equal(events.get(control.id), undefined, 'control: no revocation event');
    assert.ok(pages[control.person].includes(control.id), 'control: listed');
  }
}

async function setUp(count, paths) {
  gh = await startGatehouse({ vars: VARS });
  const browsers = people();
  await logIn(browsers);
  const grants = [];
  for (let i = 0; i < count; i++) {
    const path = paths[i % paths.length];
    grants.push(await grantFor(browsers, path === 'policy' ? 'carol' : 'alice', path));
  }
  const controls = [];
  for (let i = 0; i < 3; i++) controls.push(await grantFor(browsers, 'bob', 'rfc7009-access'));
  return { browsers, grants, controls };
}

for (let round = 0; round < ROUNDS; round++) {
  test(`chaos round ${round + 1}: a burst of revocations through every path, killed at a random moment`, { timeout: 240_000 }, async () => {
    const rand = random(SEED + round);
    const { browsers, grants, controls } = await setUp(GRANTS_PER_ROUND, PATHS);
    // The policy of the burst no longer admits carol: a new deployment, here a restart.
    gh = await startGatehouse({ restart: await gh.crash(), vars: BURST_VARS });
    await burst(grants, browsers, BURST_VARS, Math.floor(rand() * 1500));
    assert.equal((await scheduled()).status, 200);
    await check(grants, controls, browsers);
    await gh.stop();
    gh = undefined;
  });
}

/**
 * Edits the stopped instance's local KV (miniflare keeps an SQLite index of keys, with their
 * expiration and blob id, and each value in a blob file): the deny entries expire, held
 * revocations age, and so do the consents in the local D1.
 */
function age(state, hours) {
  const script = `
import glob, json, os, sqlite3, sys
root, hours = sys.argv[1], float(sys.argv[2])
[db] = [p for p in glob.glob(os.path.join(root, '**', '*.sqlite'), recursive=True)
        if sqlite3.connect(p).execute("SELECT count(*) FROM sqlite_master WHERE name = '_mf_entries'").fetchone()[0]]
blobs = {os.path.basename(p): p for p in glob.glob(os.path.join(root, '**', 'blobs', '*'), recursive=True)}
con = sqlite3.connect(db)
denied = con.execute("DELETE FROM _mf_entries WHERE key LIKE 'deny:grant:%'").rowcount
aged = 0
for key, blob in con.execute("SELECT key, blob_id FROM _mf_entries WHERE key LIKE 'held:revoke_grant:%'").fetchall():
    path = blobs[blob]
    held = json.load(open(path))
    held['at'] = int(held['at'] - hours * 3600)
    held.pop('denied_until', None)
    json.dump(held, open(path, 'w'))
    aged += 1
con.commit()
# D1 ages with it: the consents were given before the (aged) revocations.
[d1] = [p for p in glob.glob(os.path.join(os.path.dirname(root), 'd1', '**', '*.sqlite'), recursive=True)
        if sqlite3.connect(p).execute("SELECT count(*) FROM sqlite_master WHERE name = 'consents'").fetchone()[0]]
d1 = sqlite3.connect(d1)
d1.execute("UPDATE consents SET created_at = created_at - ?", (int(hours * 3600),))
d1.commit()
print(denied, aged)
`;
  const root = join(state, 'v3', 'kv');
  const [denied, aged] = execFileSync('python3', ['-c', script, root, String(hours)]).toString().trim().split(' ').map(Number);
  return { denied, aged };
}

test('a migration window past 24 h: revocations held, the state aged, drains killed and run three at once', { timeout: 240_000 }, async () => {
  const rand = random(SEED + 100);
  const { browsers, grants, controls } = await setUp(14, MIGRATION_PATHS);
  const MODE = { ...BURST_VARS, MIGRATION_MODE: 'on' };
  gh = await startGatehouse({ restart: await gh.crash(), vars: MODE });
  await burst(grants, browsers, MODE, Math.floor(rand() * 1000));
  const held = (await heldWrites()).filter((w) => w.kind === 'revoke_grant');
  assert.equal(new Set(held.map((w) => w.grant_id)).size, grants.length, 'every revocation held');

  // Simulated age: 25 h in the mode. KV has dropped the deny entries; the held writes are old.
  const stopped = await gh.crash();
  const { denied, aged } = age(stopped.state, 25);
  assert.equal(aged, grants.length);
  assert.ok(denied >= grants.length, 'deny entries removed');
  gh = await startGatehouse({ restart: stopped, vars: MODE });
  for (const grant of grants) {
    assert.equal((await refresh(grant, grant.refresh)).status, 400, `${grant.path}: refresh reads the held write`);
  }
  // The cron, in the mode, writes their deny entries again.
  assert.equal((await scheduled()).status, 200);
  for (const grant of grants) assert.equal((await whoami(grant.access)).status, 401, `${grant.path}: gate after renew`);

  // The mode ends; the first drain is killed partway, then three run at once.
  const restarted = await gh.crash();
  gh = await startGatehouse({ restart: restarted, vars: BURST_VARS });
  const first = scheduled().catch(() => undefined);
  await new Promise((r) => setTimeout(r, Math.floor(rand() * 150)));
  const cut = await gh.crash();
  await first;
  gh = await startGatehouse({ restart: cut, vars: BURST_VARS });
  const runs = await Promise.all([scheduled(), scheduled(), scheduled()]);
  assert.deepEqual(runs.map((r) => r.status), [200, 200, 200]);
  const left = await heldWrites();
  assert.deepEqual(left, [], `drained: ${JSON.stringify(left)}`);
  await check(grants, controls, browsers);
});
