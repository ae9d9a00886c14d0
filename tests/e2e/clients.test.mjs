// The interop matrix (issue 17): the registration, or the Client ID Metadata Document, of the MCP
// clients people use, each as the client sends it, through the whole flow on a local gatehouse:
// discovery from the app's 401, registration (or the document), authorization in a real headless
// browser (Debian's chromium over the DevTools Protocol) with login and consent, the code
// exchange with the auth method the registration answer gave, a refresh, and a request to the
// app with the new token.
//
// Each case cites where its request comes from: the client's own source where it is public,
// otherwise its maintainers' issue threads or the reports of servers that logged it. Nothing leaves
// the machine: the redirect to a hosted callback, a private-use scheme or a loopback listener is
// read from the `Location` gatehouse sends (support/chromium.mjs captures it and loads nothing),
// and metadata documents are served on 127.0.0.1 (CIMD_ALLOW_INSECURE_LOOPBACK, as in
// cimd.test.mjs), so the consent page names the document host as 127.0.0.1.
//
// Two clients cannot connect through their documents, and the matrix says so with the refusal
// they get: Goose's and OpenCode's published documents do not list the redirect URI those clients
// send (see the cases). Against a gatehouse with CIMD=off they register instead, and connect.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startChromium } from './support/chromium.mjs';
import { startGatehouse } from './support/gatehouse.mjs';
import { DEMO } from './support/oauth.mjs';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** An ephemeral port as a native client would get from the operating system. */
const EPHEMERAL = 51_000 + Math.floor(Math.random() * 9_000);

/**
 * Dynamically registered clients. A `client_name` appears only where the cited source shows it;
 * the others are registered without one here, and the consent page shows their client id. `registration(ctx)` is the body the client POSTs to the
 * registration endpoint; `redirect(ctx)` the `redirect_uri` of its authorization request;
 * `scope(ctx)` what it asks for (`ctx.challengeScope` is the 401's `scope`, `undefined` omits the
 * parameter); `resource` whether it sends RFC 8707 `resource`.
 */
const REGISTERED = [
  {
    client: 'Claude (claude.ai)',
    // anthropics/claude-ai-mcp#1043: the hosted connector registers from Anthropic's backend with
    // token_endpoint_auth_method client_secret_post; anthropics/claude-code#30511 shows the
    // registered redirect_uris and grant_types.
    registration: () => ({
      redirect_uris: ['https://claude.ai/api/mcp/auth_callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
    }),
    redirect: () => 'https://claude.ai/api/mcp/auth_callback',
  },
  {
    client: 'Claude Desktop',
    // anthropics/claude-ai-mcp#1043: "Claude Desktop on macOS 15. Also reproduced from claude.ai
    // web — the DCR request originates from Anthropic's backend in both cases": the same request,
    // the same hosted callback.
    registration: () => ({
      redirect_uris: ['https://claude.ai/api/mcp/auth_callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
    }),
    redirect: () => 'https://claude.ai/api/mcp/auth_callback',
  },
  {
    client: 'Claude Code (registration)',
    // elmohq/elmo#684 (registration captured from Claude Code 2.1): application_type native and
    // http://localhost:3118/callback; the body is the MCP TypeScript SDK's (Claude Code's OAuth
    // client), public with PKCE.
    registration: () => ({
      redirect_uris: ['http://localhost:3118/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      application_type: 'native',
    }),
    redirect: () => 'http://localhost:3118/callback',
  },
  {
    client: 'ChatGPT',
    // danielealbano/android-remote-control-mcp#166 and BasedHardware/omi#8824: the per-connector
    // callback https://chatgpt.com/connector/oauth/<callback_id> (the older fixed one is
    // https://chatgpt.com/connector_platform_oauth_redirect); garrytan/gbrain#894: "ChatGPT custom
    // connectors use none".
    registration: () => ({
      redirect_uris: ['https://chatgpt.com/connector/oauth/OUbdUMlL15Ct'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    }),
    redirect: () => 'https://chatgpt.com/connector/oauth/OUbdUMlL15Ct',
  },
  {
    client: 'VS Code (desktop)',
    // microsoft/vscode src/vs/base/common/oauth.ts, fetchDynamicRegistration: these four redirect
    // URIs, grant_types filtered by the server's grant_types_supported (gatehouse lists the device
    // grant too), application_type native, the product's name as clientName; the desktop listens on an ephemeral port and sends
    // http://127.0.0.1:<port>/ (issue 17: older builds registered http://127.0.0.1 without the /).
    registration: ({ grantTypesSupported }) => ({
      client_name: 'Visual Studio Code',
      client_uri: 'https://code.visualstudio.com',
      grant_types: grantTypesSupported.filter((g) => ['authorization_code', 'refresh_token', DEVICE_GRANT].includes(g)),
      response_types: ['code'],
      redirect_uris: ['https://insiders.vscode.dev/redirect', 'https://vscode.dev/redirect', 'http://127.0.0.1/', 'http://127.0.0.1:33418/'],
      token_endpoint_auth_method: 'none',
      application_type: 'native',
    }),
    redirect: () => `http://127.0.0.1:${EPHEMERAL}/`,
  },
  {
    client: 'VS Code (web)',
    // The same registration (oauth.ts); in the browser VS Code receives the code on its hosted
    // relay https://vscode.dev/redirect.
    registration: ({ grantTypesSupported }) => ({
      client_name: 'Visual Studio Code',
      client_uri: 'https://code.visualstudio.com',
      grant_types: grantTypesSupported.filter((g) => ['authorization_code', 'refresh_token', DEVICE_GRANT].includes(g)),
      response_types: ['code'],
      redirect_uris: ['https://insiders.vscode.dev/redirect', 'https://vscode.dev/redirect', 'http://127.0.0.1/', 'http://127.0.0.1:33418/'],
      token_endpoint_auth_method: 'none',
      application_type: 'native',
    }),
    redirect: () => 'https://vscode.dev/redirect',
  },
  {
    client: 'Cursor',
    // Issue 17 and erp-mafia/accounted#2225 (Cursor staff, forum.cursor.com thread 165019): three
    // callbacks in one request, public client, application_type web; different-ai/openwork#3059:
    // the desktop app receives the code on cursor://anysphere.cursor-mcp/oauth/callback.
    registration: () => ({
      application_type: 'web',
      redirect_uris: ['cursor://anysphere.cursor-mcp/oauth/callback', 'https://www.cursor.com/agents/mcp/oauth/callback', 'http://localhost:8787/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    }),
    redirect: () => 'cursor://anysphere.cursor-mcp/oauth/callback',
    consent: /An app on this device will receive the code: the one that opens cursor: links/,
  },
  {
    client: 'Codex CLI',
    // openai/codex codex-rs/rmcp-client/src/perform_oauth_login.rs: a listener on 127.0.0.1 with an
    // ephemeral port, redirect http://<ip>:<port>/callback/<callback id>, registered through the
    // rmcp crate's dynamic registration (modelcontextprotocol/rust-sdk crates/rmcp/src/transport/
    // auth.rs: public client, code and refresh grants); elmohq/elmo#684: application_type native.
    registration: () => ({
      client_name: 'Codex',
      redirect_uris: [`http://127.0.0.1:${EPHEMERAL}/callback/q1HfBqHnFrlK`],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      application_type: 'native',
    }),
    redirect: () => `http://127.0.0.1:${EPHEMERAL}/callback/q1HfBqHnFrlK`,
  },
  {
    client: 'Gemini CLI',
    // google-gemini/gemini-cli packages/core/src/mcp/oauth-provider.ts, registerClient: the name,
    // http://localhost:7777/oauth/callback, and `scope: ''` when no scope is configured (refused
    // as a client allowed no scope before issue 17); the authorization asks for no scope either.
    registration: () => ({
      client_name: 'Gemini CLI MCP Client',
      redirect_uris: ['http://localhost:7777/oauth/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      scope: '',
    }),
    redirect: () => 'http://localhost:7777/oauth/callback',
    scope: () => undefined,
  },
  {
    client: 'MCP Inspector',
    // modelcontextprotocol/inspector client/src/lib/auth.ts, InspectorOAuthClientProvider: both
    // callbacks of its origin (http://localhost:6274), and `scope: ""` when discovery found none.
    registration: () => ({
      redirect_uris: ['http://localhost:6274/oauth/callback', 'http://localhost:6274/oauth/callback/debug'],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      client_name: 'MCP Inspector',
      client_uri: 'https://github.com/modelcontextprotocol/inspector',
      scope: '',
    }),
    redirect: () => 'http://localhost:6274/oauth/callback',
  },
  {
    client: 'mcp-remote',
    // geelen/mcp-remote src/lib/node-oauth-client-provider.ts, clientMetadata: defaults for name,
    // client_uri, software_id; scope from the 401's WWW-Authenticate (its priority 2).
    registration: ({ challengeScope }) => ({
      redirect_uris: [`http://localhost:${EPHEMERAL}/oauth/callback`],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      client_name: 'MCP CLI Client',
      client_uri: 'https://github.com/modelcontextprotocol/mcp-cli',
      software_id: '2e6dc280-f3c3-4e01-99a7-8181dbd1d23d',
      software_version: '0.1.29',
      scope: challengeScope,
    }),
    redirect: () => `http://localhost:${EPHEMERAL}/oauth/callback`,
  },
  {
    client: 'Copilot Studio',
    // tableau/tableau-mcp#866 and pantalytics/odoo-mcp-pro#57: a per-connector callback under
    // https://global.consent.azure-apim.net/redirect/; activepieces/activepieces#14397: it sends
    // no token_endpoint_auth_method (RFC 7591 §2 default client_secret_basic) and authenticates
    // with HTTP Basic.
    registration: () => ({
      redirect_uris: ['https://global.consent.azure-apim.net/redirect/cr6d9-5fmcp-2dgatehouse-5f3a1b2c4d'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    }),
    redirect: () => 'https://global.consent.azure-apim.net/redirect/cr6d9-5fmcp-2dgatehouse-5f3a1b2c4d',
  },
];

/**
 * Clients identified by a Client ID Metadata Document. `document(clientId)` is the document as
 * published, with `client_id` set to the local URL it is served from.
 */
const DOCUMENTS = [
  {
    client: 'Claude Code (metadata document)',
    // anthropics/claude-code#64705 and #44429: https://claude.ai/oauth/claude-code-client-metadata
    // lists http://localhost/callback and http://127.0.0.1/callback, and Claude Code sends
    // http://127.0.0.1:<ephemeral port>/callback. Before issue 17 the port had to match.
    path: '/oauth/claude-code-client-metadata',
    document: (clientId) => ({
      client_id: clientId,
      redirect_uris: ['http://localhost/callback', 'http://127.0.0.1/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    }),
    redirect: () => `http://127.0.0.1:${EPHEMERAL}/callback`,
  },
  {
    client: 'VS Code (metadata document)',
    // microsoft/vscode#271403 "Use CIMD if supported": VS Code sends the URL of its document
    // (https://vscode.dev/oauth/client-metadata.json, microsoft/vscode#298300) as client_id when
    // the server advertises client_id_metadata_document_supported, as gatehouse does. The document
    // is hosted, not in the repository: its redirect URIs here are those oauth.ts registers, and
    // the desktop sends http://127.0.0.1:<ephemeral port>/ (issue 17).
    path: '/oauth/client-metadata.json',
    document: (clientId) => ({
      client_id: clientId,
      client_uri: 'https://code.visualstudio.com',
      redirect_uris: ['https://insiders.vscode.dev/redirect', 'https://vscode.dev/redirect', 'http://127.0.0.1/', 'http://127.0.0.1:33418/'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      application_type: 'native',
    }),
    redirect: () => `http://127.0.0.1:${EPHEMERAL}/`,
  },
];

/**
 * Clients whose published document does not list the redirect URI they send: gatehouse refuses
 * them with an error page (RFC 6749 §4.1.2.1: never a redirect), as any server that compares
 * redirect URIs as RFC 6749 §3.1.2.3 and the MCP specification ask must. Fixing this is theirs.
 */
const BROKEN_DOCUMENTS = [
  {
    client: 'Goose',
    // aaif-goose/goose documentation/static/oauth/client-metadata.json (served at
    // https://goose-docs.ai/oauth/client-metadata.json, CLIENT_METADATA_URL in
    // crates/goose/src/oauth/mod.rs) lists only http://localhost/oauth_callback, while
    // oauth_flow() listens on 127.0.0.1 and sends http://127.0.0.1:<port>/oauth_callback: another
    // host (RFC 8252 §8.3 tells localhost and the IP literal apart). Its `scope` "openid profile
    // email" and its lack of refresh_token would fail next.
    path: '/oauth/client-metadata.json',
    document: (clientId) => ({
      client_id: clientId,
      client_name: 'goose',
      redirect_uris: ['http://localhost/oauth_callback'],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      scope: 'openid profile email',
      code_challenge_methods_supported: ['S256'],
    }),
    redirect: () => `http://127.0.0.1:${EPHEMERAL}/oauth_callback`,
  },
  {
    client: 'OpenCode',
    // anomalyco/opencode#50510: with client_id_metadata_document_supported, OpenCode identifies
    // as https://opencode.ai/oauth/opencode/client.json (document in anomalyco/opencode#47737),
    // which lists http://127.0.0.1/callback and http://localhost/callback, and sends
    // http://127.0.0.1:19876/mcp/oauth/callback: another path.
    path: '/oauth/opencode/client.json',
    document: (clientId) => ({
      client_id: clientId,
      client_name: 'opencode',
      client_uri: 'https://opencode.ai',
      application_type: 'native',
      redirect_uris: ['http://127.0.0.1/callback', 'http://localhost/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    }),
    redirect: () => 'http://127.0.0.1:19876/mcp/oauth/callback',
  },
];

let gh;
let browser;
let docs;
let docsUrl;
const served = new Map();

before(async () => {
  docs = createServer((req, res) => {
    const body = served.get(req.url);
    if (!body) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=600' }).end(body);
  });
  await new Promise((resolve) => docs.listen(0, '127.0.0.1', resolve));
  docsUrl = `http://127.0.0.1:${docs.address().port}`;
  [gh, browser] = await Promise.all([startGatehouse({ vars: { CIMD_ALLOW_INSECURE_LOOPBACK: 'on' } }), startChromium()]);
});
after(async () => {
  await Promise.all([gh?.stop(), browser?.stop()]);
  docs?.closeAllConnections();
  docs?.close();
});

const b64url = (bytes) => Buffer.from(bytes).toString('base64url');

/** What a client learns before registering from instance `at`: the app's 401, RFC 9728 and RFC 8414 metadata. */
async function discover(at = gh) {
  const challenge = await fetch(`${at.url}/api/whoami`);
  assert.equal(challenge.status, 401);
  const header = challenge.headers.get('www-authenticate');
  const metadataUrl = header.match(/resource_metadata="([^"]+)"/)[1];
  const challengeScope = header.match(/scope="([^"]+)"/)?.[1];
  const resource = await (await fetch(metadataUrl)).json();
  const issuer = resource.authorization_servers[0];
  const server = await (await fetch(new URL('/.well-known/oauth-authorization-server', issuer))).json();
  return { at, resource: resource.resource, challengeScope, server, grantTypesSupported: server.grant_types_supported };
}

/** The token endpoint, authenticated as the registration answer says (RFC 6749 §2.3.1). */
async function token(server, client, params) {
  const headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  const body = new URLSearchParams(params);
  switch (client.token_endpoint_auth_method) {
    case 'client_secret_basic':
      headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64')}`;
      break;
    case 'client_secret_post':
      body.set('client_id', client.client_id);
      body.set('client_secret', client.client_secret);
      break;
    case 'none':
      body.set('client_id', client.client_id);
      break;
    default:
      assert.fail(`unexpected token_endpoint_auth_method ${client.token_endpoint_auth_method}`);
  }
  const res = await fetch(server.token_endpoint, { method: 'POST', headers, body });
  const json = await res.json();
  assert.equal(res.status, 200, JSON.stringify(json));
  return json;
}

/** Starts the authorization as the client would and returns the URL it opens and the PKCE verifier. */
function authorizationUrl(ctx, client, redirect, scope, state) {
  const verifier = b64url(randomBytes(32));
  const url = new URL(ctx.server.authorization_endpoint);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', client.client_id);
  url.searchParams.set('redirect_uri', redirect);
  url.searchParams.set('code_challenge', b64url(createHash('sha256').update(verifier).digest()));
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('state', state);
  url.searchParams.set('resource', ctx.resource);
  if (scope !== undefined) url.searchParams.set('scope', scope);
  return { url, verifier };
}

/** The person, in the browser: logs in, reads the consent page, approves. Returns the page text and the redirect. */
async function personApproves(url, at = gh) {
  const page = await browser.page({ captureRedirectsFrom: at.url });
  try {
    await page.goto(url);
    const login = await page.text();
    assert.ok(await page.evaluate('!!document.querySelector("input[name=password]")'), `a login page, not: ${login}`);
    await page.fill({ email: DEMO.email, password: DEMO.password });
    await page.click('form button[type=submit]');
    const consent = await page.text();
    assert.match(consent, /Allow .+ to act for you\?/, consent);
    await page.click('button[value=approve]');
    const { status, location } = await page.redirected();
    return { consent, status, location };
  } finally {
    await page.close();
  }
}

/** Exchange, refresh and a request to the app: what every client does after the redirect. */
async function finish(ctx, client, location, redirect, verifier, state) {
  assert.ok(location.startsWith(`${redirect}?`), `${location} should go to ${redirect}`);
  const params = new URL(location).searchParams;
  assert.equal(params.get('state'), state);
  assert.equal(params.get('iss'), ctx.server.issuer, 'RFC 9207');
  const tokens = await token(ctx.server, client, {
    grant_type: 'authorization_code',
    code: params.get('code'),
    redirect_uri: redirect,
    code_verifier: verifier,
    resource: ctx.resource,
  });
  assert.ok(tokens.refresh_token, 'a refresh token');
  const refreshed = await token(ctx.server, client, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token, 'rotated');
  const app = await fetch(`${ctx.at.url}/api/whoami`, { headers: { authorization: `Bearer ${refreshed.access_token}` } });
  assert.equal(app.status, 200, await app.clone().text());
  const whoami = await app.json();
  assert.equal(whoami['gatehouse-email'], DEMO.email);
  assert.equal(whoami['gatehouse-client-id'], client.client_id);
}

/** A registered client's whole flow against instance `at`. */
async function registeredFlow(c, at = gh) {
  const ctx = await discover(at);
  const request = c.registration(ctx);
  const res = await fetch(ctx.server.registration_endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) });
  const client = await res.json();
  assert.equal(res.status, 201, JSON.stringify(client));
  assert.deepEqual(client.redirect_uris, request.redirect_uris, 'every callback it asked for');
  const redirect = c.redirect(ctx);
  const scope = c.scope ? c.scope(ctx) : ctx.challengeScope;
  const state = b64url(randomBytes(16));
  const { url, verifier } = authorizationUrl(ctx, client, redirect, scope, state);
  const { consent, status, location } = await personApproves(url, at);
  // The name is the client's own claim: shown, and marked as not verified.
  assert.ok(consent.includes(request.client_name ?? client.client_id), consent);
  assert.match(consent, /name not verified/);
  if (c.consent) assert.match(consent, c.consent);
  assert.equal(status, 303);
  await finish(ctx, client, location, redirect, verifier, state);
}

describe('clients that register (RFC 7591)', () => {
  for (const c of REGISTERED) {
    test(`${c.client}: registers, the person logs in and approves, and it exchanges, refreshes and calls the app`, () => registeredFlow(c));
  }
});

describe('clients identified by a metadata document', () => {
  for (const c of DOCUMENTS) {
    test(`${c.client}: the document is fetched, the person logs in and approves, and it exchanges, refreshes and calls the app`, async () => {
      const ctx = await discover();
      assert.equal(ctx.server.client_id_metadata_document_supported, true);
      const path = `/${served.size}${c.path}`;
      const client = { client_id: `${docsUrl}${path}`, token_endpoint_auth_method: 'none' };
      served.set(path, JSON.stringify(c.document(client.client_id)));
      const redirect = c.redirect(ctx);
      const state = b64url(randomBytes(16));
      const { url, verifier } = authorizationUrl(ctx, client, redirect, ctx.challengeScope, state);
      const { consent, status, location } = await personApproves(url);
      assert.match(consent, /client identified by https:\/\/127\.0\.0\.1\/…/);
      assert.doesNotMatch(consent, /name not verified/);
      assert.equal(status, 303);
      await finish(ctx, client, location, redirect, verifier, state);
    });
  }

  for (const c of BROKEN_DOCUMENTS) {
    test(`${c.client}: its document does not list the redirect URI it sends, so the person gets an error page, never a redirect`, async () => {
      const ctx = await discover();
      const path = `/${served.size}${c.path}`;
      const clientId = `${docsUrl}${path}`;
      served.set(path, JSON.stringify(c.document(clientId)));
      const { url } = authorizationUrl(ctx, { client_id: clientId }, c.redirect(ctx), ctx.challengeScope, 's');
      const page = await browser.page({ captureRedirectsFrom: gh.url });
      try {
        await page.goto(url);
        const text = await page.text();
        assert.match(text, /redirect_uri does not match a registered redirect URI/, text);
        assert.equal(await page.evaluate('location.href'), url.href, 'no redirect anywhere');
      } finally {
        await page.close();
      }
    });
  }
});

/**
 * Where an operator turns metadata documents off (`CIMD=off`), the two clients above register
 * instead, and connect.
 */
const FALLBACK_REGISTRATIONS = [
  {
    client: 'Goose (registration)',
    // aaif-goose/goose crates/goose/src/oauth/mod.rs: without CIMD, rmcp registers the client
    // name "goose" (AuthorizationRequest::with_client_name) and the listener's
    // http://127.0.0.1:<port>/oauth_callback (modelcontextprotocol/rust-sdk
    // crates/rmcp/src/transport/auth.rs: public client, code and refresh grants).
    registration: () => ({
      client_name: 'goose',
      redirect_uris: [`http://127.0.0.1:${EPHEMERAL}/oauth_callback`],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    }),
    redirect: () => `http://127.0.0.1:${EPHEMERAL}/oauth_callback`,
  },
  {
    client: 'OpenCode (registration)',
    // anomalyco/opencode packages/opencode/src/mcp/oauth-provider.ts, clientMetadata, sent by the
    // MCP TypeScript SDK with the challenge's scope; elmohq/elmo#684: "no type, loopback only".
    registration: ({ challengeScope }) => ({
      redirect_uris: ['http://127.0.0.1:19876/mcp/oauth/callback'],
      client_name: 'OpenCode',
      client_uri: 'https://opencode.ai',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      scope: challengeScope,
    }),
    redirect: () => 'http://127.0.0.1:19876/mcp/oauth/callback',
  },
];

describe('with CIMD=off, the clients whose documents fail register instead', () => {
  let off;
  before(async () => (off = await startGatehouse({ vars: { CIMD: 'off' } })));
  after(() => off?.stop());

  test('discovery does not advertise metadata documents', async () => {
    const { server } = await discover(off);
    assert.notEqual(server.client_id_metadata_document_supported, true);
  });

  for (const c of FALLBACK_REGISTRATIONS) {
    test(`${c.client}: registers, the person logs in and approves, and it exchanges, refreshes and calls the app`, () => registeredFlow(c, off));
  }
});

test('the matrix covers at least 14 clients that connect', () => {
  assert.ok(REGISTERED.length + DOCUMENTS.length >= 14, `${REGISTERED.length + DOCUMENTS.length}`);
});
