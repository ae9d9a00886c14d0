// RFC 7009 with a refresh token answers after one D1 transaction (the grant and its refresh
// tokens revoked, consent withdrawn, the audit event); the deny entry and the settled mark follow
// the answer under waitUntil (crates/core/src/revocation.rs). Here the Worker's process group is
// SIGKILLed right after the answer, before the deny entry reaches KV: the grant is left revoked
// and unsettled in D1, and the gate still admits its access token (the window docs/security.md
// states). The next cron run's sweep finishes it: the gate refuses the token and the grant is
// settled, with exactly one grant_revoked audit event.
//
// The window between the answer and the deny entry is widened by the benchmark's storage shim
// (bench/storage-shim.mjs, outside gatehouse's code): with BENCH_KV_DELAY_MS every KV call waits
// that long first, so the kill lands while the deny entry's put is waiting.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { gatehouseConfig } from '../../bench/storage.mjs';
import { startGatehouse } from './support/gatehouse.mjs';
import { startOrigin } from './support/origin.mjs';
import { tokensFor } from './support/oauth.mjs';

const KV_DELAY_MS = 5000;
let gh;
let origin;
let copy;
let vars;
before(async () => {
  origin = await startOrigin();
  copy = await gatehouseConfig();
  const apps = [{ name: 'Files', host: '*', scopes: { read: 'Read files' }, default_scopes: ['read'], policy: { allow_domains: ['example.com'] }, origin: origin.url }];
  vars = { APPS: JSON.stringify(apps), BENCH_D1_DELAY_MS: '0', BENCH_KV_DELAY_MS: '0' };
  gh = await startGatehouse({ config: copy.config, vars });
});
after(async () => {
  await gh?.stop();
  await origin?.stop();
  if (copy) await rm(copy.dir, { recursive: true, force: true });
});

const gate = async (token) => {
  const res = await fetch(`${gh.url}/echo`, { headers: { authorization: `Bearer ${token}` } });
  await res.text();
  return res.status;
};
const grantOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url')).grant_id;

test('a refresh-token revocation killed right after its answer is finished by the next cron run', { timeout: 120_000 }, async () => {
  const { client, tokens } = await tokensFor(gh.url, { scope: 'read' });
  const control = await tokensFor(gh.url, { scope: 'read' });
  const grant = grantOf(tokens.access_token);
  // Slow KV from now on: the deny entry's put waits KV_DELAY_MS after the answer.
  gh = await startGatehouse({ config: copy.config, restart: await gh.crash(), vars: { ...vars, BENCH_KV_DELAY_MS: String(KV_DELAY_MS) } });
  const res = await fetch(`${gh.url}/oauth/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: tokens.refresh_token, client_id: client.client_id }),
  });
  assert.equal(res.status, 200);
  const answeredAt = performance.now();
  const killed = await gh.crash();
  assert.ok(performance.now() - answeredAt < KV_DELAY_MS, 'killed before the deny entry could reach KV');
  gh = await startGatehouse({ config: copy.config, restart: killed, vars });

  // What the kill left: revoked in D1 (before the answer), neither denied nor settled.
  const [row] = await gh.query(`SELECT revoked_at, revocation_settled_at FROM grants WHERE grant_id = '${grant}'`);
  assert.ok(row.revoked_at > 0, 'revoked before the answer');
  assert.equal(row.revocation_settled_at, null, 'the kill came before the settled mark');
  assert.equal(await gate(tokens.access_token), 200, 'no deny entry yet: the window until the sweep');

  // The next cron run.
  const cron = await fetch(`${gh.url}/__scheduled?cron=${encodeURIComponent('* * * * *')}`);
  assert.equal(cron.status, 200);
  await cron.text();
  assert.equal(await gate(tokens.access_token), 401, 'the sweep wrote the deny entry');
  const [after] = await gh.query(`SELECT revocation_settled_at FROM grants WHERE grant_id = '${grant}'`);
  assert.ok(after.revocation_settled_at > 0, 'settled by the sweep');
  const [{ n }] = await gh.query(`SELECT count(*) AS n FROM audit_events WHERE kind = 'grant_revoked' AND grant_id = '${grant}'`);
  assert.equal(n, 1, 'exactly one audit event');
  const [{ withdrawn }] = await gh.query(`SELECT count(*) AS withdrawn FROM consents WHERE client_id = '${client.client_id}' AND withdrawn_at IS NOT NULL`);
  assert.equal(withdrawn, 1, 'consent withdrawn');
  // The control grant is untouched.
  assert.equal(await gate(control.tokens.access_token), 200);
  const [controlRow] = await gh.query(`SELECT revoked_at FROM grants WHERE grant_id = '${grantOf(control.tokens.access_token)}'`);
  assert.equal(controlRow.revoked_at, null);
});

test("the revoking batch changes nothing for another client's refresh token or a rotated one (RFC 7009 §2.1)", async () => {
  const { client, tokens } = await tokensFor(gh.url, { scope: 'read' });
  const other = await tokensFor(gh.url, { scope: 'read' });
  const grant = grantOf(tokens.access_token);
  const revoke = async (token, clientId) => {
    const res = await fetch(`${gh.url}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, client_id: clientId }),
    });
    assert.equal(res.status, 200, 'answered like any invalid token (§2.2)');
    await res.text();
  };
  const state = async () => (await gh.query(
    `SELECT (SELECT revoked_at FROM grants WHERE grant_id = '${grant}') AS revoked_at,
            (SELECT count(*) FROM refresh_tokens WHERE grant_id = '${grant}' AND rotated_at IS NULL) AS live,
            (SELECT count(*) FROM audit_events WHERE kind = 'grant_revoked' AND grant_id = '${grant}') AS events,
            (SELECT count(*) FROM consents WHERE client_id = '${client.client_id}' AND withdrawn_at IS NOT NULL) AS withdrawn`,
  ))[0];
  // Another client presents this client's refresh token.
  await revoke(tokens.refresh_token, other.client.client_id);
  assert.deepEqual(await state(), { revoked_at: null, live: 1, events: 0, withdrawn: 0 });
  // The client's own token, once rotated, under a live grant.
  const refreshed = await fetch(`${gh.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.client_id }),
  });
  assert.equal(refreshed.status, 200);
  const successor = (await refreshed.json()).refresh_token;
  await new Promise((resolve) => setTimeout(resolve, 11_000)); // past the 10 s retry window
  await revoke(tokens.refresh_token, client.client_id);
  assert.deepEqual(await state(), { revoked_at: null, live: 1, events: 0, withdrawn: 0 });
  assert.equal(await gate(tokens.access_token), 200);
  // The live one, by its own client: revoked.
  await revoke(successor, client.client_id);
  const after = await state();
  assert.ok(after.revoked_at > 0);
  assert.deepEqual({ ...after, revoked_at: 1 }, { revoked_at: 1, live: 0, events: 1, withdrawn: 1 });
});
