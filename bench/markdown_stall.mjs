// The request after a long Markdown conversion (issue 20): each round sends a 1.5 MiB page as
// Markdown (converted, cut at the source limit, ~7 s of CPU here) and then at once a small page
// as HTML, through the address `wrangler dev` prints (its ProxyWorker), and with PATHS=
// proxy,direct also straight to the workerd socket behind it, alternating in one run. A small
// page not answered within SMALL_TIMEOUT_MS counts as stalled, and the log says when the origin
// saw its subrequest and which TCP connections were open halfway through its wait. Bounded: ROUNDS
// rounds, 30 s a conversion.
//   GATEHOUSE_NO_OPT=1 scripts/build && ROUNDS=6 node bench/markdown_stall.mjs
// DELAY_MS=1500 waits that long before each small page. Requests straight to the socket (the
// direct path's token flow) were seen to stop the stall through the proxy too (bench/README.md).
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { startGatehouse } from '../tests/e2e/support/gatehouse.mjs';
import { tokensFor } from '../tests/e2e/support/oauth.mjs';

const ROUNDS = Number(process.env.ROUNDS ?? 6);
const SMALL_TIMEOUT_MS = Number(process.env.SMALL_TIMEOUT_MS ?? 5000);
const DELAY_MS = Number(process.env.DELAY_MS ?? 0);
const PATHS = (process.env.PATHS ?? 'proxy').split(',');
const t0 = Date.now();
const at = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
const CUT = `<h1>Cut</h1>${'<p>paragraph of a long page</p>'.repeat(Math.ceil((1.5 * 1024 * 1024) / 31))}<p>THE END</p>`;
const seen = [];
const origin = http.createServer((req, res) => {
  seen.push({ url: req.url, at: Date.now() });
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(req.url.startsWith('/cut') ? CUT : '<h1>Small</h1><p>a small page</p>');
});
await new Promise((resolve) => origin.listen(0, '127.0.0.1', resolve));
const apps = [{ name: 'Pages', host: '*', scopes: { read: 'Read' }, default_scopes: ['read'], policy: { allow_domains: ['example.com'] }, origin: `http://127.0.0.1:${origin.address().port}` }];
const gh = await startGatehouse({ vars: { APPS: JSON.stringify(apps) } });
try {
  // wrangler's ProxyWorker (the address it prints) and the Worker's own workerd socket behind it
  // (the harness's `url` relays to the latter).
  const proxy = gh.wranglerUrl;
  const direct = `http://127.0.0.1:${gh.workerPort}`;
  // Tokens are bound to the issuer, which is the address asked.
  const paths = {
    proxy: { base: proxy, token: (await tokensFor(proxy, { scope: 'read' })).tokens.access_token },
    direct: { base: direct, token: !PATHS.includes('direct') ? '' : (await tokensFor(direct, { scope: 'read' })).tokens.access_token },
  };
  console.log(`proxy ${proxy}, direct ${direct}`);
  const get = async ({ base, token }, path, accept, timeout) => {
    const start = Date.now();
    try {
      const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}`, accept }, signal: AbortSignal.timeout(timeout) });
      const bytes = (await res.arrayBuffer()).byteLength;
      return { ok: true, text: `${res.status}, ${bytes} B, ${Date.now() - start} ms` };
    } catch (error) {
      return { ok: false, text: `${error.name} after ${Date.now() - start} ms` };
    }
  };
  const stalls = { proxy: 0, direct: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of PATHS) {
      const cut = await get(paths[name], '/cut', 'text/markdown', 30_000);
      if (DELAY_MS) await new Promise((resolve) => setTimeout(resolve, DELAY_MS));
      const sent = Date.now();
      // Once the small page is late, the TCP connections to both sockets: whether wrangler's
      // proxy has a connection open to the Worker's workerd for it.
      const probe = setTimeout(() => {
        const ports = [new URL(proxy).port, new URL(direct).port];
        const rows = execFileSync('ss', ['-tnpH']).toString().split('\n')
          .filter((row) => ports.some((port) => row.includes(`127.0.0.1:${port} `)));
        console.log(`  connections ${SMALL_TIMEOUT_MS / 2} ms into the small page (proxy ${ports[0]}, direct ${ports[1]}):\n  ${rows.join('\n  ')}`);
      }, SMALL_TIMEOUT_MS / 2);
      const small = await get(paths[name], `/small?${name}-${round}`, 'text/html', SMALL_TIMEOUT_MS);
      clearTimeout(probe);
      if (!small.ok) {
        stalls[name]++;
        // The next request (the next round's) lets it through; note when the origin saw it.
        setTimeout(() => {
          const hit = seen.find((s) => s.url === `/small?${name}-${round}`);
          console.log(`  (${name} round ${round}: the origin saw the small page ${hit ? `${hit.at - sent} ms after it was sent` : 'not yet'})`);
        }, 1_000).unref();
      }
      console.log(`${at()} round ${round} ${name}: /cut as Markdown ${cut.text}; then /small as HTML ${small.text}`);
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  console.log(`stalled: ${PATHS.map((name) => `${name} ${stalls[name]}/${ROUNDS}`).join(', ')}`);
} finally {
  await gh.stop();
  origin.closeAllConnections();
  origin.close();
}
