#!/usr/bin/env node
// The "floor" upstream: newline-delimited JSON-RPC over stdio, no MCP library.
// It speaks just enough MCP (initialize, ping, tools/list, tools/call echo) for
// real clients and gateways to use it, and does as little work as possible.
//
//   node raw-echo.mjs [--tools N] [--page-size P]
//
// --tools N (the catalog scenario): N tools, `echo` and `t1`..`t<N-1>`, each answering like `echo` with
// its own name added to structuredContent (`tool`), so a caller can check which one answered;
// --page-size P: tools/list answers P tools a page with a `nextCursor` (spec pagination).
// A string `payload` argument (the message-size scenario) comes back after the nonce in the text.

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

const arg = (name, fallback) => {
  const at = process.argv.indexOf(name);
  const n = at === -1 ? fallback : Number(process.argv[at + 1]);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} wants an integer >= 0`);
  return n;
};
const TOOL_COUNT = arg('--tools', 1);
const PAGE_SIZE = arg('--page-size', 0);
// One tool (the default): the answers stay exactly the floor's. More: a catalog, and its names.
const TOOLS =
  TOOL_COUNT <= 1
    ? [ECHO_TOOL]
    : Array.from({ length: TOOL_COUNT }, (_, i) =>
        i === 0
          ? ECHO_TOOL
          : { ...ECHO_TOOL, name: `t${i}`, description: `Returns the nonce it was given (${i}).` },
      );
const NAMES = new Set(TOOLS.map((t) => t.name));

function listTools(cursor) {
  if (PAGE_SIZE === 0) return { result: { tools: TOOLS } };
  const from = cursor === undefined ? 0 : Number(cursor);
  if (!Number.isInteger(from) || from < 0 || from >= TOOLS.length) {
    return { error: { code: -32602, message: `Invalid cursor: ${cursor}` } };
  }
  const to = from + PAGE_SIZE;
  return { result: { tools: TOOLS.slice(from, to), ...(to < TOOLS.length && { nextCursor: String(to) }) } };
}

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
      return listTools(params?.cursor);
    case 'tools/call': {
      if (!NAMES.has(params?.name)) {
        return { error: { code: -32602, message: `Unknown tool: ${params?.name}` } };
      }
      const nonce = String(params.arguments?.nonce ?? '');
      const payload = params.arguments?.payload;
      const text = typeof payload === 'string' ? nonce + payload : nonce;
      const structuredContent = TOOL_COUNT <= 1 ? { nonce } : { nonce, tool: params.name };
      return { result: { content: [{ type: 'text', text }], structuredContent } };
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

// A line that spans chunks is joined once, when its newline comes (not re-joined on every chunk: a
// 10 MB message comes in ~160 chunks).
let held = [];
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  if (chunk.indexOf('\n') === -1) {
    held.push(chunk);
    return;
  }
  if (held.length > 0) {
    held.push(chunk);
    chunk = held.join('');
    held = [];
  }
  const parts = chunk.split('\n');
  const rest = parts.pop();
  if (rest) held.push(rest);
  for (const p of parts) onLine(p.endsWith('\r') ? p.slice(0, -1) : p);
});
process.stdin.on('end', () => process.exit(0));
process.stdout.on('error', () => process.exit(0));
