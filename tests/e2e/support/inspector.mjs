// A DevTools protocol session on the Worker's isolate, through the inspector port that
// `wrangler dev` opens (startGatehouse returns it as `inspectorPort`). bench/profile.mjs samples
// CPU with it; the hot-path test counts which runtime APIs the Worker calls.
import WebSocket from 'ws';

/**
 * Opens a session: `call(method, params)` resolves with the result, `events` holds every event
 * received (`{ method, params }`), `close()` ends it.
 */
export async function inspect(port) {
  const [target] = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let id = 0;
  const pending = new Map();
  const events = [];
  ws.on('message', (data) => {
    const message = JSON.parse(data);
    if (message.id === undefined) events.push(message);
    const settle = pending.get(message.id);
    pending.delete(message.id);
    if (!settle) return;
    if (message.error) settle.reject(new Error(`${message.error.message} (${message.error.code})`));
    else settle.resolve(message.result);
  });
  const call = (method, params = {}) =>
    new Promise((resolve, reject) => {
      pending.set(++id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  return { call, events, close: () => ws.close() };
}

/**
 * Counts calls from the Worker's wasm into runtime APIs. Each such call goes through one import
 * function of wasm-bindgen's glue, `__wbg_<method>_<hash>: function(…){ … }` (a D1 query starts
 * with `__wbg_prepare_…`). A conditional breakpoint on each named function counts its calls in
 * the isolate and never pauses. `counts()` returns the calls per method since the previous
 * `counts()` (or since the start).
 */
export async function countRuntimeCalls(port, methods) {
  const session = await inspect(port);
  await session.call('Runtime.enable');
  await session.call('Debugger.enable');
  const script = await glueScript(session);
  const counter = 'globalThis.__gatehouseRuntimeCalls';
  const evaluate = async (expression) => {
    const { result } = await session.call('Runtime.evaluate', { expression, contextId: script.contextId, returnByValue: true });
    return result.value;
  };
  await evaluate(`${counter} = {}`);
  // One breakpoint per import function, counting for every spec that names it.
  const counters = new Map(); // source offset → condition parts
  for (const spec of methods) {
    // A string names an import; `{ label, method, callee }` counts, under `label`, only the calls
    // of import `method` (e.g. `call`, a JS function call) whose first argument is a function
    // named `callee`: KV's `get` and `put` are reached that way, through `Function.prototype.call`.
    const { label, method, callee } = typeof spec === 'string' ? { label: spec, method: spec } : spec;
    const found = new RegExp(`__wbg_${method}_[0-9a-f]{16}\\s*:[^{]*?function\\s*\\(([^)]*)\\)\\s*\\{`, 'g');
    let match;
    let any = false;
    while ((match = found.exec(script.source))) {
      const first = match[1].split(',')[0].trim();
      if (callee && !first) continue;
      any = true;
      const count = `(${counter}[${JSON.stringify(label)}] = (${counter}[${JSON.stringify(label)}] ?? 0) + 1)`;
      const part = callee ? `(typeof ${first} === 'function' && ${first}.name === ${JSON.stringify(callee)} && ${count})` : count;
      const offset = match.index + match[0].length;
      counters.set(offset, [...(counters.get(offset) ?? []), part]);
    }
    if (!any) throw new Error(`no wasm-bindgen import for ${method} in the Worker's glue`);
  }
  for (const [offset, parts] of counters) {
    await session.call('Debugger.setBreakpoint', {
      location: { scriptId: script.scriptId, ...position(script.source, offset) },
      condition: `(${parts.join(', ')}, false)`,
    });
  }
  const counts = async () => {
    const calls = await evaluate(`(() => { const c = ${counter}; ${counter} = {}; return JSON.stringify(c); })()`);
    return JSON.parse(calls);
  };
  const stop = async () => {
    await session.call('Debugger.disable');
    session.close();
  };
  return { counts, stop };
}

/** The Worker's bundled script (build/index.js): the one that holds wasm-bindgen's imports. */
async function glueScript(session) {
  const deadline = Date.now() + 10_000;
  const seen = new Set();
  while (Date.now() < deadline) {
    for (const { method, params } of session.events) {
      if (method !== 'Debugger.scriptParsed' || seen.has(params.scriptId)) continue;
      seen.add(params.scriptId);
      const { scriptSource } = await session.call('Debugger.getScriptSource', { scriptId: params.scriptId });
      if (scriptSource.includes('__wbindgen_start')) {
        return { scriptId: params.scriptId, contextId: params.executionContextId, source: scriptSource };
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the Worker\'s script was not announced by the inspector');
}

/** Zero-based line and column of `offset` in `source`. */
function position(source, offset) {
  const before = source.slice(0, offset);
  const lineNumber = before.split('\n').length - 1;
  return { lineNumber, columnNumber: offset - (before.lastIndexOf('\n') + 1) };
}
