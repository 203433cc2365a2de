/**
 * The gateway over Streamable HTTP: `/mcp` (every upstream) and `/servers/<name>/mcp` (one), both
 * protocol eras on the same URL.
 *
 * Every request passes the same gates first: path, Host and Origin (DNS rebinding), the bearer token
 * (constant time), the body limit (413), the content type (415), JSON (400, -32700), no batches. Then the
 * SDK's classification picks the era: 2025-era traffic goes to a session of its own (one SDK transport
 * and one Server per `Mcp-Session-Id`), 2026-07-28 traffic to the SDK's per-request handler.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import {
  createServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import {
  createMcpHandler,
  isInitializeRequest,
  isLegacyRequest,
  localhostAllowedHostnames,
  localhostAllowedOrigins,
  type McpHttpHandler,
  type Server,
  validateHostHeader,
  validateOriginHeader,
  WebStandardStreamableHTTPServerTransport,
} from '@modelcontextprotocol/server';
import { SwitchboardError } from '../core/errors.js';
import type { SessionStore } from './sessions.js';
import type { Downstream, View } from './surface.js';

export interface HttpFrontOptions {
  host: string;
  port: number;
  /** Bearer token every request must carry; undefined: none. */
  token?: string | undefined;
  /** Extra hostnames the Host header may name (the bind address and localhost are always allowed). */
  allowedHosts?: string[] | undefined;
  /** Extra origin hostnames a browser page may call from (localhost is always allowed). */
  allowedOrigins?: string[] | undefined;
  maxBodyBytes: number;
  /** A 2025-era session with no request for this long is ended. */
  sessionIdleMs: number;
  /** At most this many 2025-era sessions at once (503 beyond). */
  maxSessions: number;
}

/** What the front needs from the gateway. */
export interface FrontHost {
  /** The view a path names, or undefined when it names none. */
  view(path: string): View | undefined;
  /** A Server for one serving unit. */
  serve(view: View, down: Omit<Downstream, 'limiter'>): { server: Server; down: Downstream };
  /** A session ended: release what it held. */
  ended(key: string): void;
  warn(message: string): void;
}

interface LiveSession {
  id: string;
  path: string;
  transport: WebStandardStreamableHTTPServerTransport;
  server: Server;
  down: Downstream;
  view: View;
}

const HOST_SHAPE = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export class HttpFront {
  readonly #opts: HttpFrontOptions;
  readonly #host: FrontHost;
  readonly #store: SessionStore;
  readonly #live = new Map<string, LiveSession>();
  readonly #modern = new Map<string, McpHttpHandler>();
  readonly #http: HttpServer;
  readonly #tokenDigest: Buffer | undefined;
  #sweeper: NodeJS.Timeout | undefined;
  #url = '';

  constructor(opts: HttpFrontOptions, host: FrontHost, store: SessionStore) {
    this.#opts = opts;
    this.#host = host;
    this.#store = store;
    this.#tokenDigest = opts.token ? digest(opts.token) : undefined;
    this.#http = createServer((req, res) => {
      this.#handle(req, res).catch((err: Error) => {
        host.warn(`a request failed inside the gateway: ${err.message}`);
        if (!res.headersSent) writeRpcError(res, 500, -32603, 'internal error in the gateway');
        else res.destroy();
      });
    });
  }

  get url(): string {
    return this.#url;
  }

  /** Every live 2025-era session (for list_changed and log delivery). */
  sessions(): Iterable<{ server: Server; down: Downstream; view: View }> {
    return this.#live.values();
  }

  modernHandlers(): Iterable<[string, McpHttpHandler]> {
    return this.#modern.entries();
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.#http.once('error', reject);
      this.#http.listen(this.#opts.port, this.#opts.host, () => {
        this.#http.off('error', reject);
        resolve();
      });
    });
    const { port } = this.#http.address() as AddressInfo;
    const host = this.#opts.host.includes(':') ? `[${this.#opts.host}]` : this.#opts.host;
    this.#url = `http://${host}:${port}/mcp`;
    const every = Math.max(50, Math.min(60_000, Math.floor(this.#opts.sessionIdleMs / 4)));
    // Unref'd: the listening socket holds the process; the sweeper only tidies while it runs.
    this.#sweeper = setInterval(() => this.#sweep(), every);
    this.#sweeper.unref();
    return this.#url;
  }

  async close(): Promise<void> {
    if (this.#sweeper) clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    const closing = new Promise<void>((resolve) => this.#http.close(() => resolve()));
    await Promise.all([...this.#live.values()].map((s) => this.#end(s)));
    await Promise.all([...this.#modern.values()].map((h) => h.close().catch(() => {})));
    this.#http.closeAllConnections();
    await closing;
  }

  // ---- one request ------------------------------------------------------------------------------

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let path: string;
    try {
      // Origin-form (`/mcp`) or absolute-form (`http://host/mcp`) targets; the path is what routes.
      path = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      writeRpcError(res, 400, -32600, 'the request target is not a valid URL path');
      return;
    }
    const view = this.#host.view(path);
    if (!view) {
      writeRpcError(
        res,
        404,
        -32601,
        `nothing at ${path}: the MCP endpoint is /mcp (one server alone: /servers/<name>/mcp)`,
      );
      return;
    }
    const controller = new AbortController();
    res.on('close', () => controller.abort());
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers))
      if (typeof v === 'string') headers.set(k, v);
      else if (Array.isArray(v)) headers.set(k, v.join(', '));
    // DNS rebinding: Host and Origin checked as the strings they are (a malformed one is refused, 403).
    // A Host is a name or an address and an optional port: nothing else (no userinfo, no path).
    const wellFormed = HOST_SHAPE.test(req.headers.host ?? '');
    const host = wellFormed
      ? validateHostHeader(req.headers.host, this.#allowedHosts())
      : { ok: false as const, message: `Invalid Host header: ${JSON.stringify(req.headers.host ?? '')}` };
    if (!host.ok) {
      writeRpcError(
        res,
        403,
        -32000,
        `${host.message}; this gateway answers to ${this.#allowedHosts().join(', ')} (add a name with --allow-host)`,
      );
      return;
    }
    const origin = validateOriginHeader(req.headers.origin, [
      ...localhostAllowedOrigins(),
      ...(this.#opts.allowedOrigins ?? []),
    ]);
    if (!origin.ok) {
      writeRpcError(res, 403, -32000, `${origin.message} (allow an origin with --allow-origin)`);
      return;
    }
    if (this.#tokenDigest && !this.#authorized(req.headers.authorization)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="mcp-switchboard"');
      writeRpcError(
        res,
        401,
        -32001,
        'this gateway needs a bearer token: send Authorization: Bearer <token>',
      );
      return;
    }
    let parsedBody: unknown;
    let body: Buffer | undefined;
    if (req.method === 'POST') {
      const type = req.headers['content-type'] ?? '';
      if (!/^application\/json\b/i.test(type)) {
        writeRpcError(res, 415, -32000, `Content-Type must be application/json (got '${type || 'none'}')`);
        req.resume();
        return;
      }
      body = await readBody(req, this.#opts.maxBodyBytes);
      if (!body) {
        res.setHeader('Connection', 'close');
        writeRpcError(
          res,
          413,
          -32000,
          `the request body is over the gateway's limit of ${this.#opts.maxBodyBytes} bytes`,
        );
        return;
      }
      try {
        parsedBody = JSON.parse(body.toString('utf8'));
      } catch {
        writeRpcError(res, 400, -32700, 'Parse error: the body is not valid JSON');
        return;
      }
      if (Array.isArray(parsedBody)) {
        writeRpcError(
          res,
          400,
          -32600,
          'JSON-RPC batches are not supported (protocol 2025-06-18 and later); send one message per request',
        );
        return;
      }
      if (!parsedBody || typeof parsedBody !== 'object') {
        writeRpcError(res, 400, -32600, 'Invalid Request: the body must be one JSON-RPC message');
        return;
      }
    }
    const request = new Request(`http://localhost${path}`, {
      method: req.method,
      headers,
      signal: controller.signal,
      ...(body ? { body } : {}),
    } as RequestInit);
    // The SDK hands this to the per-request factory: the token keys the scope, the address the limits.
    const authInfo = {
      token: this.#opts.token ?? '',
      clientId: `addr:${req.socket.remoteAddress ?? 'unknown'}`,
      scopes: [] as string[],
    };
    if (await isLegacyRequest(request, parsedBody, { maxRequestBodySize: this.#opts.maxBodyBytes }))
      return this.#legacy(req, res, request, parsedBody, path, view);
    const handler = this.#modernFor(path, view);
    return pipeResponse(await handler.fetch(request, { parsedBody, authInfo }), res);
  }

  async #legacy(
    req: IncomingMessage,
    res: ServerResponse,
    request: Request,
    parsedBody: unknown,
    path: string,
    view: View,
  ): Promise<void> {
    const id = req.headers['mcp-session-id'];
    if (typeof id === 'string' && id) {
      const session = this.#live.get(id);
      if (!session || session.path !== path) {
        writeRpcError(
          res,
          404,
          -32001,
          session
            ? `session ${id} belongs to ${session.path}, not ${path}`
            : 'Session not found: it ended or expired; start a new one with initialize',
          rpcId(parsedBody),
        );
        return;
      }
      this.#store.touch(id, Date.now());
      this.#cancelOnDisconnect(session, res, parsedBody);
      return pipeResponse(await session.transport.handleRequest(request, { parsedBody }), res);
    }
    if (req.method !== 'POST' || !isInitializeRequest(parsedBody)) {
      writeRpcError(
        res,
        400,
        -32000,
        'Bad Request: no Mcp-Session-Id; open a session with initialize first (or speak protocol 2026-07-28)',
        rpcId(parsedBody),
      );
      return;
    }
    if (this.#live.size >= this.#opts.maxSessions) {
      writeRpcError(
        res,
        503,
        -32000,
        `the gateway has ${this.#live.size} sessions open (its limit); try again later`,
        rpcId(parsedBody),
      );
      return;
    }
    const sessionId = randomUUID();
    const { server, down } = this.#host.serve(view, { era: 'legacy', key: `session:${sessionId}` });
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => sessionId,
      onsessioninitialized: (sid) => {
        const live: LiveSession = { id: sid, path, transport, server, down, view };
        this.#live.set(sid, live);
        this.#store.create({ id: sid, path, key: down.key, createdAt: Date.now(), lastSeen: Date.now() });
      },
      onsessionclosed: (sid) => {
        const live = this.#live.get(sid);
        if (live) void this.#end(live);
      },
    });
    transport.onclose = () => {
      const live = this.#live.get(sessionId);
      if (live) void this.#end(live);
    };
    await server.connect(transport);
    const response = await transport.handleRequest(request, { parsedBody });
    if (!this.#live.has(sessionId)) {
      // The initialize failed: nothing of it stays.
      await server.close().catch(() => {});
      this.#host.ended(down.key);
    }
    return pipeResponse(response, res);
  }

  /**
   * A 2025-era client that closes the response stream of its request cancels that request: the
   * session's Server hears `notifications/cancelled` for it, as if the client had sent one.
   */
  #cancelOnDisconnect(session: LiveSession, res: ServerResponse, body: unknown): void {
    const msg = body as { id?: unknown; method?: unknown } | undefined;
    if (!msg || typeof msg.method !== 'string' || (typeof msg.id !== 'string' && typeof msg.id !== 'number'))
      return;
    const requestId = msg.id;
    res.on('close', () => {
      if (res.writableFinished || !this.#live.has(session.id)) return;
      session.transport.onmessage?.({
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId, reason: 'the client closed the response stream' },
      });
    });
  }

  /** One handler per view (not per spelling of its path: `/mcp/` and `/servers/%65/mcp` are views too). */
  #modernFor(_path: string, view: View): McpHttpHandler {
    const path = view.server === undefined ? '/mcp' : `/servers/${view.server}/mcp`;
    let handler = this.#modern.get(path);
    if (!handler) {
      handler = createMcpHandler(
        (ctx) => {
          const token = ctx.authInfo?.token;
          const key = token ? `bearer:${digest(token).toString('hex').slice(0, 16)}` : 'shared';
          return this.#host.serve(view, { era: 'modern', key, limitsKey: ctx.authInfo?.clientId }).server;
        },
        {
          legacy: 'reject',
          maxRequestBodySize: this.#opts.maxBodyBytes,
          onerror: (err) => this.#host.warn(`2026-07-28 request: ${err.message}`),
        },
      );
      this.#modern.set(path, handler);
    }
    return handler;
  }

  async #end(session: LiveSession): Promise<void> {
    if (!this.#live.delete(session.id)) return;
    this.#store.delete(session.id);
    // Closing the Server aborts every request it is handling: their upstream calls are cancelled.
    await session.server.close().catch(() => {});
    this.#host.ended(session.down.key);
  }

  #sweep(): void {
    const now = Date.now();
    for (const id of this.#store.expired(now, this.#opts.sessionIdleMs)) {
      const live = this.#live.get(id);
      if (live && live.down.limiter.running > 0) {
        this.#store.touch(id, now);
        continue;
      }
      if (live) void this.#end(live);
      else this.#store.delete(id);
    }
  }

  #allowedHosts(): string[] {
    const hosts = [...localhostAllowedHostnames(), ...(this.#opts.allowedHosts ?? [])];
    // A wildcard bind (0.0.0.0, ::) names no host a client would send: those come from --allow-host.
    if (!LOOPBACK.has(this.#opts.host) && !isWildcard(this.#opts.host))
      hosts.push(this.#opts.host.includes(':') ? `[${this.#opts.host}]` : this.#opts.host);
    return hosts;
  }

  #authorized(header: string | undefined): boolean {
    const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
    if (!match || !this.#tokenDigest) return false;
    return timingSafeEqual(digest(match[1] as string), this.#tokenDigest);
  }
}

export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || host.startsWith('127.');
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function rpcId(body: unknown): string | number | null {
  const id = (body as { id?: unknown } | undefined)?.id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

function writeRpcError(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  id: string | number | null = null,
): void {
  const text = JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id });
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Reads a body up to `limit` bytes; undefined when it is over (the rest is not read). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function pipeResponse(response: Response, res: ServerResponse): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, key) => {
    headers[key] = value;
  });
  res.writeHead(response.status, headers);
  if (!response.body) {
    res.end();
    return;
  }
  const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream);
  body.on('error', () => res.destroy());
  res.on('close', () => body.destroy());
  // SSE frames go out as they are written.
  res.flushHeaders();
  body.pipe(res);
}

export { SwitchboardError };
