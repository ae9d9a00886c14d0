// The MCP Python SDK's OAuth client, unmodified, against gatehouse: tests/e2e/python/mcp_sdk_flow.py
// protects the demo app's /api/whoami with the SDK's OAuthClientProvider and follows the 401
// through discovery, registration, login and consent, PKCE and the token exchange. The SDK is
// installed by scripts/setup into .venv (tests/e2e/python/requirements.txt pins it).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { ROOT, startGatehouse } from './support/gatehouse.mjs';
import { DEMO, REDIRECT } from './support/oauth.mjs';

const PYTHON = join(ROOT, '.venv', 'bin', 'python');
const SCRIPT = join(ROOT, 'tests', 'e2e', 'python', 'mcp_sdk_flow.py');
const SESSION = join(ROOT, 'tests', 'e2e', 'python', 'mcp_demo_session.py');

let gh;
before(async () => (gh = await startGatehouse()));
after(() => gh?.stop());

/** Runs the script against gatehouse; its one line of JSON, or its stderr in the failure. */
async function runSdkFlow(base, script = SCRIPT) {
  try {
    const { stdout } = await promisify(execFile)(PYTHON, [script, base], { cwd: ROOT, timeout: 60_000 });
    return JSON.parse(stdout);
  } catch (error) {
    if (error.code === 'ENOENT') throw new Error(`${PYTHON} is missing: run scripts/setup (it makes .venv)`);
    throw new Error(`${script} failed (${error.code ?? error.signal}):\n${error.stderr ?? ''}${error.stdout ?? ''}\n${error.message}`);
  }
}

test('the MCP Python SDK follows the 401 to a token and reads /api/whoami as the person, through itself', async () => {
  const observed = await runSdkFlow(gh.url);
  assert.equal(observed.status, 200);
  assert.equal(observed.email, DEMO.email);
  assert.ok(observed.client_id, 'registered by RFC 7591');
  assert.equal(observed.app_client_id, observed.client_id, 'the origin sees the agent the SDK registered');
  assert.equal(observed.refresh_token_stored, true);
  assert.equal(observed.token_type, 'Bearer');
  assert.equal(observed.scope, 'read', 'the scope of the 401 challenge');

  // The authorization request the SDK built: PKCE S256, RFC 8707 resource, our redirect URI.
  assert.equal(observed.authorize.code_challenge_method, 'S256');
  assert.equal(observed.authorize.redirect_uri, REDIRECT);
  assert.equal(observed.authorize.client_id, observed.client_id);
  assert.equal(observed.authorize.scope, 'read');
  assert.ok(observed.authorize.resource?.startsWith(gh.url), `resource ${observed.authorize.resource}`);

  // What the SDK sent, in order: the challenge, discovery, registration, the token, the retry.
  const requests = observed.sdk_requests;
  assert.equal(requests[0], 'GET /api/whoami -> 401');
  assert.ok(requests.includes('GET /.well-known/oauth-protected-resource -> 200'), requests.join('\n'));
  assert.ok(requests.includes('GET /.well-known/oauth-authorization-server -> 200'), requests.join('\n'));
  assert.ok(requests.includes('POST /oauth/register -> 201'), requests.join('\n'));
  assert.ok(requests.includes('POST /oauth/token -> 200'), requests.join('\n'));
  assert.equal(requests.at(-1), 'GET /api/whoami -> 200');
  assert.ok(!requests.some((r) => / -> 5\d\d$/.test(r)), requests.join('\n'));
});

test("the MCP Python SDK's client holds an MCP session with the demo app's server, as the person through itself", async () => {
  const observed = await runSdkFlow(gh.url, SESSION);
  assert.equal(observed.server, 'gatehouse-demo');
  assert.deepEqual(observed.tools, ['leave_note', 'whoami']);
  assert.equal(observed.whoami.email, DEMO.email);
  assert.ok(observed.client_id, 'registered by RFC 7591');
  assert.equal(observed.whoami.agent.client_id, observed.client_id, 'the server sees the agent the SDK registered');
});
