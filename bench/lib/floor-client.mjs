// The floor client: spawns an NDJSON stdio server and speaks raw JSON-RPC to
// it with no MCP library (an id counter and a Map of pending promises). With
// raw-echo.mjs on the other end this is the physical floor of a stdio call:
// a JSON.stringify, two pipe writes, two JSON.parse and a process hop each way.
import { spawn } from 'node:child_process';

export const PROTOCOL_VERSION = '2025-11-25';

export async function startFloorClient({ command = process.execPath, args, env, timeoutMs = 10_000 } = {}) {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'], env: env ?? process.env });
  const pending = new Map();
  let nextId = 1;
  let held = [];
  let dead = null;

  const failAll = (err) => {
    dead = err;
    for (const { reject } of pending.values()) reject(err);
    pending.clear();
  };

  child.on('error', failAll);
  child.on('exit', (code, signal) => failAll(new Error(`upstream exited (code ${code}, signal ${signal})`)));
  child.stdin.on('error', () => {}); // surfaced through 'exit'
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    // A line that spans chunks is joined once, when its newline comes (a 10 MB answer is ~160 chunks).
    if (chunk.indexOf('\n') === -1) {
      held.push(chunk);
      return;
    }
    if (held.length > 0) {
      held.push(chunk);
      chunk = held.join('');
      held = [];
    }
    const lines = chunk.split('\n');
    const rest = lines.pop();
    if (rest) held.push(rest);
    for (const line of lines) {
      if (line.length === 0) continue;
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        continue;
      }
      const waiter = pending.get(msg.id);
      if (!waiter) continue;
      pending.delete(msg.id);
      if (msg.error) waiter.reject(Object.assign(new Error(msg.error.message), { code: msg.error.code }));
      else waiter.resolve(msg.result);
    }
  });

  function request(method, params) {
    if (dead) return Promise.reject(dead);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  }

  function notify(method, params) {
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method, params })}\n`);
  }

  let timer;
  const init = await Promise.race([
    request('initialize', {
      protocolVersion: PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: 'floor-client', version: '1.0.0' },
    }),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`initialize timed out after ${timeoutMs} ms`)), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
  notify('notifications/initialized');

  return {
    serverInfo: init.serverInfo,
    request,
    async call(nonce) {
      const result = await request('tools/call', { name: 'echo', arguments: { nonce } });
      return result.content[0].text;
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.end();
      const t = setTimeout(() => child.kill('SIGKILL'), 2_000);
      await exited;
      clearTimeout(t);
    },
  };
}
