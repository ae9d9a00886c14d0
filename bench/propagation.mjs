// Revocation propagation, measured (README, "Revocation"): from the start of an RFC 7009 revoke
// call to the first `401` the gatekeeper answers for the revoked access token, while a poller
// sends the token as fast as answers come back. Against `wrangler dev` on 127.0.0.1 (the Worker
// must be built: tests/e2e/run or scripts/build). Bounded: PROPAGATION_SAMPLES revocations
// (default 20), each polled at most 5 s.
//
//   GATEHOUSE_NO_OPT=1 scripts/build && node bench/propagation.mjs
import { startGatehouse } from '../tests/e2e/support/gatehouse.mjs';
import { tokensFor } from '../tests/e2e/support/oauth.mjs';

const SAMPLES = Number(process.env.PROPAGATION_SAMPLES ?? 20);
const POLL_LIMIT_MS = 5_000;

const gh = await startGatehouse();
try {
  const figures = [];
  for (let i = 0; i < SAMPLES; i++) {
    const { client, tokens } = await tokensFor(gh.url);
    const whoami = () => fetch(`${gh.url}/api/whoami`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    if ((await whoami()).status !== 200) throw new Error('the fresh token does not pass the gate');
    const start = performance.now();
    const revoked = fetch(`${gh.url}/oauth/revoke`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens.access_token, client_id: client.client_id }),
    });
    let first;
    while (performance.now() - start < POLL_LIMIT_MS) {
      if ((await whoami()).status === 401) {
        first = performance.now() - start;
        break;
      }
    }
    if ((await revoked).status !== 200) throw new Error('revoke failed');
    if (first === undefined) throw new Error(`no 401 within ${POLL_LIMIT_MS} ms`);
    figures.push(first);
  }
  figures.sort((a, b) => a - b);
  const at = (q) => figures[Math.min(figures.length - 1, Math.floor(q * figures.length))];
  console.log(
    `revoke call → first 401, ${figures.length} samples: min ${at(0).toFixed(0)} ms, ` +
      `median ${at(0.5).toFixed(0)} ms, max ${figures[figures.length - 1].toFixed(0)} ms`,
  );
} finally {
  await gh.stop();
}
