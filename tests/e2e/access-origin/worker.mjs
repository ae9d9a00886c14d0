// An app written for Cloudflare Access, as Cloudflare's "Validate JWTs" guide has a Worker do it:
// the `Cf-Access-Jwt-Assertion` header is verified with `jose` against the keys at
// `${TEAM_DOMAIN}/cdn-cgi/access/certs`, with the team domain as issuer and the application's
// audience tag as audience. Its settings are TEAM_DOMAIN and POLICY_AUD, nothing else: behind
// gatehouse, TEAM_DOMAIN names gatehouse's URL for the app and POLICY_AUD stays what Access
// showed. Nothing here knows about gatehouse.
//   GET /whoami           → the verified claims of the header's token
//   GET /whoami?cookie=1  → the same from the CF_Authorization cookie (browser requests)
import { createRemoteJWKSet, jwtVerify } from 'jose';

let jwks;
let jwksUrl;

function keysOf(env) {
  const url = `${env.TEAM_DOMAIN}/cdn-cgi/access/certs`;
  if (url !== jwksUrl) {
    jwksUrl = url;
    jwks = createRemoteJWKSet(new URL(url));
  }
  return jwks;
}

function cookie(request, name) {
  for (const pair of (request.headers.get('cookie') ?? '').split(';')) {
    const [key, ...value] = pair.trim().split('=');
    if (key === name) return value.join('=');
  }
  return null;
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const token = url.searchParams.has('cookie')
      ? cookie(request, 'CF_Authorization')
      : request.headers.get('cf-access-jwt-assertion');
    if (!token) {
      return new Response('missing required cf authorization token', { status: 403 });
    }
    try {
      const { payload, protectedHeader } = await jwtVerify(token, keysOf(env), {
        issuer: env.TEAM_DOMAIN,
        audience: env.POLICY_AUD,
      });
      return Response.json({
        alg: protectedHeader.alg,
        email: payload.email,
        header_email: request.headers.get('cf-access-authenticated-user-email'),
        claims: payload,
      });
    } catch (error) {
      return new Response(`invalid token: ${error.code ?? error.message}`, { status: 403 });
    }
  },
};
