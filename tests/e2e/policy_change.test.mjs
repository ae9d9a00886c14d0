// A change of an app's policy that excludes a person revokes their agents' grants (the operator
// redeploys with a new policy; here, a restart on the same state with new APPS): the token is
// refused at the gatekeeper, the grant is revoked in D1 with reason `policy_changed`, and
// admitting the person again does not bring the agent back.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ROOT, startGatehouse } from './support/gatehouse.mjs';
import { DEMO, tokenRequest, tokensFor } from './support/oauth.mjs';

const DEMO_APPS = JSON.parse(readFileSync(join(ROOT, '.dev.vars'), 'utf8').match(/^APPS='(.*)'$/m)[1]);
const withPolicy = (policy) => JSON.stringify(DEMO_APPS.map((app) => ({ ...app, policy })));
let gh;
after(() => gh?.stop());

test("excluding a person revokes their agent's grant for good", async () => {
  gh = await startGatehouse();
  const { client, tokens } = await tokensFor(gh.url);
  const grantId = JSON.parse(Buffer.from(tokens.access_token.split('.')[1], 'base64url')).grant_id;
  const whoami = () => fetch(`${gh.url}/api/whoami`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal((await whoami()).status, 200);

  const excluded = withPolicy({ allow_domains: ['example.com'], deny_emails: [DEMO.email] });
  gh = await startGatehouse({ restart: await gh.crash(), vars: { APPS: excluded } });
  const refused = await whoami();
  assert.equal(refused.status, 401);
  assert.match(refused.headers.get('www-authenticate'), /error="invalid_token"/);
  const [row] = await gh.query(`SELECT revoked_reason FROM grants WHERE grant_id = '${grantId}'`);
  assert.equal(row.revoked_reason, 'policy_changed');

  gh = await startGatehouse({ restart: await gh.crash() });
  assert.equal((await whoami()).status, 401, 'admitted again, the old token stays revoked');
  const refresh = await tokenRequest(gh.url, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.client_id });
  assert.equal(refresh.status, 400);
  assert.equal((await refresh.json()).error, 'invalid_grant');
});
