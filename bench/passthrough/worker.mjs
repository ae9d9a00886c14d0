// The benchmark's baseline: a bare pass-through Worker in plain JavaScript. It forwards every
// request to ORIGIN (same method, path, query, headers and body) and returns the origin's
// response as is. Whatever gatehouse costs beyond this is gatehouse's own work.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    return fetch(new Request(new URL(url.pathname + url.search, env.ORIGIN), request));
  },
};
