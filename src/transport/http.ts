import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type JSONRPCMessage,
  SSEClientTransport,
  SseError,
  StreamableHTTPClientTransport,
  type StreamableHTTPClientTransportOptions,
  type Transport,
} from '@modelcontextprotocol/client';

export interface HttpSpec {
  /** `http`: Streamable HTTP (2025-03-26 and later, 2026-07-28 included). `sse`: the legacy HTTP+SSE transport. */
  type: 'http' | 'sse';
  url: string;
  headers?: Record<string, string> | undefined;
}

export interface HttpTransportOptions {
  /** How long close() waits for the server to answer the DELETE that ends a Streamable HTTP session. */
  sessionEndMs: number;
}

/**
 * HTTP transports come from the SDK as they are: framing, sessions, resumption and the per-request
 * stream (whose closing is the 2026-07-28 cancellation) are what it does well. One addition: closing a
 * Streamable HTTP transport ends the server's session (see {@link SessionEndingTransport}).
 */
export function createHttpTransport(spec: HttpSpec, opts: HttpTransportOptions): Transport {
  const url = new URL(spec.url);
  const requestInit: RequestInit = spec.headers ? { headers: spec.headers } : {};
  if (spec.type === 'sse') {
    const headers = spec.headers;
    return new StreamWatchingSseTransport(url, {
      requestInit,
      // The event stream is a GET of its own: it needs the same headers (auth, mostly).
      ...(headers
        ? {
            eventSourceInit: {
              fetch: (input, init) =>
                fetch(input, {
                  ...init,
                  headers: { ...(init?.headers as Record<string, string>), ...headers },
                }),
            },
          }
        : {}),
    });
  }
  return new SessionEndingTransport(url, { requestInit }, opts.sessionEndMs);
}

/**
 * The SDK's Streamable HTTP transport, with two additions: close() first ends the session the server
 * gave it, and a refused POST whose body is the server's JSON-RPC error for the request is delivered as
 * that error response.
 *
 * The answer in a refused POST: a server may answer a request it will not serve with an HTTP error
 * status and a JSON-RPC error response as the body (the SDK's own 2026-07-28 server answers a method it
 * does not have, `ping` included, with -32601 that way). The SDK delivers such a body only for a 400,
 * and throws an HTTP error for the others, which would turn "the server answered: no" into "the request
 * could not be sent", and a health ping the server refuses into a missed ping.
 *
 * Ending the session: the SDK's close() alone leaves it open on the server.
 *
 * Spec 2025-11-25, basic/transports, session management: a client that no longer needs its session
 * SHOULD send an HTTP DELETE with its `Mcp-Session-Id`; the server MAY answer 405. The SDK leaves that
 * to the caller (`terminateSession()`), and its `close()` only aborts the transport's fetches, so every
 * closed or replaced connection would leave its session open on the server. Doing it in close() covers
 * every way a transport is closed, the SDK's own handshake-failure paths included.
 *
 * A 2026-07-28 connection and a stateless server have no session id: nothing is sent. The DELETE is
 * given `sessionEndMs` at most, so a stuck server cannot hold close(); the close that follows aborts it
 * if it is still running. A 405 is an answer too. A failure (404 for a session the server already
 * forgot, a server that is gone) does not fail the close: the SDK reports it through onerror, and the
 * connection ends either way.
 */
class SessionEndingTransport extends StreamableHTTPClientTransport {
  readonly #sessionEndMs: number;
  #ending: Promise<void> | undefined;
  /** Shortens a session end that is under way. */
  #hurry: (() => void) | undefined;

  /** Error answers are delivered from the end of the handshake on (see `deliverErrorAnswers`). */
  #answers = false;
  /** The errors the SDK reports and then throws for refused POSTs that carried an answer: not warnings. */
  #answered = new WeakSet<object>();

  constructor(url: URL, opts: StreamableHTTPClientTransportOptions, sessionEndMs: number) {
    super(url, opts);
    this.#sessionEndMs = sessionEndMs;
    // The SDK reports a refused POST through onerror before it throws it; one that was an answer is not
    // worth a warning. (A data property of the base class, so redefined here rather than overridden.)
    wrapOnerror(this, (error, report) => {
      if (!this.#isAnswer(error)) report(error);
    });
    this.#tagStreams();
  }

  /** Which request each POST's response stream answers, by the signal the request was sent with. */
  #streamOwner = new WeakMap<AbortSignal, number | string>();

  /**
   * Every message read from a POST's own response stream is delivered with the id of the request it
   * answers (`extra.relatedRequestId`): spec 2025-11-25, basic/transports, a request the server sends on
   * that stream belongs to that request. The SDK reads each stream in a loop of its own and delivers
   * without saying which stream; the loop is started inside an AsyncLocalStorage context that holds the
   * id, so the delivery knows it. (`_handleSseStream` is private in the SDK's types, so it is wrapped on
   * the instance.)
   */
  #tagStreams(): void {
    const self = this as unknown as {
      _handleSseStream(
        stream: unknown,
        options: { requestSignal?: AbortSignal } | undefined,
        again: boolean,
      ): void;
    };
    const handle = self._handleSseStream.bind(this);
    self._handleSseStream = (stream, options, again) => {
      const owner = options?.requestSignal ? this.#streamOwner.get(options.requestSignal) : undefined;
      if (owner === undefined) return handle(stream, options, again);
      return streamOf.run(owner, () => handle(stream, options, again));
    };
    let wrapped: Transport['onmessage'];
    Object.defineProperty(this, 'onmessage', {
      configurable: true,
      get: () => wrapped,
      set: (fn: Transport['onmessage']) => {
        wrapped =
          fn === undefined
            ? undefined
            : (message, extra) => {
                const owner = streamOf.getStore();
                fn(
                  message,
                  extra ?? (owner === undefined ? undefined : ({ relatedRequestId: owner } as never)),
                );
              };
      },
    });
  }

  /**
   * From now on (the handshake is done), a refused POST that carries the server's JSON-RPC error for the
   * request is that request's answer. Not during the handshake: the SDK's version negotiation and the
   * start diagnostics read the HTTP status of a refusal.
   */
  deliverErrorAnswers(): void {
    this.#answers = true;
  }

  override async send(
    message: JSONRPCMessage,
    options?: Parameters<StreamableHTTPClientTransport['send']>[1],
  ) {
    const id = (message as { id?: unknown; method?: unknown }).id;
    if ((typeof id === 'number' || typeof id === 'string') && 'method' in message) {
      // A request: its response stream is known by the signal it is sent with (a never-aborted one if
      // the caller gave none).
      const requestSignal = options?.requestSignal ?? new AbortController().signal;
      this.#streamOwner.set(requestSignal, id);
      options = { ...options, requestSignal };
    }
    if (typeof id === 'number' || typeof id === 'string') this.#sending.add(id);
    try {
      await super.send(message, options);
    } catch (err) {
      const answer = this.#answers ? errorAnswer(err, message, this.sessionId !== undefined) : undefined;
      if (answer) {
        this.onmessage?.(answer);
        return;
      }
      // Spec 2025-11-25, basic/transports: a 404 to a request in a session means the server no longer
      // knows the session; the client must start a new one. This connection is over: closing it lets the
      // supervisor make a new one, handshake and session included.
      if (this.#answers && this.sessionId !== undefined && httpStatusOf(err) === 404) void this.close();
      throw err;
    } finally {
      if (typeof id === 'number' || typeof id === 'string') this.#sending.delete(id);
    }
  }

  /** Ids of the requests being sent: a refused POST is an answer only for one of them. */
  #sending = new Set<number | string>();

  #isAnswer(error: unknown): boolean {
    if (!this.#answers || typeof error !== 'object' || error === null) return false;
    if (this.#answered.has(error)) return true;
    const body = parseAnswer(error, this.sessionId !== undefined);
    if (!body || !this.#sending.has(body.id as number | string)) return false;
    this.#answered.add(error);
    return true;
  }

  /** `now`: the DELETE gets {@link HURRIED_SESSION_END_MS} at most, a wait already under way included. */
  override async close(opts: { now?: boolean } = {}): Promise<void> {
    if (opts.now) this.#hurry?.();
    if (this.sessionId !== undefined) this.#ending ??= this.#endSession(opts.now === true);
    await this.#ending;
    await super.close();
  }

  async #endSession(now: boolean): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let hurried: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.terminateSession().catch(() => {}),
      new Promise<void>((resolve) => {
        timer = setTimeout(
          resolve,
          now ? Math.min(HURRIED_SESSION_END_MS, this.#sessionEndMs) : this.#sessionEndMs,
        );
        this.#hurry = () => {
          hurried ??= setTimeout(resolve, HURRIED_SESSION_END_MS);
        };
      }),
    ]);
    this.#hurry = undefined;
    clearTimeout(timer);
    clearTimeout(hurried);
  }
}

/** The request whose response stream the message being delivered came from (see `#tagStreams`). */
const streamOf = new AsyncLocalStorage<number | string>();

/** How long a DELETE may take when the connection is ended at once (`destroy()`). */
const HURRIED_SESSION_END_MS = 250;

/** The JSON-RPC error response to `message` in the body of an HTTP error the SDK threw for it, if any. */
function httpStatusOf(err: unknown): unknown {
  return (err as { data?: { status?: unknown } } | undefined)?.data?.status;
}

function errorAnswer(err: unknown, message: JSONRPCMessage, inSession: boolean): JSONRPCMessage | undefined {
  const id = (message as { id?: unknown }).id;
  const body = parseAnswer(err, inSession);
  return body && id !== undefined && body.id === id ? (body as JSONRPCMessage) : undefined;
}

/**
 * The JSON-RPC error response in the body of an HTTP error the SDK threw, if it is one the switchboard
 * takes as the server's answer. Not a refusal of the credentials (401, 403: the request was not
 * served), and not a 404 while in a session (spec 2025-11-25, basic/transports: the session is gone, and
 * the client must start a new one: that is a lost connection, not an answer).
 */
function parseAnswer(err: unknown, inSession: boolean): { id: unknown } | undefined {
  const data = (err as { data?: { text?: unknown; status?: unknown } } | undefined)?.data;
  const text = data?.text;
  const status = data?.status;
  if (typeof text !== 'string' || text.length > 65_536) return undefined;
  if (status === 401 || status === 403 || (status === 404 && inSession)) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  const b = body as { jsonrpc?: unknown; id?: unknown; error?: { code?: unknown; message?: unknown } };
  if (b?.jsonrpc !== '2.0' || b.id === undefined || b.id === null) return undefined;
  if (typeof b.error?.code !== 'number' || typeof b.error.message !== 'string') return undefined;
  return b as { id: unknown };
}

/**
 * The SDK's legacy HTTP+SSE transport, with one addition: once started, a failure of its event stream
 * ends the connection. The EventSource underneath reconnects by itself, but a reconnected stream is a
 * new session the server never saw initialized: its answers would never come. Ending the connection
 * lets the supervisor start a new one, handshake included.
 */
class StreamWatchingSseTransport extends SSEClientTransport {
  #started = false;

  constructor(url: URL, opts: ConstructorParameters<typeof SSEClientTransport>[1]) {
    super(url, opts);
    wrapOnerror(this, (error, report) => {
      report(error);
      // Closed once the EventSource's own error handling is over: it arms its reconnect timer after
      // this handler returns, and a close from inside the handler would leave that timer running.
      if (this.#started && error instanceof SseError) setImmediate(() => void this.close());
    });
  }

  override async start(): Promise<void> {
    await super.start();
    this.#started = true;
  }
}

/**
 * Puts `filter` in front of whatever `onerror` handler a transport is given. `onerror` is a data property
 * of the SDK's transports, so it is redefined on the instance rather than overridden. What the getter
 * returns is bound to the handler set at the time, since the SDK chains handlers (it reads the current
 * one and sets a new one that calls it).
 */
function wrapOnerror(
  transport: { onerror?: ((error: Error) => void) | undefined },
  filter: (error: Error, report: (error: Error) => void) => void,
): void {
  let wrapped: ((error: Error) => void) | undefined;
  Object.defineProperty(transport, 'onerror', {
    configurable: true,
    get: () => wrapped,
    set: (fn: ((error: Error) => void) | undefined) => {
      wrapped = fn === undefined ? undefined : (error: Error) => filter(error, fn);
    },
  });
}

/** Tells an HTTP transport that its handshake is done (see `SessionEndingTransport.deliverErrorAnswers`). */
export function handshakeDone(transport: Transport): void {
  if (transport instanceof SessionEndingTransport) transport.deliverErrorAnswers();
}

/** Why an HTTP upstream did not start, for a person: what happened at which URL, and what to try. */
export interface HttpStartFailure {
  /** One or two lines, never a response body beyond a short excerpt. */
  reason: string;
  data: { url: string; status: number | null; errno: string | null };
}

/** How long the look at a failed URL (does it serve legacy SSE?) may take. */
const SNIFF_MS = 1000;

/**
 * Explains a failed HTTP handshake. When the answer alone cannot tell (a POST refused with a 4xx may be a
 * wrong path or a legacy HTTP+SSE server, which takes its POSTs elsewhere), one GET asks the URL whether
 * it opens an SSE stream with an `endpoint` event: at most a second, and not past `signal`.
 */
export async function explainHttpStartFailure(
  spec: HttpSpec,
  err: unknown,
  signal?: AbortSignal,
): Promise<HttpStartFailure> {
  const status = httpStatus(err);
  const legacySse =
    spec.type === 'http' &&
    status !== undefined &&
    status >= 400 &&
    status < 500 &&
    status !== 401 &&
    status !== 403 &&
    (await servesLegacySse(spec, signal));
  return describeHttpStartFailure(spec, err, { legacySse });
}

/** The classification itself, from the error the SDK threw (and what a look at the URL found). */
export function describeHttpStartFailure(
  spec: HttpSpec,
  err: unknown,
  evidence: { legacySse?: boolean } = {},
): HttpStartFailure {
  const url = displayUrl(spec.url);
  const status = httpStatus(err) ?? null;
  const errno = status === null ? (networkCode(err) ?? null) : null;
  const say = (reason: string): HttpStartFailure => ({ reason, data: { url, status, errno } });
  if (hasUserinfo(spec.url))
    return say(
      `${url}: fetch refuses a URL with credentials in it; put them under "headers" instead ("Authorization": "Basic …", with user:password in base64)`,
    );
  if (evidence.legacySse)
    return say(
      `${url} is a legacy HTTP+SSE server (HTTP ${status} to a POST, and a GET opens its event stream); set "type": "sse" for this server`,
    );
  if (status !== null) return say(describeStatus(spec, url, status, err));
  // The SDK's own words, as a last resort: one line, without the raw URL (it may carry a token).
  const fallback = () => `${url}: ${excerpt(withoutRawUrl(messageOf(err), spec.url, url))}`;
  if (errno) return say(describeNetworkError(spec, url, errno) ?? fallback());
  const content = unexpectedContent(err);
  if (content)
    return say(`${url} answered, but not with MCP (${content}); check the path (${usualPath(spec)})`);
  return say(fallback());
}

/** The URL as errors show it: no credentials, and no query string (tokens live there too). */
export function displayUrl(raw: string): string {
  try {
    const u = new URL(raw);
    return `${u.origin}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return raw;
  }
}

function usualPath(spec: HttpSpec): string {
  return spec.type === 'sse'
    ? 'legacy SSE servers usually serve /sse'
    : 'Streamable HTTP servers usually serve /mcp';
}

// biome-ignore lint/suspicious/noTemplateCurlyInString: the config's own ${VAR} syntax, shown as an example.
const AUTH_EXAMPLE = '"Authorization": "Bearer ${TOKEN}"';

function describeStatus(spec: HttpSpec, url: string, status: number, err: unknown): string {
  const head = `HTTP ${status} from ${url}`;
  const hasAuth = Object.keys(spec.headers ?? {}).some((k) => k.toLowerCase() === 'authorization');
  if (status === 401)
    return hasAuth
      ? `${head}: the server refused the credentials in "headers"; check the token (is its variable set, is it still valid?)`
      : `${head}: the server wants credentials; add them under "headers" (e.g. ${AUTH_EXAMPLE})`;
  if (status === 403)
    return hasAuth
      ? `${head}: access denied with the credentials in "headers"; check the token and what it is allowed to do`
      : `${head}: access denied; if the server wants credentials, add them under "headers" (e.g. ${AUTH_EXAMPLE})`;
  if (status === 404) return `${head}: no MCP endpoint at this path; check the path (${usualPath(spec)})`;
  if (status === 405)
    return spec.type === 'sse'
      ? `${head}: no event stream at this URL; if this is a Streamable HTTP server, remove "type": "sse"`
      : `${head}: this URL does not take MCP requests; check the path (${usualPath(spec)}), or set "type": "sse" for a legacy SSE server`;
  if (status >= 300 && status < 400) {
    // The SDK follows redirects within the origin only, and says where the others point.
    const to = /Redirect to (\S+) not followed|try (\S+) as the endpoint/.exec(messageOf(err));
    const target = to?.[1] ?? to?.[2];
    return `${head}: a redirect${target ? ` to ${target}` : ''} that is not followed; put the URL it points to in "url"`;
  }
  const body = bodyExcerpt(err);
  const quoted = body ? ` ("${body}")` : '';
  if (status >= 500) return `${head}: the server failed${quoted}; check the server's logs`;
  return `${head}${quoted}; check that this URL is the server's MCP endpoint (${usualPath(spec)})`;
}

function describeNetworkError(spec: HttpSpec, url: string, code: string): string | undefined {
  const host = hostOf(spec.url);
  switch (code) {
    case 'ECONNREFUSED':
      return `cannot connect to ${url}: connection refused; is the server running, and are the host and port right?`;
    case 'ENOTFOUND':
      return `cannot resolve host '${host}' of ${url} (ENOTFOUND); check the host name in "url"`;
    case 'EAI_AGAIN':
      return `cannot resolve host '${host}' of ${url} (EAI_AGAIN: no answer from DNS); check the network and DNS`;
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
      return `the connection to ${url} was dropped before an answer (${code}); is this an HTTP MCP server, and is the port right?`;
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `cannot connect to ${url}: no answer from the host (${code}); is it reachable from here (firewall, VPN, proxy)?`;
  }
  if (/^(ERR_TLS_|ERR_SSL_|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_)/.test(code))
    return `TLS with ${url} failed (${code}); check the server's certificate, or use http:// if the server does not speak TLS`;
  return undefined;
}

/** Errors nest (the SDK's wraps fetch's, which wraps the socket's): each level, outermost first. */
function* chain(err: unknown): Generator<Record<string, unknown>> {
  let e = err;
  for (let depth = 0; depth < 8 && typeof e === 'object' && e !== null; depth++) {
    yield e as Record<string, unknown>;
    e = (e as { cause?: unknown }).cause;
  }
}

/** The HTTP status the server answered with, if it answered: the SDK's SdkHttpError, or an SseError. */
function httpStatus(err: unknown): number | undefined {
  for (const e of chain(err)) {
    const status = (e.data as { status?: unknown } | undefined)?.status;
    if (typeof status === 'number') return status;
    // SseError (the SSE transport's GET) carries the status as a numeric `code`.
    if (typeof e.code === 'number' && e.code >= 100 && e.code < 600) return e.code;
  }
  return undefined;
}

const NETWORK_CODE =
  /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|UND_ERR_[A-Z_]+|ERR_TLS_[A-Z_]+|ERR_SSL_[A-Z_]+|CERT_[A-Z_]+|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_[A-Z_]+)\b/;

/** The socket's, DNS's or TLS's error code: from `code` down the chain, else from a message (SseError's). */
function networkCode(err: unknown): string | undefined {
  for (const e of chain(err)) if (typeof e.code === 'string' && NETWORK_CODE.test(e.code)) return e.code;
  for (const e of chain(err)) {
    const found = typeof e.message === 'string' ? NETWORK_CODE.exec(e.message) : null;
    if (found) return found[1];
  }
  return undefined;
}

/** A 2xx that was not MCP (an HTML page, a body that is not JSON): what it was. */
function unexpectedContent(err: unknown): string | undefined {
  for (const e of chain(err)) {
    const type = (e.data as { contentType?: unknown } | undefined)?.contentType;
    if (e.code === 'CLIENT_HTTP_UNEXPECTED_CONTENT') return `content type ${String(type ?? 'none')}`;
    if (e.name === 'SyntaxError') return 'a body that is not JSON';
  }
  return undefined;
}

function bodyExcerpt(err: unknown): string | undefined {
  for (const e of chain(err)) {
    const text = (e.data as { text?: unknown } | undefined)?.text;
    if (typeof text === 'string' && text.trim()) return excerpt(text, 100);
  }
  return undefined;
}

/** One short line of text from a message or a body: an HTML page gives its title, or its text. */
function excerpt(text: string, max = 200): string {
  const title = /<title[^>]*>([^<]*)<\/title>/i.exec(text)?.[1];
  const plain = (title ?? text.replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]*>/g, ' '))
    .replace(/\s+/g, ' ')
    .trim();
  return plain.length > max ? `${plain.slice(0, max - 1)}…` : plain;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function withoutRawUrl(text: string, raw: string, shown: string): string {
  let out = text.split(raw).join(shown);
  try {
    out = out.split(new URL(raw).href).join(shown); // the form the SDK and fetch print
  } catch {
    // not a URL: nothing more to hide
  }
  return out;
}

function hasUserinfo(raw: string): boolean {
  try {
    const u = new URL(raw);
    return u.username !== '' || u.password !== '';
  } catch {
    return false;
  }
}

function hostOf(raw: string): string {
  try {
    return new URL(raw).hostname;
  } catch {
    return raw;
  }
}

/** Whether the URL serves the legacy HTTP+SSE transport: a GET opens an event stream with an `endpoint` event. */
async function servesLegacySse(spec: HttpSpec, signal: AbortSignal | undefined): Promise<boolean> {
  const limit = AbortSignal.timeout(SNIFF_MS);
  const headers = new Headers(spec.headers);
  headers.set('accept', 'text/event-stream');
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  try {
    const res = await fetch(spec.url, {
      headers,
      redirect: 'manual',
      signal: signal ? AbortSignal.any([signal, limit]) : limit,
    });
    if (!res.body) return false;
    reader = res.body.getReader();
    if (!res.ok || !/^text\/event-stream\b/i.test(res.headers.get('content-type') ?? '')) return false;
    const decoder = new TextDecoder();
    let text = '';
    while (text.length < 4096) {
      const { value, done } = await reader.read();
      if (done) return false;
      text += decoder.decode(value, { stream: true });
      if (/^event:\s*endpoint\s*$/m.test(text)) return true;
    }
    return false;
  } catch {
    return false;
  } finally {
    // The stream would stay open (an SSE server keeps it so): end it, and its connection with it.
    await reader?.cancel().catch(() => {});
  }
}
