import { randomUUID } from 'node:crypto';
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  Client,
  type JSONRPCMessage,
  PROTOCOL_VERSION_META_KEY,
  type Transport,
} from '@modelcontextprotocol/client';
import type { ServerConfig } from '../config/config.js';
import {
  Correlator,
  type CorrelatorStats,
  type ProgressParams,
  type RequestOptions,
} from '../core/correlator.js';
import { RpcError, SwitchboardError, text } from '../core/errors.js';
import { METHOD_NOT_FOUND, type Params, type RpcNotification, type RpcRequest } from '../core/jsonrpc.js';
import { capabilityOf, type RequestLink } from '../core/server-requests.js';
import {
  createHttpTransport,
  displayUrl,
  explainHttpStartFailure,
  type HttpStartFailure,
  handshakeDone,
} from '../transport/http.js';
import { StdioTransport } from '../transport/stdio.js';
import { VERSION } from '../version.js';

export interface ServerDescription {
  protocolVersion: string;
  /** `legacy`: `initialize` era (2025-11-25 and older); `modern`: 2026-07-28 and later. */
  era: 'legacy' | 'modern';
  capabilities: Record<string, unknown>;
  serverInfo?: { name: string; version: string; [key: string]: unknown } | undefined;
  instructions?: string | undefined;
}

export interface ConnectionStats extends CorrelatorStats {
  /** Lines from the server that were not JSON-RPC, and oversized ones: skipped. */
  badMessages: number;
}

export interface ConnectionEvents {
  /** A notification from the server other than progress (list_changed, logging, resource updates...). */
  notification?(message: RpcNotification): void;
  /** The connection ended; every pending call has already failed with `reason`. */
  close?(reason: SwitchboardError): void;
  /** Something went wrong that the connection survives (a garbage line, a stray response). */
  warning?(err: Error): void;
  /** A stdio server's stderr, line by line. */
  stderr?(line: string): void;
  /** A stdio server's process started; it leads its own process group, `pid`. */
  spawn?(pid: number): void;
  /**
   * The server asks for something this client may answer (sampling, elicitation, roots). `link` holds
   * the contexts (see `RequestOptions.context`) of the call it came from, if the transport says, and of
   * every call in flight. Resolves with the result to send back; rejects with the error to send back.
   * `signal` fires if the server cancels the request, or the connection ends.
   */
  serverRequest?(
    request: { method: string; params: Record<string, unknown> },
    link: RequestLink<unknown>,
    signal: AbortSignal,
  ): Promise<Record<string, unknown>>;
}

const CLIENT_INFO = { name: 'mcp-switchboard', version: VERSION };

/**
 * One live connection to one upstream server. The SDK does the handshake (including 2026-07-28 era
 * negotiation) on the transport; then the connection takes the transport over and owns the routing
 * path: ids, progress tokens, cancellation, and what to do with every message that comes back.
 */
export class UpstreamConnection {
  readonly server: string;
  readonly description: ServerDescription;
  #transport: Transport;
  #correlator: Correlator;
  #events: ConnectionEvents;
  #envelope: Record<string, unknown> | undefined;
  #perRequestStream: boolean;
  #closed: SwitchboardError | undefined;
  #closing: Promise<void> | undefined;
  /** The close event is told once, however often the transport reports it. */
  #closeTold = false;
  /** Requests the server made of us that are being answered, by their id: the server may cancel them. */
  #asked = new Map<number | string, AbortController>();
  #badMessages = 0;
  /**
   * Our progress tokens: a per-connection random prefix plus the request id, so a token a caller put in
   * `_meta` itself can never be mistaken for one of ours and deliver its progress to another call.
   */
  #tokenPrefix = `sb-${randomUUID().slice(0, 8)}-`;

  private constructor(
    server: string,
    transport: Transport,
    description: ServerDescription,
    events: ConnectionEvents,
    capabilities: Record<string, unknown>,
  ) {
    this.server = server;
    this.#transport = transport;
    this.description = description;
    this.#events = events;
    const modern = description.era === 'modern';
    // 2026-07-28: every request carries the protocol version and client identity in `_meta`.
    this.#envelope = modern
      ? {
          [PROTOCOL_VERSION_META_KEY]: description.protocolVersion,
          [CLIENT_INFO_META_KEY]: CLIENT_INFO,
          [CLIENT_CAPABILITIES_META_KEY]: capabilities,
        }
      : undefined;
    // 2026-07-28 Streamable HTTP: closing a request's SSE stream is its cancellation (basic/patterns/cancellation).
    this.#perRequestStream = modern && transport.hasPerRequestStream === true;
    const stdio = transport instanceof StdioTransport ? transport : undefined;
    this.#correlator = new Correlator(server, {
      send: (pending, params) => {
        let out = params;
        if (pending.onProgress)
          out = {
            ...out,
            _meta: { ...(out?._meta as Params), progressToken: `${this.#tokenPrefix}${pending.id}` },
          };
        if (this.#envelope) {
          // 2026-07-28: the client's capabilities go with each request, this request's own among them.
          const envelope = pending.capabilities
            ? { ...this.#envelope, [CLIENT_CAPABILITIES_META_KEY]: pending.capabilities }
            : this.#envelope;
          out = { ...out, _meta: { ...envelope, ...(out?._meta as Params) } };
        }
        const message = (
          out === undefined
            ? { jsonrpc: '2.0', id: pending.id, method: pending.method }
            : { jsonrpc: '2.0', id: pending.id, method: pending.method, params: out }
        ) as JSONRPCMessage;
        if (stdio) {
          // The hot path: a synchronous write, so a call costs no promise and no wrapper. It throws what
          // send() would have: E_UPSTREAM_CLOSED, or JSON.stringify's own error, thrown as before.
          stdio.write(message);
          return;
        }
        let sent: Promise<void>;
        if (this.#perRequestStream) {
          pending.stream = new AbortController();
          sent = this.#transport.send(message, { requestSignal: pending.stream.signal });
        } else sent = this.#transport.send(message);
        return sent.catch((err) => {
          throw transportError(server, pending.method, err);
        });
      },
      cancel: (pending, reason) => {
        if (pending.stream) {
          pending.stream.abort(reason);
          return;
        }
        // stdio, and 2025-era HTTP: the spec's notifications/cancelled (basic/utilities/cancellation).
        this.#transport
          .send({
            jsonrpc: '2.0',
            method: 'notifications/cancelled',
            params: { requestId: pending.id, reason: reason.message },
          } as JSONRPCMessage)
          .catch(() => {});
      },
    });
    transport.onmessage = (message, extra) =>
      this.#onMessage(message as unknown as Record<string, unknown>, extra as { relatedRequestId?: unknown });
    transport.onerror = (err) => this.#warn(err);
    transport.onclose = () => this.#onClose();
  }

  /** Starts the transport for `config` and performs the handshake. */
  static async open(
    config: ServerConfig,
    opts: {
      signal?: AbortSignal | undefined;
      events?: ConnectionEvents;
      /**
       * The client capabilities to declare: at `initialize` on a 2025-era connection (fixed for its
       * lifetime), and on every request of a 2026-07-28 one (a request may declare more of its own).
       */
      capabilities?: Record<string, unknown> | undefined;
    } = {},
  ): Promise<UpstreamConnection> {
    const events = opts.events ?? {};
    const spec = config.transport;
    const transport: Transport =
      spec.type === 'stdio'
        ? new StdioTransport(spec, {
            server: config.name,
            maxMessageBytes: config.maxMessageBytes,
            closeGraceMs: config.closeGraceMs,
            onStderr: events.stderr,
            onSpawn: events.spawn,
          })
        : createHttpTransport(spec, { sessionEndMs: config.closeGraceMs });
    const capabilities = opts.capabilities ?? {};
    const client = new Client(CLIENT_INFO, {
      capabilities,
      ...(config.protocol === 'legacy'
        ? {}
        : { versionNegotiation: { mode: config.protocol === 'auto' ? 'auto' : { pin: config.protocol } } }),
    });
    const deadline = AbortSignal.timeout(config.startTimeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
    let handshake: ServerDescription;
    try {
      // The SDK's version negotiation (the server/discover probe) and its SSE transport's start() do not
      // watch the signal, so the abort and the deadline are raced here. The catch below closes the
      // transport, which aborts the SDK's fetches and ends its probe: nothing is left running.
      const connecting = client.connect(transport, { signal, timeout: config.startTimeoutMs });
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => reject(signal.reason);
        if (signal.aborted) onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        connecting.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
      });
      const protocolVersion = client.getNegotiatedProtocolVersion() ?? 'unknown';
      handshake = {
        protocolVersion,
        era: protocolVersion >= '2026-07-28' ? 'modern' : 'legacy',
        capabilities: (client.getServerCapabilities() ?? {}) as Record<string, unknown>,
        serverInfo: client.getServerVersion() as ServerDescription['serverInfo'],
        instructions: client.getInstructions(),
      };
    } catch (err) {
      // Nothing to save on a connection that never started: a stdio server is killed at once.
      await (transport as Transport & { close(opts?: { now?: boolean; kill?: boolean }): Promise<void> })
        .close({ now: true, kill: true })
        .catch(() => {});
      throw await startError(config, transport, err, opts.signal?.aborted === true, deadline.aborted, signal);
    }
    // The SDK client is done: from here on every message of this transport is ours to route.
    handshakeDone(transport);
    return new UpstreamConnection(config.name, transport, handshake, events, capabilities);
  }

  get stats(): ConnectionStats {
    return { ...this.#correlator.stats, badMessages: this.#badMessages };
  }

  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /** The last lines of a stdio server's stderr (empty for HTTP). */
  get stderrTail(): string[] {
    return this.#transport instanceof StdioTransport ? this.#transport.stderrTail : [];
  }

  /** Sends a request and resolves with its `result`, exactly as the server sent it. */
  request(method: string, params: Params | undefined, opts: RequestOptions = {}): Promise<unknown> {
    return this.#correlator.request(method, params, opts);
  }

  /** Sends a notification to the server. */
  notify(method: string, params?: Params): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closed);
    const message = (
      params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params }
    ) as JSONRPCMessage;
    return this.#transport.send(message);
  }

  /**
   * Fails whatever is pending with E_CLOSED and closes the transport (a stdio tree is ended). Idempotent;
   * `now` (a stdio server is not given time to exit on its own) also cuts a graceful close short.
   */
  close(reason?: SwitchboardError, opts: { now?: boolean } = {}): Promise<void> {
    this.#closed ??=
      reason ??
      new SwitchboardError('E_CLOSED', `connection to '${this.server}' was closed`, {
        data: { server: this.server },
      });
    this.#correlator.close(this.#closed);
    this.#endAsked();
    return this.#endTransport(opts.now === true);
  }

  /**
   * Closes the transport once. The promise is in place before the transport is asked, because some
   * transports report themselves closed from inside close() (the SDK's SSE and HTTP ones do): whatever
   * that report sets off finds the close already under way, instead of starting another. `now` hurries
   * a close already under way.
   */
  #endTransport(now: boolean): Promise<void> {
    const transport = this.#transport as Transport & { close(opts?: { now?: boolean }): Promise<void> };
    if (this.#closing) {
      if (now) void transport.close({ now: true }).catch(() => {});
      return this.#closing;
    }
    let done!: () => void;
    this.#closing = new Promise<void>((resolve) => {
      done = resolve;
    });
    transport
      .close({ now })
      .catch(() => {})
      .then(done);
    return this.#closing;
  }

  #onMessage(m: Record<string, unknown>, extra?: { relatedRequestId?: unknown }): void {
    const method = m.method;
    if (typeof method !== 'string') {
      // A response. Our ids are numbers; anything else was never ours.
      const id = m.id;
      if (typeof id !== 'number') {
        this.#warn(
          new SwitchboardError(
            'E_PROTOCOL',
            `'${this.server}' answered a request id that was never sent: ${JSON.stringify(id)}`,
            { data: { server: this.server } },
          ),
        );
        return;
      }
      const error = m.error as { code: number; message: string; data?: unknown } | undefined;
      // A late or unknown id is counted by the correlator and delivered to no one.
      if (error)
        this.#correlator.reject(id, new RpcError(this.server, error.code, error.message, error.data));
      else this.#correlator.resolve(id, m.result);
      return;
    }
    if ('id' in m) {
      const related = extra?.relatedRequestId;
      this.#onServerRequest(m as unknown as RpcRequest, typeof related === 'number' ? related : undefined);
      return;
    }
    if (method === 'notifications/cancelled') {
      // The server withdraws a request it made of us: whoever is answering it is told.
      const id = (m.params as { requestId?: unknown } | undefined)?.requestId;
      const asked = this.#asked.get(id as number | string);
      if (asked) {
        asked.abort(
          new SwitchboardError('E_ABORTED', `'${this.server}' cancelled its request`, {
            data: { server: this.server },
          }),
        );
        return;
      }
    }
    if (method === 'notifications/progress') {
      const params = m.params as ProgressParams | undefined;
      const token = params?.progressToken;
      // Ours: handed to its call now, before any response read after it. Not ours (a token the caller
      // set in _meta): it belongs to no call of ours, so it goes out as a plain notification.
      if (typeof token === 'string' && token.startsWith(this.#tokenPrefix)) {
        this.#correlator.progress(Number(token.slice(this.#tokenPrefix.length)), params!);
        return;
      }
    }
    this.#events.notification?.(m as unknown as RpcNotification);
  }

  /**
   * A request from the server. `ping` is answered here; sampling, elicitation and roots go to whoever
   * answers them (see `ConnectionEvents.serverRequest`), with the link to the call that caused it: the
   * one whose response stream carried it (Streamable HTTP), and every call in flight. The rest are
   * refused with "method not found".
   */
  #onServerRequest(request: RpcRequest, related: number | undefined): void {
    const reply = (
      body: { result: unknown } | { error: { code: number; message: string; data?: unknown } },
    ) => {
      if (this.#closed) return;
      this.#transport.send({ jsonrpc: '2.0', id: request.id, ...body } as JSONRPCMessage).catch(() => {});
    };
    if (request.method === 'ping') {
      reply({ result: {} });
      return;
    }
    const ask = this.#events.serverRequest;
    if (!ask || !capabilityOf(request.method)) {
      reply({
        error: {
          code: METHOD_NOT_FOUND,
          message: `mcp-switchboard does not handle '${request.method}' from servers`,
        },
      });
      return;
    }
    const controller = new AbortController();
    this.#asked.set(request.id, controller);
    const link: RequestLink<unknown> = {
      related: related === undefined ? undefined : this.#correlator.contextOf(related),
      inflight: this.#correlator.contexts(),
    };
    const params = (request.params ?? {}) as Record<string, unknown>;
    ask({ method: request.method, params }, link, controller.signal)
      .then(
        (result) => reply({ result }),
        (err: unknown) => reply({ error: asRpcError(err) }),
      )
      .finally(() => this.#asked.delete(request.id));
  }

  #onClose(): void {
    if (!this.#closed) {
      const t = this.#transport;
      const exit = t instanceof StdioTransport ? t.exitInfo : undefined;
      const tail = this.stderrTail.slice(-5);
      const how = exit
        ? exit.signal
          ? `was killed by ${exit.signal}`
          : `exited with code ${exit.code}`
        : 'closed the connection';
      this.#closed = new SwitchboardError(
        'E_UPSTREAM_CLOSED',
        `server '${this.server}' ${how}${tail.length ? `; last stderr: ${tail.join(' | ')}` : ''}`,
        {
          data: {
            server: this.server,
            exitCode: exit?.code ?? null,
            signal: exit?.signal ?? null,
            stderr: tail,
          },
        },
      );
      this.#correlator.close(this.#closed);
      this.#endAsked();
      // The server went away by itself; close() still ends whatever it left running in its group.
      void this.#endTransport(false);
    }
    if (this.#closeTold) return;
    this.#closeTold = true;
    this.#events.close?.(this.#closed);
  }

  /** The connection is gone: whoever is answering one of the server's requests is told. */
  #endAsked(): void {
    for (const controller of this.#asked.values()) controller.abort(this.#closed);
    this.#asked.clear();
  }

  #warn(err: Error): void {
    if (err instanceof SwitchboardError && (err.code === 'E_PROTOCOL' || err.code === 'E_MESSAGE_TOO_LARGE'))
      this.#badMessages++;
    this.#events.warning?.(err);
    // An answer too large to read: its call fails now with the reason (a request id is ours only if known).
    if (
      err instanceof SwitchboardError &&
      err.code === 'E_MESSAGE_TOO_LARGE' &&
      typeof err.data.id === 'number'
    )
      this.#correlator.reject(err.data.id, err);
  }
}

/** A handler's failure, as the JSON-RPC error the server gets: its message, and its code if it is one. */
function asRpcError(err: unknown): { code: number; message: string; data?: unknown } {
  if (err instanceof RpcError) return { code: err.code, message: err.rpcMessage, data: err.data };
  const code = (err as { rpcCode?: unknown })?.rpcCode;
  return {
    code: typeof code === 'number' ? code : -32603,
    message: err instanceof Error ? err.message : text(err),
  };
}

function transportError(server: string, method: string, err: unknown): Error {
  if (err instanceof SwitchboardError || err instanceof RpcError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SwitchboardError('E_TRANSPORT', `${method} on '${server}' could not be sent: ${message}`, {
    cause: err,
    data: { server, method },
  });
}

/** What a failed start ends with: what happened, and (for HTTP, see explainHttpStartFailure) what to try. */
async function startError(
  config: ServerConfig,
  transport: Transport,
  err: unknown,
  aborted: boolean,
  timedOut: boolean,
  signal: AbortSignal,
): Promise<SwitchboardError> {
  if (err instanceof SwitchboardError && err.code === 'E_START_FAILED') return err;
  const server = config.name;
  const spec = config.transport;
  const tail = transport instanceof StdioTransport ? transport.stderrTail.slice(-10) : [];
  const exit = transport instanceof StdioTransport ? transport.exitInfo : undefined;
  const stderr = tail.length ? `\n  last stderr of '${server}':\n    ${tail.join('\n    ')}` : '';
  const target = spec.type === 'stdio' ? `'${spec.command}'` : displayUrl(spec.url);
  let http: HttpStartFailure | undefined;
  let reason: string;
  if (aborted) reason = 'start was aborted by the caller';
  else if (timedOut)
    reason = `no handshake within ${config.startTimeoutMs} ms (startTimeoutMs); is ${target} an MCP server?`;
  else if (exit)
    reason = `the process ${exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`} during start-up`;
  else if (spec.type !== 'stdio') {
    http = await explainHttpStartFailure(spec, err, signal);
    reason = http.reason;
  } else reason = err instanceof Error ? err.message : String(err);
  const code = aborted ? 'E_ABORTED' : 'E_START_FAILED';
  return new SwitchboardError(code, `server '${server}' failed to start: ${reason}${stderr}`, {
    cause: err,
    data: {
      server,
      target,
      ...http?.data,
      stderr: tail,
      exitCode: exit?.code ?? null,
      signal: exit?.signal ?? null,
    },
  });
}
