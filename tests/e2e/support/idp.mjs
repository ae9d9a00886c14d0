// A real OpenID Connect provider for the end-to-end suites: `oidc-provider` (panva) on a free
// 127.0.0.1 port, with one confidential test client, users whose ID tokens carry email, name and
// groups, its documented development interactions (login and consent forms) for the person's
// steps, and switches the suites need: rotate the signing key, tamper with the next ID token,
// and stop it (provider down).
//
//   const idp = await startIdp({ users: { alice: { email: 'alice@example.com', groups: ['eng'] } } });
//   idp.allowRedirect(`${gh.url}/.gatehouse/oidc/callback`);
//   const callback = await idp.login(authorizationUrl, 'alice');   // the URL gatehouse gets back
//   await idp.stop();
import http from 'node:http';
import { generateKeyPair, exportJWK } from 'jose';
import Provider from 'oidc-provider';
import { freePort } from './gatehouse.mjs';
import { rawFetch } from './oauth.mjs';

export const IDP_CLIENT = { id: 'gatehouse-e2e', secret: 'e2e-upstream-client-secret-0123456789' };

async function signingKey(kid) {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
}

/**
 * Starts the provider. `users`: account id → claims (email, email_verified defaults to true,
 * name, groups). Returns { issuer, allowRedirect, rotateKeys, tamperNextIdToken, login, stop }.
 */
export async function startIdp({ users }) {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  let keys = [await signingKey('key-1')];
  let redirectUris = [];
  let tamper = false;
  let provider;

  const build = () => {
    provider = new Provider(issuer, {
      clients: [{
        client_id: IDP_CLIENT.id,
        client_secret: IDP_CLIENT.secret,
        redirect_uris: redirectUris.length ? redirectUris : ['http://127.0.0.1/unset'],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      }],
      jwks: { keys },
      async findAccount(ctx, id) {
        const claims = users[id];
        if (!claims) return undefined;
        return { accountId: id, claims: async () => ({ sub: id, email_verified: true, ...claims }) };
      },
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
      scopes: ['openid', 'email', 'profile', 'groups'],
      // Put the scopes' claims into the ID token itself, as Okta, Entra and Keycloak do for
      // groups and email (OpenID Connect Core §5.4 lets them go to userinfo only otherwise).
      conformIdTokenClaims: false,
      pkce: { required: () => true },
      features: { devInteractions: { enabled: true } },
      cookies: { keys: ['e2e-cookie-signing-key'] },
      // The token endpoint's answer, before it is sent: the tampering switch flips a claim.
    });
    provider.use(async (ctx, next) => {
      await next();
      if (tamper && ctx.path === '/token' && ctx.body?.id_token) {
        tamper = false;
        const [header, payload, signature] = ctx.body.id_token.split('.');
        const claims = JSON.parse(Buffer.from(payload, 'base64url'));
        claims.groups = [...(claims.groups ?? []), 'admins'];
        ctx.body = { ...ctx.body, id_token: [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.') };
      }
    });
  };
  build();

  const server = http.createServer((req, res) => provider.callback()(req, res));
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  let running = true;

  /** The person's browser at the provider: a cookie jar and redirect-free requests. */
  const jar = new Map();
  const browse = async (url, init = {}) => {
    const headers = { ...(init.headers ?? {}) };
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await rawFetch(url, { ...init, headers });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair.indexOf('=');
      jar.set(pair.slice(0, at).trim(), pair.slice(at + 1));
    }
    return res;
  };
  const form = (fields) => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });

  return {
    issuer,
    /** Registers gatehouse's callback as the client's only redirect URI. */
    allowRedirect(uri) {
      redirectUris = [uri];
      build();
    },
    /** A new signing key replaces the old one; the JWKS publishes only the new one. */
    async rotateKeys() {
      keys = [await signingKey(`key-${Date.now()}`)];
      build();
    },
    /** The next ID token the token endpoint returns gets an extra group, signature unchanged. */
    tamperNextIdToken() {
      tamper = true;
    },
    /**
     * Plays the person at the provider: follows the authentication request `url`, logs in as
     * `user` (or cancels, with `cancel: true`), consents, and returns the URL the provider sends
     * the browser back to (gatehouse's callback with code, state and iss).
     */
    async login(url, user, { cancel = false } = {}) {
      jar.clear();
      let res = await browse(url);
      for (let step = 0; step < 10; step += 1) {
        const location = res.headers.get('location');
        if (location) {
          const next = new URL(location, issuer);
          if (next.origin !== issuer) return next;
          res = await browse(next);
          continue;
        }
        const html = await res.text();
        if (res.status !== 200) throw new Error(`provider answered ${res.status}: ${html}`);
        const action = new URL(html.match(/action="([^"]+)"/)[1], issuer);
        if (cancel) {
          res = await browse(new URL(`${action.pathname}/abort`, issuer));
        } else if (html.includes('name="login"')) {
          res = await browse(action, form({ prompt: 'login', login: user, password: 'any' }));
        } else {
          res = await browse(action, form({ prompt: 'consent' }));
        }
      }
      throw new Error('the provider never sent the browser back');
    },
    async stop() {
      if (!running) return;
      running = false;
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
