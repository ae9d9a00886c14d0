// The decision log (README "Logs"): one JSON line per decision, with the event, the app, the
// agent and grant, the person as a hash, the outcome, the reason code, the status and the
// duration; never a token, a code, a password or an email.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startGatehouse } from './support/gatehouse.mjs';
import { Browser, DEMO, claimsOf, tokenRequest, tokensFor } from './support/oauth.mjs';

let gh;
before(async () => (gh = await startGatehouse()));
after(() => gh?.stop());

/** The decision lines logged so far, parsed. */
const decisions = () =>
  gh
    .log()
    .split('\n')
    .map((l) => l.slice(l.indexOf('{')))
    .filter((l) => l.startsWith('{"event"'))
    .map((l) => JSON.parse(l));
/** Waits for a decision line matching `predicate` (wrangler prints logs after the response). */
async function decision(predicate) {
  const parse = (l) => {
    try {
      return JSON.parse(l.slice(l.indexOf('{')));
    } catch {
      return null;
    }
  };
  const line = await gh.logLine({ test: (l) => l.includes('{"event"') && Boolean(parse(l) && predicate(parse(l))) });
  assert.ok(line, `no decision line matched; lines: ${JSON.stringify(decisions())}`);
  return parse(line);
}

test('a refused token, a failed login, an invalid_grant and a revoked agent each leave a line, and no secret', async () => {
  const { client, tokens } = await tokensFor(gh.url);
  const grantId = claimsOf(tokens.access_token).grant_id;

  // Allowed: the agent's request, with who and through what.
  assert.equal((await fetch(`${gh.url}/api/whoami`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).status, 200);
  const allowed = await decision((d) => d.event === 'gate' && d.status === 200 && d.grant_id === grantId);
  assert.equal(allowed.client_id, client.client_id);
  assert.equal(allowed.outcome, 'allowed');
  assert.match(allowed.subject, /^[0-9a-f]{16}$/);
  assert.equal(typeof allowed.duration_ms, 'number');

  // A refused token: the reason code says why.
  const forged = `${tokens.access_token.slice(0, -4)}AAAA`;
  assert.equal((await fetch(`${gh.url}/api/whoami`, { headers: { authorization: `Bearer ${forged}` } })).status, 401);
  const refused = await decision((d) => d.event === 'gate' && d.status === 401 && d.reason);
  assert.equal(refused.outcome, 'refused');

  // A failed login: the action, and the person only as the same hash.
  const wrongPassword = 'not-the-password-0123';
  const browser = new Browser(gh.url);
  const page = await (await browser.fetch('/.gatehouse/login')).text();
  await browser.submit(page, { email: DEMO.email, password: wrongPassword });
  const failed = await decision((d) => d.event === 'login' && d.action === 'login_failed');
  assert.equal(failed.subject, allowed.subject, 'the same person, the same hash');
  assert.equal(failed.outcome, 'refused');

  // invalid_grant: a made-up refresh token, and a refresh token used past its retry window.
  const grant = await tokenRequest(gh.url, { grant_type: 'refresh_token', refresh_token: 'made-up-refresh-token', client_id: client.client_id });
  assert.equal((await grant.json()).error, 'invalid_grant');
  const invalid = await decision((d) => d.event === 'token' && d.reason === 'RefreshTokenUnknown');
  assert.equal(invalid.status, 400);
  assert.equal(invalid.client_id, client.client_id, 'which agent was refused');
  assert.equal(invalid.outcome, 'refused');

  // A revoked agent's token at the gate: which agent, and why.
  const revoke = await fetch(`${gh.url}/oauth/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: tokens.refresh_token, client_id: client.client_id }),
  });
  assert.equal(revoke.status, 200);
  assert.equal((await fetch(`${gh.url}/api/whoami`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).status, 401);
  const revoked = await decision((d) => d.event === 'gate' && d.reason === 'TokenRevoked');
  assert.equal(revoked.client_id, client.client_id);
  assert.equal(revoked.grant_id, grantId);
  assert.equal(revoked.outcome, 'refused');

  // Nothing secret or personal in the log: not the tokens, not the password, not the email.
  const log = gh.log();
  for (const secret of [tokens.access_token, tokens.refresh_token, forged, wrongPassword, DEMO.password, DEMO.email]) {
    assert.equal(log.includes(secret), false, `the log carries ${secret.slice(0, 12)}…`);
  }
});

test('a request for the app without credentials leaves no line; a made-up token after it does', async () => {
  const anonymous = (d) => d.event === 'gate' && d.status === 401 && !d.reason && !d.subject;
  const before = decisions().filter(anonymous).length;
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${gh.url}/api/whoami`, { headers: { accept: 'application/json' } });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate'), /^Bearer resource_metadata=/);
  }
  // Lines come out in the order of the requests: once the later one is there, the earlier
  // ones would be too.
  const refused = (d) => d.event === 'gate' && d.status === 401 && d.reason;
  const refusedBefore = decisions().filter(refused).length;
  assert.equal((await fetch(`${gh.url}/api/whoami`, { headers: { authorization: 'Bearer made-up.token.here' } })).status, 401);
  for (const deadline = Date.now() + 10_000; decisions().filter(refused).length === refusedBefore && Date.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(decisions().filter(refused).length, refusedBefore + 1, 'the made-up token left its line');
  assert.equal(decisions().filter(anonymous).length, before, 'an anonymous challenge wrote a line');
});
