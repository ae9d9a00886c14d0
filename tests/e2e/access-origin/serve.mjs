// Runs tests/e2e/access-origin/worker.mjs, unchanged, as an origin on 127.0.0.1: a node:http
// server hands each request to its `fetch(request, env)` as a Fetch `Request` and writes the
// `Response` back, as the Workers runtime would. `env` is given by the caller.
import http from 'node:http';
import app from './worker.mjs';

export async function startAccessOrigin(env) {
  const received = [];
  const server = http.createServer(async (req, res) => {
    const headers = new Headers();
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
    received.push({ path: req.url, headers: Object.fromEntries(headers) });
    const request = new Request(new URL(req.url, `http://${req.headers.host}`), { method: req.method, headers });
    let response;
    try {
      response = await app.fetch(request, env);
    } catch (error) {
      response = new Response(String(error), { status: 500 });
    }
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    stop: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}
