// An origin Worker reached through a service binding: answers with what it received.
export default {
  async fetch(request) {
    const url = new URL(request.url);
    const headers = Object.fromEntries([...request.headers].filter(([name]) => name.startsWith('gatehouse-') || name === 'authorization'));
    return Response.json({ via: 'service binding', method: request.method, path: url.pathname, host: url.host, headers });
  },
};
