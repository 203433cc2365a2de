/**
 * One 2025-era session's Streamable HTTP transport, on Node's own request and response objects: the SDK's
 * `Transport` (start, send, close and the callbacks its `Server` sets), fed by the HTTP front with a body
 * it has already read and parsed.
 *
 * What a client sees, per the spec's Streamable HTTP transport (2025-03-26 to 2025-11-25):
 * - POST of a request: its answer as `application/json` when the answer is the first thing to say (one
 *   write, with a Content-Length); an SSE stream when progress or a server request comes first, or when the
 *   call has said nothing 20 ms in (the headers go out alone, so the client sees its stream open). The
 *   stream carries what relates to its request, then the answer, and ends.
 * - POST of a notification or a response: 202 with no body.
 * - GET: the session's one standalone SSE stream (409 while one is open), for what relates to no request
 *   (list changes, resource updates, logs). Never a response on it.
 * - DELETE: 200, and the session ends.
 * - Every request after initialize: an `MCP-Protocol-Version` the server does not support is refused (400).
 *
 * A request's stream that its client closes before the answer cancels that request: the Server hears
 * `notifications/cancelled` for it, as if the client had sent one. Closing the transport (DELETE, expiry,
 * the gateway closing) answers each request still open with a JSON-RPC error and ends every stream.
 *
 * The front refuses JSON-RPC batches (protocol 2025-06-18 and later), so one POST carries one message.
 * There is no event store: streams are not resumable (no event ids, no `Last-Event-ID` replay).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JSONRPCMessage, Server, Transport, TransportSendOptions } from '@modelcontextprotocol/server';

type RequestId = string | number;

/** Each SSE stream sends a comment this often, so that proxies and clients see it alive. */
const KEEP_ALIVE_MS = 15_000;

/**
 * How long a request's response that has nothing to say yet (a long call) waits before its headers go
 * out alone, so that the client sees its stream open.
 */
export const HEADERS_AFTER_MS = 20;

/**
 * A stream holding this much unsent output (a client that does not read) takes no more notifications:
 * progress and log messages beyond it are dropped. Requests and answers are always written.
 */
export const MAX_STREAM_BACKLOG = 1 << 20;

const SSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache, no-transform',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
} as const;

export interface SessionTransportOptions {
  sessionId: string;
  /** The session's initialize request is being delivered: the session exists from now on. */
  onInitialized(): void;
  /** The client asked to end the session (DELETE): release it (this closes the transport). */
  onDeleted(): Promise<void>;
}

/** The kind of one JSON-RPC message, checked as the SDK's schemas check it; undefined: not one. */
export type Kind = 'request' | 'notification' | 'result' | 'error';

/** Which object a stream's close listener belongs to (one shared listener, no closure per request). */
const STREAM = Symbol('mcp-switchboard.stream');

type TaggedResponse = ServerResponse & { [STREAM]?: RequestStream };

export class SessionTransport implements Transport {
  readonly sessionId: string;
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: Transport['onmessage'];
  readonly #opts: SessionTransportOptions;
  /** Requests whose answer is not sent yet, each with its response stream. */
  readonly #open = new Map<RequestId, RequestStream>();
  #standalone: EventStream | undefined;
  #versions: string[] = [];
  /** The Server's own dispatch by kind, when it has one to hand messages to (see dispatchTo). */
  #direct: Record<Kind, (message: JSONRPCMessage) => void> | undefined;
  #initialized = false;
  #started = false;
  #closed = false;

  constructor(opts: SessionTransportOptions) {
    this.sessionId = opts.sessionId;
    this.#opts = opts;
  }

  /** Requests of this session still waiting for their answer (for tests and stats). */
  get inFlight(): number {
    return this.#open.size;
  }

  async start(): Promise<void> {
    if (this.#started) throw new Error('this session transport is already started');
    this.#started = true;
  }

  setSupportedProtocolVersions(versions: string[]): void {
    this.#versions = versions;
  }

  /**
   * After `server.connect(this)`: messages go straight to the Server's dispatch for their kind, which
   * this transport has already checked, instead of through the `onmessage` that `connect` installs,
   * which tells the kinds apart again with a schema parse per kind tried (a failed parse builds a
   * validation error: most of that cost). `_onnotification` and `_onresponse` are the SDK's protected
   * subclass hooks; `_onrequest` is private in its types, so this leans on the SDK version the lockfile
   * pins (the gateway suites and the conformance run exercise it on every change); a Server without
   * all three keeps `onmessage`.
   */
  dispatchTo(server: Server): void {
    const hooks = server as unknown as Record<string, unknown>;
    const hook = (name: string) => {
      const fn = hooks[name];
      return typeof fn === 'function' ? (fn as (m: JSONRPCMessage) => void).bind(server) : undefined;
    };
    const request = hook('_onrequest');
    const notification = hook('_onnotification');
    const response = hook('_onresponse');
    if (!request || !notification || !response) return;
    this.#direct = { request, notification, result: response, error: response };
  }

  #deliver(message: JSONRPCMessage, kind: Kind): void {
    if (this.#direct) this.#direct[kind](message);
    else this.onmessage?.(message);
  }

  /** One HTTP request of this session; `body` is the parsed POST body. */
  handle(
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
    kind: Kind | undefined = kindOf(body),
  ): Promise<void> | undefined {
    if (this.#closed) {
      writeRpcError(res, 404, -32001, 'Session not found: it ended; start a new one with initialize');
      return;
    }
    switch (req.method) {
      case 'POST':
        this.#post(req, res, body, kind);
        return;
      case 'GET':
        this.#get(req, res);
        return;
      case 'DELETE':
        return this.#delete(req, res);
      default:
        res.setHeader('Allow', 'GET, POST, DELETE');
        writeRpcError(res, 405, -32000, 'Method not allowed: this endpoint takes GET, POST and DELETE');
    }
  }

  #post(req: IncomingMessage, res: ServerResponse, body: unknown, kind: Kind | undefined): void {
    const accept = req.headers.accept ?? '';
    if (!accept.includes('application/json') || !accept.includes('text/event-stream')) {
      writeRpcError(
        res,
        406,
        -32000,
        'Not Acceptable: the client must accept both application/json and text/event-stream',
      );
      return;
    }
    const message = body as JSONRPCMessage & { id?: RequestId; method?: string };
    if (kind === undefined) {
      writeRpcError(res, 400, -32700, 'Parse error: Invalid JSON-RPC message');
      return;
    }
    const initialize = kind === 'request' && message.method === 'initialize';
    if (initialize) {
      if (this.#initialized) {
        writeRpcError(res, 400, -32600, 'Invalid Request: Server already initialized', message.id);
        return;
      }
      this.#initialized = true;
      this.#opts.onInitialized();
    } else if (!this.#versionOk(req, res)) return;
    if (kind !== 'request') {
      res.writeHead(202).end();
      if (message.method === 'notifications/cancelled')
        this.#cancelled((message as { params?: unknown }).params);
      this.#deliver(message, kind);
      return;
    }
    const id = message.id as RequestId;
    if (this.#open.has(id)) {
      writeRpcError(
        res,
        409,
        -32600,
        `Invalid Request: a request with id ${JSON.stringify(id)} is still in flight in this session; use a new id`,
        id,
      );
      return;
    }
    this.#open.set(id, new RequestStream(this, id, res));
    this.#deliver(message, 'request');
  }

  #get(req: IncomingMessage, res: ServerResponse): void {
    if (!(req.headers.accept ?? '').includes('text/event-stream')) {
      writeRpcError(res, 406, -32000, 'Not Acceptable: the client must accept text/event-stream');
      return;
    }
    if (!this.#versionOk(req, res)) return;
    if (this.#standalone) {
      writeRpcError(
        res,
        409,
        -32000,
        'Conflict: this session has its GET stream open already (one per session); close it first',
      );
      return;
    }
    const stream = new EventStream(res, this.sessionId);
    this.#standalone = stream;
    stream.open();
    res.on('close', () => {
      stream.stop();
      if (this.#standalone === stream) this.#standalone = undefined;
    });
  }

  async #delete(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.#versionOk(req, res)) return;
    try {
      await this.#opts.onDeleted();
    } finally {
      await this.close();
    }
    if (!res.headersSent) res.writeHead(200, { 'mcp-session-id': this.sessionId }).end();
  }

  /** A POST, GET or DELETE after initialize must name a protocol version the server speaks, or none. */
  #versionOk(req: IncomingMessage, res: ServerResponse): boolean {
    const version = req.headers['mcp-protocol-version'];
    if (version === undefined || (typeof version === 'string' && this.#versions.includes(version)))
      return true;
    writeRpcError(
      res,
      400,
      -32000,
      `Bad Request: Unsupported protocol version: ${String(version)} (supported versions: ${this.#versions.join(', ')})`,
    );
    return false;
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const m = message as { id?: RequestId; method?: unknown; result?: unknown; error?: unknown };
    if (m.method === undefined && (m.result !== undefined || m.error !== undefined)) {
      // An answer: it ends its request's stream. None open: the client went away and the request was
      // cancelled, or the session closed; there is no one to tell.
      const stream = m.id === undefined ? undefined : this.#open.get(m.id);
      if (stream) {
        this.#open.delete(stream.id);
        stream.answer(message);
      }
      return;
    }
    const related = options?.relatedRequestId;
    if (related !== undefined) {
      const stream = this.#open.get(related);
      if (stream) stream.event(message, m.id !== undefined);
      else if (m.id !== undefined)
        throw new Error(
          `request ${String(related)} of session ${this.sessionId} has no open stream (it was answered or its client went away), so ${String(m.method)} cannot reach its client`,
        );
      return;
    }
    // Relates to no request: the GET stream, when the client keeps one open; else it is not delivered.
    this.#standalone?.event(message, m.id !== undefined);
  }

  /**
   * The client cancelled one of its requests: no answer will come (basic/utilities/cancellation), so its
   * stream ends now, empty, and its id is free again. Else it would stay open, and its id refused, until
   * the client hung up or the session ended.
   */
  #cancelled(params: unknown): void {
    const id = (params as { requestId?: RequestId } | undefined)?.requestId;
    const stream = id === undefined ? undefined : this.#open.get(id);
    if (!stream) return;
    this.#open.delete(id!);
    stream.cancelled();
  }

  /** A request's stream closed before its answer: the request is cancelled, as the client would. */
  abandoned(stream: RequestStream): void {
    if (this.#open.get(stream.id) !== stream) return;
    this.#open.delete(stream.id);
    if (this.#closed) return;
    this.#deliver(
      {
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId: stream.id, reason: 'the client closed the response stream' },
      },
      'notification',
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const open = [...this.#open.values()];
    this.#open.clear();
    for (const stream of open)
      stream.answer({
        jsonrpc: '2.0',
        id: stream.id,
        error: { code: -32000, message: 'the gateway session ended before this request was answered' },
      });
    this.#standalone?.end();
    this.#standalone = undefined;
    this.onclose?.();
  }
}

/** An SSE stream on one Node response, with keep-alive comments while it is open. */
class EventStream {
  protected readonly res: ServerResponse;
  readonly #sessionId: string;
  #keepAlive: NodeJS.Timeout | undefined;

  constructor(res: ServerResponse, sessionId: string) {
    this.res = res;
    this.#sessionId = sessionId;
  }

  get sessionId(): string {
    return this.#sessionId;
  }

  /** Sends the SSE headers now. */
  open(): void {
    this.res.writeHead(200, { ...SSE_HEADERS, 'mcp-session-id': this.#sessionId });
    this.res.flushHeaders();
    this.#keepAlive = setInterval(() => {
      if (!this.res.destroyed) this.res.write(': keepalive\n\n');
    }, KEEP_ALIVE_MS);
    this.#keepAlive.unref();
  }

  /**
   * One message as an SSE event. A client that does not read gets no more notifications past
   * MAX_STREAM_BACKLOG (`must`: a request, which is always written).
   */
  event(message: JSONRPCMessage, must: boolean): void {
    const res = this.res;
    if (res.destroyed || res.writableEnded) return;
    if (!res.headersSent) this.open();
    if (!must && res.writableLength > MAX_STREAM_BACKLOG) return;
    res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
  }

  stop(): void {
    if (this.#keepAlive) clearInterval(this.#keepAlive);
    this.#keepAlive = undefined;
  }

  end(): void {
    this.stop();
    if (!this.res.writableEnded) this.res.end();
  }
}

/** The response stream of one request: its answer as JSON, or an SSE stream when more comes first. */
class RequestStream extends EventStream {
  readonly id: RequestId;
  readonly #transport: SessionTransport;
  #early: NodeJS.Timeout | undefined;

  constructor(transport: SessionTransport, id: RequestId, res: ServerResponse) {
    super(res, transport.sessionId);
    this.#transport = transport;
    this.id = id;
    (res as TaggedResponse)[STREAM] = this;
    res.on('close', onResponseClose);
    this.#early = setTimeout(onEarly, HEADERS_AFTER_MS, this);
  }

  override open(): void {
    clearTimeout(this.#early);
    super.open();
  }

  /** The answer ends the stream: alone, one JSON body in one write; after events, the last event. */
  answer(message: JSONRPCMessage): void {
    clearTimeout(this.#early);
    const res = this.res;
    if (res.destroyed || res.writableEnded) return;
    const text = JSON.stringify(message);
    if (!res.headersSent) {
      res.writeHead(200, {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(text),
        'mcp-session-id': this.sessionId,
      });
      res.end(text);
      return;
    }
    this.stop();
    res.end(`event: message\ndata: ${text}\n\n`);
  }

  /** The client cancelled the request: the stream ends without an answer (SSE, so that is not an error). */
  cancelled(): void {
    clearTimeout(this.#early);
    const res = this.res;
    if (res.destroyed || res.writableEnded) return;
    if (!res.headersSent) this.open();
    this.end();
  }

  /** Nothing said yet HEADERS_AFTER_MS in: the headers go out alone. */
  early(): void {
    const res = this.res;
    if (!res.headersSent && !res.destroyed) this.open();
  }

  closed(): void {
    clearTimeout(this.#early);
    this.stop();
    if (!this.res.writableFinished) this.#transport.abandoned(this);
  }
}

function onEarly(stream: RequestStream): void {
  stream.early();
}

function onResponseClose(this: TaggedResponse): void {
  this[STREAM]?.closed();
}

/** A JSON-RPC error as a whole HTTP response. */
export function writeRpcError(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  id: RequestId | null = null,
): void {
  const text = JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id });
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isId(value: unknown): boolean {
  return typeof value === 'string' || Number.isInteger(value);
}

/** `params` as the SDK's schema takes them: absent, or an object whose `_meta` is an object. */
function paramsOk(params: unknown): boolean {
  if (params === undefined) return true;
  if (!isObject(params)) return false;
  const meta = params._meta;
  if (meta === undefined) return true;
  if (!isObject(meta)) return false;
  return meta.progressToken === undefined || isId(meta.progressToken);
}

/**
 * What a parsed body is, by the rules of the SDK's JSON-RPC message schemas (strict objects: no other
 * member), without building a validation error for each kind it is not.
 */
export function kindOf(body: unknown): Kind | undefined {
  if (!isObject(body) || body.jsonrpc !== '2.0') return undefined;
  let members = 1;
  if (body.id !== undefined) members++;
  if (typeof body.method === 'string') {
    if (body.params !== undefined) members++;
    if (!paramsOk(body.params) || Object.keys(body).length !== members + 1) return undefined;
    if (body.id === undefined) return 'notification';
    return isId(body.id) ? 'request' : undefined;
  }
  if (body.result !== undefined) {
    if (!isId(body.id) || !isObject(body.result) || Object.keys(body).length !== 3) return undefined;
    return 'result';
  }
  const error = body.error;
  if (!isObject(error) || Object.keys(body).length !== members + 1) return undefined;
  if (body.id !== undefined && !isId(body.id)) return undefined;
  if (!Number.isInteger(error.code) || typeof error.message !== 'string') return undefined;
  for (const key in error) if (key !== 'code' && key !== 'message' && key !== 'data') return undefined;
  return 'error';
}
