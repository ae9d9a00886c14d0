// The retention sweep against real workerd and its local D1: an agent refreshes a few times,
// time is moved on by aging the rows in D1 itself (the only clock a test can turn), and the cron
// (`/__scheduled`) forgets what lapsed: rotated refresh tokens a day after their rotation, audit
// events past AUDIT_RETENTION_DAYS. What is still read stays: the live refresh token keeps
// working, newer audit events are kept, and a forgotten token is refused as any unknown one.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startGatehouse } from './support/gatehouse.mjs';
import { tokenRequest, tokensFor } from './support/oauth.mjs';

const DAY = 24 * 3600;
let gh;
before(async () => {
  gh = await startGatehouse({ vars: { AUDIT_RETENTION_DAYS: '30' } });
});
after(() => gh?.stop());

const refresh = (client, token) =>
  tokenRequest(gh.url, { grant_type: 'refresh_token', refresh_token: token, client_id: client.client_id });
const count = async (sql) => (await gh.query(`SELECT count(*) AS n FROM ${sql}`))[0].n;
const cron = async () => {
  const res = await fetch(`${gh.url}/__scheduled?cron=${encodeURIComponent('* * * * *')}`);
  assert.equal(res.status, 200);
};

test('the cron forgets lapsed rows and keeps what is still read', async () => {
  const { client, tokens } = await tokensFor(gh.url);
  const first = tokens.refresh_token;
  let live = first;
  for (let i = 0; i < 3; i++) {
    const res = await refresh(client, live);
    assert.equal(res.status, 200);
    live = (await res.json()).refresh_token;
  }
  assert.equal(await count('refresh_tokens'), 4);

  // A sweep now forgets none of them: every rotation is younger than a day.
  await cron();
  assert.equal(await count('refresh_tokens'), 4);

  // Two days pass for the rotated tokens, and forty for the registration's audit event.
  await gh.query(`UPDATE refresh_tokens SET rotated_at = rotated_at - ${2 * DAY} WHERE rotated_at IS NOT NULL`);
  await gh.query(`UPDATE audit_events SET at = at - ${40 * DAY} WHERE kind = 'client_registered'`);
  const events = await count('audit_events');
  await cron();

  assert.equal(await count('refresh_tokens'), 1, 'only the live token is left');
  assert.equal(await count("audit_events WHERE kind = 'client_registered'"), 0);
  assert.equal(await count('audit_events'), events - 1, 'newer events are kept');
  assert.ok(await gh.logLine(/retention: 4 lapsed rows forgotten/), 'the cron reports what it forgot');

  // The forgotten token is refused like any unknown one; the live one still rotates.
  const old = await refresh(client, first);
  assert.equal(old.status, 400);
  assert.equal((await old.json()).error, 'invalid_grant');
  assert.equal((await refresh(client, live)).status, 200);
});
