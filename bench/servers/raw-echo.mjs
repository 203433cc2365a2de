#!/usr/bin/env node
// The "floor" upstream: newline-delimited JSON-RPC over stdio, no MCP library.
// It speaks just enough MCP (initialize, ping, tools/list, tools/call echo) for
// real clients and gateways to use it, and does as little work as possible.

const VERSIONS = new Set(['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05']);
const LATEST = '2025-11-25';

const ECHO_TOOL = {
  name: 'echo',
  description: 'Returns the nonce it was given.',
  inputSchema: {
    type: 'object',
    properties: { nonce: { type: 'string' } },
    required: ['nonce'],
  },
};

function handle(msg) {
  const { method, params } = msg;
  switch (method) {
    case 'initialize': {
      const asked = params?.protocolVersion;
      return {
        result: {
          protocolVersion: VERSIONS.has(asked) ? asked : LATEST,
          capabilities: { tools: {} },
          serverInfo: { name: 'raw-echo', version: '1.0.0' },
        },
      };
    }
    case 'ping':
      return { result: {} };
    case 'tools/list':
      return { result: { tools: [ECHO_TOOL] } };
    case 'tools/call': {
      if (params?.name !== 'echo') {
        return { error: { code: -32602, message: `Unknown tool: ${params?.name}` } };
      }
      const nonce = String(params.arguments?.nonce ?? '');
      return { result: { content: [{ type: 'text', text: nonce }], structuredContent: { nonce } } };
    }
    default:
      return { error: { code: -32601, message: `Method not found: ${method}` } };
  }
}

function onLine(line) {
  if (line.length === 0) return;
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    process.stdout.write(
      `${JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } })}\n`,
    );
    return;
  }
  // Notifications (no id) and responses (no method) need no answer.
  if (
    msg === null ||
    typeof msg !== 'object' ||
    msg.id === undefined ||
    msg.id === null ||
    typeof msg.method !== 'string'
  )
    return;
  const out = handle(msg);
  process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', id: msg.id, ...out })}\n`);
}

let carry = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  const parts = (carry + chunk).split('\n');
  carry = parts.pop();
  for (const p of parts) onLine(p.endsWith('\r') ? p.slice(0, -1) : p);
});
process.stdin.on('end', () => process.exit(0));
process.stdout.on('error', () => process.exit(0));
