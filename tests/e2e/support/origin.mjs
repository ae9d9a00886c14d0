// A real origin app for the gatekeeper suites: a node:http server on 127.0.0.1 that tells what
// it received, serves an HTML page, streams and errors on request, and records every request it
// receives (`received`: method, the request line's path as sent, raw header pairs, body length).
// `startWsgiOrigin` starts a second real origin, Python's wsgiref (tests/e2e/python/wsgi_origin.py).
//   GET|POST /echo      → JSON: method, path, query, headers, body length and SHA-256
//   GET /page           → an HTML page (for the Markdown conversion)
//   GET /page/held      → the start of an HTML page, the rest only once `releaseHeldPage()` is
//                         called (a converted page must stream, not wait for the whole)
//   GET /page/unchanged → 304 Not Modified, labelled text/html
//   GET /page/large     → 1.5 MiB of HTML, chunked (no Content-Length); with ?declared=1 the
//                         same page with its Content-Length
//   GET /page/slow      → the same 1.5 MiB of HTML in 40 chunks, 100 ms apart; `slowPage.ended`
//                         says when the origin sent the last one
//   GET /status/<code>  → that status with a JSON body
//   GET /public/health  → "ok"
//   GET /framed         → "framed", with the framing headers an HTTP/1.1 server sends
//                         (Connection: keep-alive, and a Keep-Alive with a value of its own)
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT } from './gatehouse.mjs';

const PAGE = `<!doctype html><html><head><title>Notes</title><style>p{color:red}</style>
<script>alert('x')</script></head><body><nav><a href="/home">Home</a></nav>
<h1>Team notes</h1><p>Read the <a href="https://docs.example/guide">guide</a> first.</p>
<ul><li>one</li><li>two</li></ul><pre><code>let x = 1;</code></pre></body></html>`;

const LARGE_PAGE = `<h1>Large</h1>${'<p>paragraph of a long page</p>'.repeat(Math.ceil((1.5 * 1024 * 1024) / 31))}<p>THE END</p>`;

export async function startOrigin() {
  const received = [];
  const slowPage = { ended: null };
  let releaseHeldPage;
  const held = new Promise((resolve) => { releaseHeldPage = resolve; });
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://origin');
    const hash = createHash('sha256');
    let length = 0;
    req.on('data', (chunk) => {
      length += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => {
      const headers = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
      received.push({ method: req.method, path: req.url.split('?')[0], headers, length });
      if (url.pathname === '/page') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return res.end(PAGE);
      }
      if (url.pathname === '/page/held') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.write(`<h1>Held</h1><p>first part</p>${'<p>filler</p>'.repeat(2000)}`);
        return held.then(() => res.end('<p>second part</p>'));
      }
      if (url.pathname === '/page/unchanged') {
        res.writeHead(304, { 'content-type': 'text/html; charset=utf-8', etag: '"v1"' });
        return res.end();
      }
      if (url.pathname === '/page/large') {
        const headers = { 'content-type': 'text/html; charset=utf-8' };
        if (url.searchParams.get('declared')) headers['content-length'] = Buffer.byteLength(LARGE_PAGE);
        res.writeHead(200, headers);
        const half = LARGE_PAGE.length / 2;
        res.write(LARGE_PAGE.slice(0, half));
        return res.end(LARGE_PAGE.slice(half));
      }
      if (url.pathname === '/page/slow') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        const size = Math.ceil(LARGE_PAGE.length / 40);
        let at = 0;
        const next = () => {
          if (res.destroyed) return;
          const chunk = LARGE_PAGE.slice(at, at + size);
          at += size;
          if (at >= LARGE_PAGE.length) {
            slowPage.ended = Date.now();
            return res.end(chunk);
          }
          res.write(chunk);
          setTimeout(next, 100);
        };
        return next();
      }
      const status = url.pathname.match(/^\/status\/(\d{3})$/);
      if (status) {
        res.writeHead(Number(status[1]), { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ from: 'origin', status: Number(status[1]) }));
      }
      if (url.pathname === '/cookies') {
        res.writeHead(200, { 'content-type': 'text/plain', 'set-cookie': ['theme=dark; Path=/', '__Host-gatehouse-session=planted; Path=/; Secure; HttpOnly'] });
        return res.end('cookies');
      }
      if (url.pathname === '/framed') {
        res.writeHead(200, { 'content-type': 'text/plain', connection: 'keep-alive', 'keep-alive': 'timeout=5, max=4321' });
        return res.end('framed');
      }
      if (url.pathname === '/public/health') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        return res.end('ok');
      }
      res.writeHead(200, { 'content-type': 'application/json', connection: 'close, x-origin-hop', 'x-origin-hop': 'secret', 'x-origin': 'yes' });
      res.end(JSON.stringify({
        method: req.method,
        path: url.pathname,
        query: url.search,
        headers: req.headers,
        length,
        sha256: hash.digest('hex'),
      }));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    slowPage,
    releaseHeldPage: () => releaseHeldPage(),
    stop: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

/**
 * A request to gatehouse with a chosen Host header (fetch cannot set Host; without `host`, the
 * base's), its path on the request line exactly as given (fetch and URL would resolve it).
 */
export function requestWithHost(base, path, { host, method = 'GET', headers = {}, body } = {}) {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path, method, headers: { ...headers, host: host ?? url.host } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Python's wsgiref as an origin: answers every request with JSON of what the WSGI app saw
 * (`method`, `path_info`, `raw_path`, every `HTTP_*` variable, `length`). Stopped by closing its
 * stdin, then by SIGTERM to the one process started here.
 */
export async function startWsgiOrigin() {
  const child = spawn('python3', [join(ROOT, 'tests', 'e2e', 'python', 'wsgi_origin.py')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const port = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`wsgi_origin.py exited with ${code}`)));
    createInterface({ input: child.stdout }).once('line', (line) => resolve(Number(line)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGTERM'), 2_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
