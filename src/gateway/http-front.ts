/**
 * The gateway over Streamable HTTP: `/mcp` (every upstream) and `/servers/<name>/mcp` (one), both
 * protocol eras on the same URL.
 *
 * Every request passes the same gates first: path, Host and Origin (DNS rebinding), the bearer token
 * (constant time), the body limit (413), the content type (415), JSON (400, -32700), no batches. Then the
 * era: 2025-era traffic goes to a session of its own (one SessionTransport, session-transport.ts, and one
 * SDK Server per `Mcp-Session-Id`), 2026-07-28 traffic to the SDK's per-request handler. A request that is
 * plainly 2025-era (see plainlyLegacy) is told so on sight; any other goes through the SDK's classification.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import {
  createServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  classifyInboundRequest,
  createMcpHandler,
  isInitializeRequest,
  localhostAllowedHostnames,
  localhostAllowedOrigins,
  type McpHttpHandler,
  PROTOCOL_VERSION_META_KEY,
  type Server,
  validateHostHeader,
  validateOriginHeader,
} from '@modelcontextprotocol/server';
import { SwitchboardError } from '../core/errors.js';
import { HEADERS_AFTER_MS, type Kind, kindOf, SessionTransport, writeRpcError } from './session-transport.js';
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
  transport: SessionTransport;
  server: Server;
  down: Downstream;
  view: View;
}

const HOST_SHAPE = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** A request target that is its own path (no query, escapes, dot segments or `//`): no URL to parse. */
const PLAIN_PATH = /^(?:\/[A-Za-z0-9_-]+)+\/?$/;

/** The first protocol revision of the 2026-07-28 era (the SDK's classification compares versions so). */
const FIRST_MODERN_VERSION = '2026-07-28';

/** Host headers already found good are remembered (at most this many), not parsed again per request. */
const HOSTS_REMEMBERED = 64;

export class HttpFront {
  readonly #opts: HttpFrontOptions;
  readonly #host: FrontHost;
  readonly #store: SessionStore;
  readonly #live = new Map<string, LiveSession>();
  readonly #modern = new Map<string, McpHttpHandler>();
  readonly #http: HttpServer;
  readonly #tokenDigest: Buffer | undefined;
  readonly #allowedHosts: string[];
  readonly #allowedOrigins: string[];
  readonly #goodHosts = new Set<string>();
  #sweeper: NodeJS.Timeout | undefined;
  #url = '';

  constructor(opts: HttpFrontOptions, host: FrontHost, store: SessionStore) {
    this.#opts = opts;
    this.#host = host;
    this.#store = store;
    this.#tokenDigest = opts.token ? digest(opts.token) : undefined;
    this.#allowedHosts = [...localhostAllowedHostnames(), ...(opts.allowedHosts ?? [])];
    // A wildcard bind (0.0.0.0, ::) names no host a client would send: those come from --allow-host.
    if (!LOOPBACK.has(opts.host) && !isWildcard(opts.host))
      this.#allowedHosts.push(opts.host.includes(':') ? `[${opts.host}]` : opts.host);
    this.#allowedOrigins = [...localhostAllowedOrigins(), ...(opts.allowedOrigins ?? [])];
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
    let path = req.url ?? '/';
    try {
      // Origin-form (`/mcp`) or absolute-form (`http://host/mcp`) targets; the path is what routes.
      if (!PLAIN_PATH.test(path)) path = new URL(path, 'http://localhost').pathname;
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
    // DNS rebinding: Host and Origin checked as the strings they are (a malformed one is refused, 403),
    // with the SDK's own checks and no web Request to carry them.
    const host = this.#checkHost(req.headers.host);
    if (!host.ok) {
      writeRpcError(
        res,
        403,
        -32000,
        `${host.message}; this gateway answers to ${this.#allowedHosts.join(', ')} (add a name with --allow-host)`,
      );
      return;
    }
    const origin = validateOriginHeader(req.headers.origin, this.#allowedOrigins);
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
    let kind: Kind | undefined;
    if (req.method === 'POST') {
      const type = req.headers['content-type'] ?? '';
      if (!/^application\/json\b/i.test(type)) {
        writeRpcError(res, 415, -32000, `Content-Type must be application/json (got '${type || 'none'}')`);
        req.resume();
        return;
      }
      const body = await readBody(req, this.#opts.maxBodyBytes);
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
      kind = kindOf(parsedBody);
    }
    if (plainlyLegacy(req, parsedBody, kind)) return this.#legacy(req, res, parsedBody, kind, path, view);
    // The SDK's era classification (what isLegacyRequest does with a parsed body), on the raw headers.
    const era = classifyInboundRequest({
      httpMethod: req.method ?? 'GET',
      protocolVersionHeader: header(req, 'mcp-protocol-version'),
      mcpMethodHeader: header(req, 'mcp-method'),
      mcpNameHeader: header(req, 'mcp-name'),
      ...(parsedBody !== undefined ? { body: parsedBody } : {}),
    });
    if (era.kind === 'legacy') return this.#legacy(req, res, parsedBody, kind, path, view);
    // 2026-07-28: the SDK cancels the request's work when its signal aborts, i.e. when the client goes
    // away before the response is complete (not after it: that is every request's normal end).
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    // The SDK hands this to the per-request factory: the token keys the scope, the address the limits.
    const authInfo = {
      token: this.#opts.token ?? '',
      clientId: `addr:${req.socket.remoteAddress ?? 'unknown'}`,
      scopes: [] as string[],
    };
    const handler = this.#modernFor(path, view);
    return sendResponse(
      await handler.fetch(webRequest(req, path, controller.signal), { parsedBody, authInfo }),
      res,
    );
  }

  async #legacy(
    req: IncomingMessage,
    res: ServerResponse,
    parsedBody: unknown,
    kind: Kind | undefined,
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
      return session.transport.handle(req, res, parsedBody, kind);
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
    const transport: SessionTransport = new SessionTransport({
      sessionId,
      onInitialized: () => {
        const now = Date.now();
        this.#live.set(sessionId, { id: sessionId, path, transport, server, down, view });
        this.#store.create({ id: sessionId, path, key: down.key, createdAt: now, lastSeen: now });
      },
      onDeleted: async () => {
        const live = this.#live.get(sessionId);
        if (live) await this.#end(live);
      },
    });
    transport.onclose = () => {
      const live = this.#live.get(sessionId);
      if (live) void this.#end(live);
    };
    await server.connect(transport);
    transport.dispatchTo(server);
    await transport.handle(req, res, parsedBody, kind);
    if (!this.#live.has(sessionId)) {
      // The initialize was refused before it reached the session: nothing of it stays.
      await server.close().catch(() => {});
      this.#host.ended(down.key);
    }
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

  /**
   * A Host is a name or an address and an optional port: nothing else (no userinfo, no path); then the
   * SDK's check. A good one is remembered (a client sends the same one on every request).
   */
  #checkHost(value: string | undefined): { ok: true } | { ok: false; message: string } {
    if (value !== undefined && this.#goodHosts.has(value)) return { ok: true };
    if (!HOST_SHAPE.test(value ?? ''))
      return { ok: false, message: `Invalid Host header: ${JSON.stringify(value ?? '')}` };
    const checked = validateHostHeader(value, this.#allowedHosts);
    if (checked.ok && value !== undefined && this.#goodHosts.size < HOSTS_REMEMBERED)
      this.#goodHosts.add(value);
    return checked;
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

/**
 * A request the SDK's era classification would call 2025-era on sight, told without its schema checks:
 * any GET or DELETE; a POSTed notification, response or request other than initialize that claims no
 * 2026-07-28 envelope (no protocol version in `_meta`) under no 2026-07-28 `MCP-Protocol-Version`
 * header. Anything else goes to the SDK's classification.
 */
function plainlyLegacy(req: IncomingMessage, body: unknown, kind: Kind | undefined): boolean {
  if (req.method !== 'POST') return true;
  if (kind === undefined) return false;
  const version = req.headers['mcp-protocol-version'];
  if (version !== undefined && !(version < FIRST_MODERN_VERSION)) return false;
  if (kind === 'result' || kind === 'error') return true;
  const message = body as { method: string; params?: { _meta?: unknown } };
  if (message.method === 'initialize') return false;
  const meta = message.params?._meta;
  return !(typeof meta === 'object' && meta !== null && PROTOCOL_VERSION_META_KEY in meta);
}

function rpcId(body: unknown): string | number | null {
  const id = (body as { id?: unknown } | undefined)?.id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

/** One request header as one string (repeated ones joined, as `Headers.get` does); undefined: absent. */
function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * What the SDK's HTTP handlers read of a web Request: method, URL, `headers.get`, and (2026-07-28) the
 * signal. The front has read and parsed the body and passes it as `parsedBody`, so the SDK never reads a
 * body. A web Request built per call (its Headers, its own AbortSignal) was a tenth of the gateway's CPU
 * per call; this view reads Node's header object instead, with the semantics of `Headers.get` over it
 * (a repeated header's values joined with ', ').
 */
class RequestView {
  readonly method: string;
  readonly url: string;
  readonly headers: { get(name: string): string | null };
  readonly signal: AbortSignal | undefined;

  constructor(req: IncomingMessage, path: string, signal?: AbortSignal) {
    this.method = req.method ?? 'GET';
    this.url = `http://localhost${path}`;
    this.headers = { get: (name) => header(req, name.toLowerCase()) ?? null };
    this.signal = signal;
  }
}

/** The request as the SDK's handlers take it (see RequestView). */
function webRequest(req: IncomingMessage, path: string, signal?: AbortSignal): Request {
  return new RequestView(req, path, signal) as unknown as Request;
}

/** Reads a body up to `limit` bytes; undefined when it is over (the rest is not read). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        settle();
        // The rest is read and dropped, not cut off: the 413 must reach the client (under Connection: close).
        req.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      settle();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => {
      settle();
      reject(err);
    };
    const onClose = (): void => {
      settle();
      reject(new Error('the client closed the connection before its request body was complete'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** A read of a web stream, or NOT_YET when it would have to wait. */
const NOT_YET = Promise.resolve(undefined);

/**
 * Sends a web Response on a Node response. A body that is complete as soon as its first chunk is there (a
 * JSON answer, or an SSE stream holding only the request's answer: the SDK closes it right after) leaves
 * in one write, headers included, with a Content-Length. A stream still open after its first chunk (a
 * server request or progress before the answer) goes out chunk by chunk as it is written.
 */
async function sendResponse(response: Response, res: ServerResponse): Promise<void> {
  const headers: Record<string, string | number> = {};
  response.headers.forEach((value, key) => {
    headers[key] = value;
  });
  if (!response.body) {
    res.writeHead(response.status, headers);
    res.end();
    return;
  }
  const reader = response.body.getReader();
  let finished = false;
  // A client that goes away cancels the stream: the SDK forgets it.
  res.on('close', () => {
    if (!finished) reader.cancel().catch(() => {});
  });
  const early = setTimeout(() => {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(response.status, headers);
    res.flushHeaders();
  }, HEADERS_AFTER_MS);
  try {
    let next = reader.read();
    let read: Awaited<typeof next> | undefined = await next;
    const chunks: Uint8Array[] = [];
    // Whatever is there already (and whether the stream is closed already), without waiting.
    while (read && !read.done) {
      chunks.push(read.value);
      next = reader.read();
      read = await Promise.race([next, NOT_YET]);
    }
    clearTimeout(early);
    const first = chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks);
    if (read?.done) {
      finished = true;
      if (!res.headersSent)
        res.writeHead(response.status, { ...headers, 'content-length': first.byteLength });
      res.end(first);
      return;
    }
    if (!res.headersSent) res.writeHead(response.status, headers);
    res.write(first);
    for (;;) {
      read = await next;
      if (read.done || res.destroyed) break;
      // A slow reader holds the stream back (the SDK's own stream then queues), not our memory.
      if (!res.write(read.value) && !res.destroyed)
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.on('drain', done);
          res.on('close', done);
        });
      next = reader.read();
    }
    finished = true;
    res.end();
  } catch {
    res.destroy();
  } finally {
    clearTimeout(early);
  }
}

export { SwitchboardError };
