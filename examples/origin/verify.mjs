// An origin that accepts only requests gatehouse sent: it verifies the Gatehouse-Assertion
// header with jose and answers 401 otherwise (README "Locking the origin to gatehouse").
//   GATEHOUSE_APP=https://wiki.example.com PORT=8080 node verify.mjs
import http from 'node:http';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const app = process.env.GATEHOUSE_APP; // the app's URL: its issuer and the assertion's audience
const jwks = createRemoteJWKSet(new URL(`${app}/oauth/jwks.json`)); // refetched on an unknown kid

http.createServer(async (req, res) => {
  try {
    const { payload } = await jwtVerify(req.headers['gatehouse-assertion'] ?? '', jwks, {
      issuer: app, audience: app, typ: 'gatehouse-assertion+jwt', algorithms: ['ES256'],
    });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ email: payload.email, client_id: payload.client_id ?? null }));
  } catch {
    res.writeHead(401).end();
  }
}).listen(Number(process.env.PORT), '127.0.0.1');
