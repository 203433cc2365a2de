import {
  SSEClientTransport,
  StreamableHTTPClientTransport,
  type Transport,
} from '@modelcontextprotocol/client';

export interface HttpSpec {
  /** `http`: Streamable HTTP (2025-03-26 and later, 2026-07-28 included). `sse`: the legacy HTTP+SSE transport. */
  type: 'http' | 'sse';
  url: string;
  headers?: Record<string, string> | undefined;
}

/**
 * HTTP transports come from the SDK as they are: framing, sessions, resumption and the per-request
 * stream (whose closing is the 2026-07-28 cancellation) are what it does well.
 */
export function createHttpTransport(spec: HttpSpec): Transport {
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
  return new StreamableHTTPClientTransport(url, { requestInit });
}
