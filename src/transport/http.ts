import {
  SSEClientTransport,
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
    return new SSEClientTransport(url, {
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
 * The SDK's Streamable HTTP transport, whose close() first ends the session the server gave it.
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

  constructor(url: URL, opts: StreamableHTTPClientTransportOptions, sessionEndMs: number) {
    super(url, opts);
    this.#sessionEndMs = sessionEndMs;
  }

  override async close(): Promise<void> {
    if (this.sessionId !== undefined) this.#ending ??= this.#endSession();
    await this.#ending;
    await super.close();
  }

  async #endSession(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.terminateSession().catch(() => {}),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.#sessionEndMs);
      }),
    ]);
    clearTimeout(timer);
  }
}
