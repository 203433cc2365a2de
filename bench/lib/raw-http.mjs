// Raw HTTP load generators: JSON-RPC posted straight through a keep-alive
// undici Pool, with only the headers the peer requires, so that at concurrency
// 64 the client library does not dominate the measurement.
import { Pool } from 'undici';
import { PROTOCOL_VERSION } from './floor-client.mjs';

const CONNECTIONS = 64;
const CLIENT_INFO = { name: 'bench-undici', version: '1.0.0' };

function initializeMessage(id) {
  return {
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: CLIENT_INFO },
  };
}

function rpcError(msg) {
  return Object.assign(new Error(`JSON-RPC error ${msg.error.code}: ${msg.error.message}`), {
    code: msg.error.code,
  });
}

/** One SSE event block (lines already split on LF) -> { event, data } or null. */
function parseEvent(block) {
  let event = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  // An empty data field is a resumability priming event (2025-11-25): no message.
  const text = data.join('\n');
  return text.length > 0 ? { event, data: text } : null;
}

/** Parses a complete SSE body into events. */
function sseEvents(text) {
  return text.replace(/\r/g, '').split('\n\n').map(parseEvent).filter(Boolean);
}

/** The JSON-RPC response with `id` in a Streamable HTTP POST body (JSON or SSE). */
function findResponse(text, contentType, id) {
  const candidates = [];
  if (contentType.includes('text/event-stream')) {
    for (const { data } of sseEvents(text)) candidates.push(JSON.parse(data));
  } else {
    const parsed = JSON.parse(text);
    candidates.push(...(Array.isArray(parsed) ? parsed : [parsed]));
  }
  const msg = candidates.find((m) => m && m.id === id);
  if (!msg) throw new Error(`no response for id ${id} in ${text.slice(0, 200)}`);
  if (msg.error) throw rpcError(msg);
  return msg.result;
}

/**
 * Streamable HTTP (2025 era, stateful) over one keep-alive Pool: `open()` starts a session (initialize,
 * then notifications/initialized) and resolves to its headers (Mcp-Session-Id, Mcp-Protocol-Version);
 * `request(session, method, params)` POSTs a request with them and reads its answer from the POST's own
 * body. Any number of sessions share the pool's connections: a session is its headers.
 */
export function streamableEndpoint(url, { connections = CONNECTIONS } = {}) {
  const { origin, pathname } = new URL(url);
  const pool = new Pool(origin, { connections, pipelining: 1 });
  let nextId = 1;

  async function post(headers, message) {
    const res = await pool.request({
      path: pathname,
      method: 'POST',
      headers,
      body: JSON.stringify(message),
    });
    const text = await res.body.text();
    if (res.statusCode >= 400) throw new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
    return { res, text };
  }

  return {
    async open() {
      const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
      const { res, text } = await post(headers, initializeMessage(0));
      const init = findResponse(text, String(res.headers['content-type'] ?? ''), 0);
      const sessionId = res.headers['mcp-session-id'];
      if (sessionId) headers['mcp-session-id'] = sessionId;
      headers['mcp-protocol-version'] = init.protocolVersion;
      await post(headers, { jsonrpc: '2.0', method: 'notifications/initialized' });
      return headers;
    },
    async request(session, method, params) {
      const id = nextId++;
      const { res, text } = await post(session, { jsonrpc: '2.0', id, method, params });
      return findResponse(text, String(res.headers['content-type'] ?? ''), id);
    },
    /** Ends a session (DELETE); a failure is ignored: the gateway ends it when it stops anyway. */
    async end(session) {
      if (!session['mcp-session-id']) return;
      await pool
        .request({ path: pathname, method: 'DELETE', headers: session })
        .then((r) => r.body.dump())
        .catch(() => {});
    },
    close: () => pool.close(),
    destroy: () => pool.destroy(),
  };
}

/** One session on a Streamable HTTP endpoint, calling `tool` (see streamableEndpoint). */
export async function rawStreamableClient(url, { tool = 'echo' } = {}) {
  const endpoint = streamableEndpoint(url);
  let session;
  try {
    session = await endpoint.open();
  } catch (err) {
    await endpoint.destroy();
    throw err;
  }
  return {
    async call(nonce) {
      const result = await endpoint.request(session, 'tools/call', { name: tool, arguments: { nonce } });
      return result.content[0].text;
    },
    async close() {
      await endpoint.end(session);
      await endpoint.close();
    },
  };
}

/**
 * Legacy HTTP+SSE (2024-11-05): GET the SSE stream, wait for its `endpoint`
 * event, POST messages there (202), and match answers arriving on the stream
 * by id. `tool` may be a function picking the name from a tools/list result.
 */
export async function rawSseClient(url, { tool = 'echo', timeoutMs = 10_000 } = {}) {
  const { origin, pathname } = new URL(url);
  // One connection is held by the SSE stream; the rest carry the POSTs.
  const pool = new Pool(origin, { connections: CONNECTIONS + 1, pipelining: 1 });
  const pending = new Map();
  let nextId = 1;
  let buffer = '';
  let endpointResolve;
  const endpoint = new Promise((resolve) => {
    endpointResolve = resolve;
  });

  const stream = await pool.request({
    path: pathname,
    method: 'GET',
    headers: { accept: 'text/event-stream' },
  });
  if (stream.statusCode !== 200) {
    await pool.destroy();
    throw new Error(`SSE GET ${pathname}: HTTP ${stream.statusCode}`);
  }
  const decoder = new TextDecoder();
  stream.body.on('error', () => {});
  stream.body.on('data', (chunk) => {
    buffer += decoder.decode(chunk, { stream: true }).replace(/\r/g, '');
    for (let cut = buffer.indexOf('\n\n'); cut !== -1; cut = buffer.indexOf('\n\n')) {
      const ev = parseEvent(buffer.slice(0, cut));
      buffer = buffer.slice(cut + 2);
      if (!ev) continue;
      if (ev.event === 'endpoint') {
        endpointResolve(new URL(ev.data, url));
        continue;
      }
      const msg = JSON.parse(ev.data);
      const waiter = pending.get(msg.id);
      if (!waiter) continue;
      pending.delete(msg.id);
      if (msg.error) waiter.reject(rpcError(msg));
      else waiter.resolve(msg.result);
    }
  });

  let timer;
  const messageUrl = await Promise.race([
    endpoint,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('no endpoint event on the SSE stream')), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
  const messagePath = messageUrl.pathname + messageUrl.search;
  const headers = { 'content-type': 'application/json' };

  async function send(message) {
    const res = await pool.request({
      path: messagePath,
      method: 'POST',
      headers,
      body: JSON.stringify(message),
    });
    await res.body.dump();
    if (res.statusCode >= 400) throw new Error(`POST ${messagePath}: HTTP ${res.statusCode}`);
  }

  function request(method, params, id = nextId++) {
    const answer = new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
    return send({ jsonrpc: '2.0', id, method, params }).then(
      () => answer,
      (err) => {
        pending.delete(id);
        throw err;
      },
    );
  }

  const destroy = async () => {
    stream.body.destroy();
    await pool.destroy();
  };

  let toolName;
  try {
    await request('initialize', initializeMessage(0).params);
    await send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    toolName = typeof tool === 'function' ? tool(await request('tools/list', {})) : tool;
  } catch (err) {
    await destroy();
    throw err;
  }

  return {
    async call(nonce) {
      const result = await request('tools/call', { name: toolName, arguments: { nonce } });
      return result.content[0].text;
    },
    close: destroy,
  };
}
