import type { Isolation, ServerConfig } from '../config/config.js';
import { SwitchboardError } from '../core/errors.js';
import type { Params } from '../core/jsonrpc.js';
import { type ConnectionStats, type ServerDescription, UpstreamConnection } from './connection.js';
import type { CloseOptions, HostEvents, HostOptions, RequestOptions, UpstreamHost } from './host.js';

/** The connection on the caller's own event loop: no hop, the lowest latency. */
export class InlineHost implements UpstreamHost {
  readonly server: string;
  readonly isolation: Isolation = 'inline';
  #config: ServerConfig;
  #events: HostEvents;
  #conn: UpstreamConnection | undefined;
  #closed = false;
  #now = false;
  #closing = new AbortController();
  /** The handshake in progress: a close() during it waits until it has ended what it started. */
  #opening: Promise<unknown> | undefined;

  #capabilities: Record<string, unknown> | undefined;

  constructor(config: ServerConfig, events: HostEvents, options: HostOptions = {}) {
    this.server = config.name;
    this.#config = config;
    this.#events = events;
    this.#capabilities = options.capabilities;
  }

  async start(opts: { signal?: AbortSignal | undefined } = {}): Promise<ServerDescription> {
    if (this.#conn) return this.#conn.description;
    if (this.#closed) throw closedError(this.server);
    // A close() during the handshake ends the handshake too, not only what follows it.
    const signal = opts.signal ? AbortSignal.any([opts.signal, this.#closing.signal]) : this.#closing.signal;
    const opening = UpstreamConnection.open(this.#config, {
      signal,
      events: this.#events,
      capabilities: this.#capabilities,
    });
    this.#opening = opening;
    const conn = await opening;
    if (this.#closed) {
      await conn.close(undefined, { now: this.#now });
      throw closedError(this.server);
    }
    this.#conn = conn;
    return conn.description;
  }

  request(method: string, params: Params | undefined, opts?: RequestOptions): Promise<unknown> {
    const conn = this.#conn;
    if (!conn) return Promise.reject(notStarted(this.server, this.#closed));
    return conn.request(method, params, opts);
  }

  notify(method: string, params?: Params): Promise<void> {
    const conn = this.#conn;
    if (!conn) return Promise.reject(notStarted(this.server, this.#closed));
    return conn.notify(method, params);
  }

  stats(): Promise<ConnectionStats> {
    return Promise.resolve(
      this.#conn?.stats ?? { pending: 0, late: 0, unknown: 0, lateProgress: 0, badMessages: 0 },
    );
  }

  stderrTail(): Promise<string[]> {
    return Promise.resolve(this.#conn?.stderrTail ?? []);
  }

  async close(reason?: SwitchboardError, opts: CloseOptions = {}): Promise<void> {
    this.#closed = true;
    this.#now ||= opts.now === true;
    this.#closing.abort(reason ?? closedError(this.server));
    await this.#opening?.catch(() => {});
    await this.#conn?.close(reason ?? closedError(this.server), { now: this.#now });
  }
}

export function closedError(server: string): SwitchboardError {
  return new SwitchboardError('E_CLOSED', `the connection to '${server}' was closed by the switchboard`, {
    data: { server },
  });
}

function notStarted(server: string, closed: boolean): SwitchboardError {
  return closed
    ? closedError(server)
    : new SwitchboardError('E_UPSTREAM_UNAVAILABLE', `'${server}' is not started`, { data: { server } });
}
