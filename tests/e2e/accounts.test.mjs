// Local accounts configured by an operator: a hash made by scripts/hash-password.mjs logs in
// through the real Worker (WebCrypto PBKDF2), and only the configured accounts exist.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT, startGatehouse } from './support/gatehouse.mjs';
import { Browser, DEMO, authorizeAsPerson, hiddenFields, pkce, register } from './support/oauth.mjs';

const PASSWORD = 'a long operator-chosen passphrase';
let gh;
before(async () => {
  const hash = execFileSync(process.execPath, [join(ROOT, 'scripts', 'hash-password.mjs')], { input: PASSWORD }).toString().trim();
  gh = await startGatehouse({ vars: { LOCAL_ACCOUNTS: JSON.stringify({ 'bob@example.com': hash }) } });
});
after(() => gh?.stop());

test('an account hashed with scripts/hash-password.mjs logs in', async () => {
  const client = await register(gh.url);
  const location = await authorizeAsPerson(gh.url, client, { challenge: pkce().challenge, email: 'bob@example.com', password: PASSWORD });
  assert.ok(location.searchParams.get('code'));
});

test('accounts not configured do not exist', async () => {
  const client = await register(gh.url);
  await assert.rejects(
    authorizeAsPerson(gh.url, client, { challenge: pkce().challenge, email: DEMO.email, password: DEMO.password }),
    /login failed: 200/,
  );
});

/** One login at the app's own login page, as a browser at address `ip` would send it. */
async function loginFrom(ip, email, password) {
  const browser = new Browser(gh.url);
  const headers = { 'cf-connecting-ip': ip };
  const html = await (await browser.fetch('/.gatehouse/login?return_to=/', { headers })).text();
  const body = new URLSearchParams({ ...hiddenFields(html), email, password });
  const action = html.match(/<form method="post" action="([^"]+)"/)[1];
  return browser.fetch(action, { method: 'POST', body, headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' } });
}

test('failed logins from one address stop at 20 per 15 minutes, even in a burst, with 429 and Retry-After; others log in', async () => {
  // Issue 15 §5: each failed login costs a PBKDF2 derivation; unbounded, the login form is a
  // password-guessing oracle and a free CPU burner.
  // A burst of 30 at once: the count and the insert are one step, so exactly 20 are checked.
  const guesser = '198.51.100.9';
  const burst = await Promise.all(Array.from({ length: 30 }, (_, i) => loginFrom(guesser, `nobody${i % 4}@example.com`, 'guess')));
  const statuses = burst.map((r) => r.status);
  assert.equal(statuses.filter((s) => s === 200).length, 20, statuses.join(' '));
  assert.equal(statuses.filter((s) => s === 429).length, 10, statuses.join(' '));
  assert.match(await burst.find((r) => r.status === 200).text(), /Wrong email or password\./);
  const refused = await loginFrom(guesser, 'bob@example.com', PASSWORD);
  assert.equal(refused.status, 429);
  const retryAfter = Number(refused.headers.get('retry-after'));
  assert.ok(retryAfter >= 1 && retryAfter <= 900, `Retry-After ${retryAfter}`);
  assert.match(refused.headers.get('content-type'), /text\/html/);
  assert.match(await refused.text(), /Too many failed logins/);
  assert.equal((await loginFrom('198.51.100.10', 'bob@example.com', PASSWORD)).status, 303, 'another address logs in');
  const [{ n }] = await gh.query("SELECT COUNT(*) AS n FROM audit_events WHERE kind = 'login_failed' AND source_ip = '198.51.100.9'");
  assert.equal(n, 20, 'each checked failure is audited, refusals are not');
});

test('guessing at one account from many addresses cannot keep its owner out at the address she logs in from', async () => {
  const home = '203.0.113.5';
  assert.equal((await loginFrom(home, 'bob@example.com', PASSWORD)).status, 303);
  for (let i = 0; i < 10; i++) {
    assert.equal((await loginFrom(`192.0.2.${i + 1}`, 'bob@example.com', 'guess')).status, 200, `attempt ${i}`);
  }
  const next = await loginFrom('192.0.2.200', 'bob@example.com', 'guess');
  assert.equal(next.status, 429);
  assert.ok(Number(next.headers.get('retry-after')) <= 900);
  assert.equal((await loginFrom(home, 'bob@example.com', PASSWORD)).status, 303, 'bob at home still logs in');
  const [{ n }] = await gh.query("SELECT COUNT(*) AS n FROM audit_events WHERE kind = 'login_failed' AND subject = 'local:bob@example.com'");
  assert.equal(n, 10);
});
