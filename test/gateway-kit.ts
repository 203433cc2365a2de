/**
 * What the gateway tests share: a gateway on 127.0.0.1 port 0, the two SDK clients as peers (SDK 1.x,
 * a 2025-era client, and the v2 client pinned to 2026-07-28), and a raw 2025-era session over fetch for
 * the cases where a test must choose the exact JSON-RPC ids and progress tokens.
 */

import { request } from 'node:http';
import {
  Client as ModernClient,
  StreamableHTTPClientTransport as ModernTransport,
} from '@modelcontextprotocol/client';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as LegacyTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { Gateway, type GatewayOptions } from '../src/gateway/gateway.js';
import { ROOT } from './helpers.js';

export const ASKING_STDIO = `${ROOT}test/fixtures/asking-stdio.mjs`;

/** A config entry for the asking fixture over stdio. */
export function askingStdio(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { command: process.execPath, args: [ASKING_STDIO, name], health: false, ...extra };
}

export interface GatewayUnderTest {
  gateway: Gateway;
  url: string;
  /** The URL of `/servers/<name>/mcp`. */
  serverUrl(name: string): string;
  warnings: string[];
  close(): Promise<void>;
}

export async function startGateway(config: object, opts: GatewayOptions = {}): Promise<GatewayUnderTest> {
  const warnings: string[] = [];
  const gateway = await Gateway.start(config, {
    http: { host: '127.0.0.1', port: 0 },
    onWarning: (m) => warnings.push(m),
    ...opts,
  });
  const url = gateway.url as string;
  return {
    gateway,
    url,
    serverUrl: (name) => url.replace(/\/mcp$/, `/servers/${encodeURIComponent(name)}/mcp`),
    warnings,
    close: () => gateway.close({ timeoutMs: 2000 }),
  };
}

/** What a client answers when asked: each reply carries `marker`, so a test can tell who answered. */
export interface Answers {
  marker: string;
  /** Messages and prompts this client was asked, in order. */
  asked: string[];
}

export function answers(marker: string): Answers {
  return { marker, asked: [] };
}

function elicitReply(a: Answers, params: { message?: unknown }) {
  a.asked.push(String(params.message));
  return { action: 'accept' as const, content: { reply: `${a.marker}<-${String(params.message)}` } };
}

function sampleReply(a: Answers, params: { messages?: { content?: { text?: unknown } }[] }) {
  const text = String(params.messages?.[0]?.content?.text);
  a.asked.push(text);
  return {
    role: 'assistant' as const,
    content: { type: 'text' as const, text: `${a.marker}<-${text}` },
    model: a.marker,
  };
}

/** An SDK 1.x client (protocol 2025-11-25, a session) that answers questions with `a`'s marker. */
export async function legacyClient(
  url: string,
  a: Answers = answers('legacy'),
  opts: { headers?: Record<string, string> } = {},
): Promise<LegacyClient> {
  const client = new LegacyClient(
    { name: `legacy-${a.marker}`, version: '1.0.0' },
    { capabilities: { elicitation: {}, sampling: {}, roots: {} } },
  );
  client.setRequestHandler(ElicitRequestSchema, async (req) => elicitReply(a, req.params as never));
  client.setRequestHandler(CreateMessageRequestSchema, async (req) => sampleReply(a, req.params as never));
  client.setRequestHandler(ListRootsRequestSchema, async () => ({
    roots: [{ uri: `file:///${a.marker}`, name: a.marker }],
  }));
  await client.connect(
    new LegacyTransport(new URL(url), opts.headers ? { requestInit: { headers: opts.headers } } : {}),
  );
  return client;
}

/** An SDK v2 client pinned to 2026-07-28 (stateless), answering input_required with `a`'s marker. */
export async function modernClient(
  url: string,
  a: Answers = answers('modern'),
  opts: { headers?: Record<string, string>; autoFulfill?: boolean } = {},
): Promise<ModernClient> {
  const client = new ModernClient(
    { name: `modern-${a.marker}`, version: '2.0.0' },
    {
      capabilities: { elicitation: {}, sampling: {}, roots: {} },
      versionNegotiation: { mode: { pin: '2026-07-28' } },
      ...(opts.autoFulfill === false ? { inputRequired: { autoFulfill: false } } : {}),
    },
  );
  client.setRequestHandler('elicitation/create', async (req) => elicitReply(a, req.params as never));
  client.setRequestHandler('sampling/createMessage', async (req) => sampleReply(a, req.params as never));
  client.setRequestHandler('roots/list', async () => ({
    roots: [{ uri: `file:///${a.marker}`, name: a.marker }],
  }));
  await client.connect(
    new ModernTransport(new URL(url), opts.headers ? { requestInit: { headers: opts.headers } } : {}),
  );
  return client;
}

// ---- a raw 2025-era session -----------------------------------------------------------------------

export type Message = {
  jsonrpc: '2.0';
  id?: string | number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
};

export const LEGACY_VERSION = '2025-11-25';

/** The JSON-RPC messages of a response: one JSON body, or the data of each SSE event. */
export async function* messagesOf(response: Response): AsyncGenerator<Message> {
  const type = response.headers.get('content-type') ?? '';
  if (!response.body) return;
  if (type.includes('application/json')) {
    yield (await response.json()) as Message;
    return;
  }
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true }).replace(/\r\n/g, '\n');
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).replace(/^ /, ''))
        .join('\n');
      if (data) yield JSON.parse(data) as Message;
      end = buffer.indexOf('\n\n');
    }
  }
}

export interface Exchange {
  response: Message;
  /** Notifications that came on this request's stream, in order. */
  notifications: Message[];
  /** Requests the server sent on this request's stream, in order. */
  requests: Message[];
}

/** A 2025-era session over raw fetch: the test chooses every id and progress token. */
export class RawSession {
  readonly url: string;
  readonly id: string;
  readonly #headers: Record<string, string>;

  private constructor(url: string, id: string, headers: Record<string, string>) {
    this.url = url;
    this.id = id;
    this.#headers = headers;
  }

  static async open(
    url: string,
    opts: { headers?: Record<string, string>; capabilities?: Record<string, unknown> } = {},
  ): Promise<RawSession> {
    const headers = { ...opts.headers };
    const response = await post(url, headers, {
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: {
        protocolVersion: LEGACY_VERSION,
        capabilities: opts.capabilities ?? {},
        clientInfo: { name: 'raw', version: '1.0.0' },
      },
    });
    const id = response.headers.get('mcp-session-id');
    for await (const m of messagesOf(response))
      if (m.error) throw new Error(`initialize failed: ${m.error.message}`);
    if (!id) throw new Error(`initialize gave no session id (HTTP ${response.status})`);
    const session = new RawSession(url, id, headers);
    const sent = await session.post({ jsonrpc: '2.0', method: 'notifications/initialized' });
    await sent.body?.cancel();
    return session;
  }

  headers(): Record<string, string> {
    return { ...this.#headers, 'mcp-session-id': this.id, 'mcp-protocol-version': LEGACY_VERSION };
  }

  post(message: Message, signal?: AbortSignal): Promise<Response> {
    return post(this.url, this.headers(), message, signal);
  }

  /**
   * Sends a request with this exact id and reads its stream to its response. `onRequest` answers the
   * requests the server sends on the stream (their answer is POSTed back on this session).
   */
  async request(
    id: string | number,
    method: string,
    params: Record<string, unknown>,
    opts: {
      onRequest?: (m: Message) => Promise<Record<string, unknown>> | Record<string, unknown>;
      signal?: AbortSignal;
    } = {},
  ): Promise<Exchange> {
    const response = await this.post({ jsonrpc: '2.0', id, method, params }, opts.signal);
    const notifications: Message[] = [];
    const requests: Message[] = [];
    for await (const m of messagesOf(response)) {
      if (m.method !== undefined && m.id !== undefined) {
        requests.push(m);
        const result = opts.onRequest ? await opts.onRequest(m) : undefined;
        const reply = result
          ? { jsonrpc: '2.0' as const, id: m.id, result }
          : { jsonrpc: '2.0' as const, id: m.id, error: { code: -32601, message: 'no handler in the test' } };
        const sent = await this.post(reply);
        await sent.body?.cancel();
      } else if (m.method !== undefined) notifications.push(m);
      else if (m.id === id) return { response: m, notifications, requests };
    }
    throw new Error(
      `the stream of request ${String(id)} ended without its response (HTTP ${response.status})`,
    );
  }

  /**
   * Opens this session's GET stream (registered once its headers arrive); what the server sends on it
   * unasked lands in `heard`, in order.
   */
  async stream(): Promise<{ heard: Message[]; close(): void }> {
    const controller = new AbortController();
    const response = await fetch(this.url, {
      method: 'GET',
      headers: { ...this.headers(), accept: 'text/event-stream' },
      signal: controller.signal,
    });
    if (!response.ok) throw new Error(`the GET stream was refused (HTTP ${response.status})`);
    const heard: Message[] = [];
    void (async () => {
      for await (const m of messagesOf(response)) heard.push(m);
    })().catch(() => {});
    return { heard, close: () => controller.abort() };
  }

  async delete(): Promise<number> {
    const response = await fetch(this.url, { method: 'DELETE', headers: this.headers() });
    await response.body?.cancel();
    return response.status;
  }
}

export function post(
  url: string,
  headers: Record<string, string>,
  message: unknown,
  signal?: AbortSignal,
): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: JSON.stringify(message),
    ...(signal ? { signal } : {}),
  });
}

/**
 * A POST over node:http, for what fetch cannot choose: the Host header, and the local address the
 * connection comes from (`127.0.0.2` is another client on loopback). The answer as a fetch Response.
 */
export function postVia(
  url: string,
  opts: { host?: string; localAddress?: string; headers?: Record<string, string>; signal?: AbortSignal },
  body: string,
): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...(opts.host ? { host: opts.host } : {}),
        ...opts.headers,
      },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () =>
        resolve(
          new Response(Buffer.concat(chunks), {
            status: res.statusCode ?? 0,
            headers: { 'content-type': String(res.headers['content-type'] ?? '') },
          }),
        ),
      );
    });
    req.end(body);
  });
}

export const MODERN_VERSION = '2026-07-28';

/**
 * One raw 2026-07-28 request (no session: the version and client in `_meta`, the method in a header),
 * from `localAddress` if given. Its JSON-RPC response (the message with its id).
 */
export async function modernRequest(
  url: string,
  method: string,
  params: Record<string, unknown>,
  opts: { id?: number; localAddress?: string; signal?: AbortSignal } = {},
): Promise<Message> {
  const id = opts.id ?? 1;
  const name: Record<string, string> = typeof params.name === 'string' ? { 'mcp-name': params.name } : {};
  const _meta = {
    'io.modelcontextprotocol/protocolVersion': MODERN_VERSION,
    'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1.0.0' },
    'io.modelcontextprotocol/clientCapabilities': {},
  };
  const response = await postVia(
    url,
    {
      ...opts,
      headers: { 'mcp-method': method, 'mcp-protocol-version': MODERN_VERSION, ...name },
    },
    JSON.stringify({ jsonrpc: '2.0', id, method, params: { ...params, _meta } }),
  );
  for await (const m of messagesOf(response)) if (m.id === id) return m;
  throw new Error(`no response to ${method} (HTTP ${response.status})`);
}
