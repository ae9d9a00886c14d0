// Migration mode against real workerd, D1, KV and Queue: the operator turns it on (a restart
// with MIGRATION_MODE=on); writes that can wait get 503 + the operator's Retry-After, issued
// tokens keep working, refresh stretches without rotating, a revocation is accepted, refused at
// the edge at once and held; the Worker is killed (SIGKILL) with the revocation still held,
// restarted with the mode off on the same local state, and the cron drain writes the held
// revocation and audit events to D1. Nothing revoked regains access; nothing held is lost.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startGatehouse } from './support/gatehouse.mjs';
import { Browser, REDIRECT, authorizeUrl, pkce, tokenRequest, tokensFor } from './support/oauth.mjs';

const ADMIN_TOKEN = 'e2e-admin-token-e2e-admin-token-e2e-admin-token';
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
let gh;
after(() => gh?.stop());

const refresh = (client, token) =>
  tokenRequest(gh.url, { grant_type: 'refresh_token', refresh_token: token, client_id: client.client_id });
const whoami = (token) => fetch(`${gh.url}/api/whoami`, { headers: { authorization: `Bearer ${token}` } });
const count = async (table) => (await gh.query(`SELECT count(*) AS n FROM ${table}`))[0].n;
const held = async () => (await fetch(`${gh.url}/.gatehouse/admin/held`, { headers: admin })).json();
const grantOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url')).grant_id;

test('migration mode: refuse what can wait, keep tokens working, hold revocations, lose nothing', async () => {
  gh = await startGatehouse({ vars: { ADMIN_TOKEN } });
  const kept = await tokensFor(gh.url);
  const revoked = await tokensFor(gh.url);
  const revokedGrant = grantOf(revoked.tokens.access_token);

  // The operator turns the mode on: a new deployment, here a restart on the same state.
  gh = await startGatehouse({
    restart: await gh.crash(),
    vars: { ADMIN_TOKEN, MIGRATION_MODE: 'on', MIGRATION_RETRY_AFTER_SECS: '120' },
  });
  const [grantsBefore, auditBefore] = [await count('grants'), await count('audit_events')];

  const registration = await fetch(`${gh.url}/oauth/register`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' }),
  });
  assert.equal(registration.status, 503);
  assert.equal(registration.headers.get('retry-after'), '120');
  assert.equal((await registration.json()).error, 'temporarily_unavailable');

  const page = await new Browser(gh.url).fetch(authorizeUrl(gh.url, kept.client, { challenge: pkce().challenge }));
  assert.equal(page.status, 503, 'the authorization step is a page for the person');
  assert.equal(page.headers.get('retry-after'), '120');
  assert.match(await page.text(), /paused for maintenance/i);

  assert.equal((await whoami(kept.tokens.access_token)).status, 200, 'issued tokens keep working');
  const stretched = await refresh(kept.client, kept.tokens.refresh_token);
  assert.equal(stretched.status, 200);
  const body = await stretched.json();
  assert.equal(body.expires_in, 14400, 'the stretched lifetime');
  assert.equal(body.refresh_token, undefined, 'no rotation while D1 is moved');
  assert.equal((await whoami(body.access_token)).status, 200);

  const revocation = await fetch(`${gh.url}/oauth/revoke`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: revoked.tokens.refresh_token, client_id: revoked.client.client_id }),
  });
  assert.equal(revocation.status, 200, 'revocations are accepted in migration mode');
  assert.equal((await whoami(revoked.tokens.access_token)).status, 401, 'refused at the edge at once');
  assert.equal((await refresh(revoked.client, revoked.tokens.refresh_token)).status, 400);
  assert.ok((await held()).some((w) => w.kind === 'revoke_grant' && w.grant_id === revokedGrant));

  assert.equal(await count('grants'), grantsBefore);
  assert.equal(await count('audit_events'), auditBefore, 'nothing written to D1');
  const [row] = await gh.query(`SELECT revoked_at FROM grants WHERE grant_id = '${revokedGrant}'`);
  assert.equal(row.revoked_at, null);

  // Killed outright while the revocation is held; back with the mode off.
  gh = await startGatehouse({ restart: await gh.crash(), vars: { ADMIN_TOKEN } });
  assert.ok((await held()).some((w) => w.grant_id === revokedGrant), 'the held revocation survived the kill');
  assert.equal((await whoami(revoked.tokens.access_token)).status, 401, 'and the edge still refuses');

  const cron = await fetch(`${gh.url}/__scheduled?cron=${encodeURIComponent('* * * * *')}`);
  assert.equal(cron.status, 200);
  assert.deepEqual(await held(), [], 'drained');
  const [after] = await gh.query(`SELECT revoked_at, revoked_reason FROM grants WHERE grant_id = '${revokedGrant}'`);
  assert.ok(after.revoked_at > 0);
  assert.equal(after.revoked_reason, 'client_request');
  const replayed = await gh.query(
    `SELECT kind FROM audit_events WHERE grant_id = '${revokedGrant}' AND kind = 'grant_revoked'`,
  );
  assert.equal(replayed.length, 1, "the revocation's audit event was held and written");
  assert.ok((await count('audit_events')) > auditBefore);

  assert.equal((await refresh(revoked.client, revoked.tokens.refresh_token)).status, 400);
  const rotated = await (await refresh(kept.client, kept.tokens.refresh_token)).json();
  assert.ok(rotated.refresh_token, 'rotation resumes with the token kept through the mode');
  assert.equal(rotated.expires_in, 600);
});

// The public gets a 503 and a reference; the log line under it names the setting and the fix
// (issue 18: a configuration error is the operator's, never shown to the public).
test('a misspelt MIGRATION_MODE names the setting and the fix in the log', async () => {
  await gh?.stop();
  gh = await startGatehouse({ vars: { MIGRATION_MODE: 'yes' } });
  const res = await fetch(`${gh.url}/.well-known/oauth-authorization-server`);
  assert.equal(res.status, 503);
  const body = await res.json();
  assert.ok(!JSON.stringify(body).includes('MIGRATION_MODE'), JSON.stringify(body));
  const line = await gh.logLine(body.reference);
  assert.ok(line, `no log line for ${body.reference}`);
  assert.match(line, /MIGRATION_MODE/);
  assert.match(line, /\\"on\\"/);
});
