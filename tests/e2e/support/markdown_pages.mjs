// An origin of HTML pages for the Markdown conversion's load and failure cases: a node:http
// server on 127.0.0.1.
//   GET /small         → a small page
//   GET /dense         → 1 MiB of element-dense HTML (an element every ~15 bytes), chunked;
//                        with ?kib=N, N KiB of it
//   GET /cut           → 1.5 MiB of paragraphs: cut off at the conversion's source limit
//   GET /stall         → the start of a page, then nothing until `release()` sends its end
//   GET /reset         → the start of a page, then the connection is reset
//   GET /endless       → a page sent 64 KiB at a time for as long as the client reads
// `held` holds the responses /stall keeps open; `stop()` closes every connection.
import http from 'node:http';

const SMALL = '<!doctype html><h1>Small</h1><p>A <em>small</em> page with a <a href="/x">link</a>.</p>';

/** `bytes` of HTML whose every element is one the Markdown writer acts on or passes through. */
export function densePage(bytes) {
  const unit = '<p><b>x</b> <i>y</i> <span>z</span> <a href="/q">w</a></p>\n';
  return `<h1>Dense</h1>${unit.repeat(Math.ceil(bytes / unit.length))}`;
}

const CUT = `<h1>Cut</h1>${'<p>paragraph of a long page</p>'.repeat(Math.ceil((1.5 * 1024 * 1024) / 31))}<p>THE END</p>`;

export async function startPageOrigin() {
  const held = new Set();
  const server = http.createServer((req, res) => {
    const { pathname, searchParams } = new URL(req.url, 'http://origin');
    if (!['/small', '/dense', '/cut', '/stall', '/reset', '/endless'].includes(pathname)) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    if (pathname === '/small') return res.end(SMALL);
    if (pathname === '/dense') {
      const page = densePage(Number(searchParams.get('kib') ?? 1024) * 1024);
      res.write(page.slice(0, page.length / 2));
      return res.end(page.slice(page.length / 2));
    }
    if (pathname === '/cut') return res.end(CUT);
    if (pathname === '/stall') {
      held.add(res);
      res.on('close', () => held.delete(res));
      return res.write(`<h1>Stall</h1>${'<p>before the stall</p>'.repeat(500)}<p>cut here`);
    }
    if (pathname === '/reset') {
      res.write(`<h1>Reset</h1>${'<p>before the reset</p>'.repeat(500)}<div><p>cut here`);
      return setTimeout(() => res.socket?.resetAndDestroy(), 50);
    }
    if (pathname === '/endless') {
      const chunk = '<p>more</p>'.repeat(6000);
      const next = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', next);
      };
      return next();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    held,
    release: () => held.forEach((res) => res.end('</p><p>after the stall</p>')),
    stop: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}
