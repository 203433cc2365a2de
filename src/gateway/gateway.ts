/**
 * The gateway: the whole switchboard as one MCP server, over Streamable HTTP (both protocol eras on one
 * URL) and over stdio. Its public face; the parts are in this folder:
 * - upstreams.ts: which switchboard serves a server for a session (shared, or one per session);
 * - surface.ts: the MCP methods a client calls, forwarded with this request's signal, progress and
 *   question handlers;
 * - parking.ts: 2025-era upstream questions held open across a 2026-07-28 client's rounds;
 * - resources.ts: which upstream a resource URI belongs to;
 * - limits.ts: per-client calls in flight and queued;
 * - sessions.ts: the session store interface;
 * - http-front.ts: the HTTP endpoint and its gates;
 * - session-transport.ts: one 2025-era session's Streamable HTTP transport, on Node's request objects.
 */
import { randomBytes } from 'node:crypto';
import { createRequestStateCodec, type Server } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { type LoadOptions, loadConfig, type SwitchboardConfig } from '../config/config.js';
import { SwitchboardError } from '../core/errors.js';
import type { Switchboard } from '../switchboard/switchboard.js';
import { HttpFront, isLoopback, isWildcard } from './http-front.js';
import { DEFAULT_LIMITS, Limiter, type LimitOptions } from './limits.js';
import { Parking } from './parking.js';
import { ResourceIndex } from './resources.js';
import { InMemorySessionStore, type SessionStore } from './sessions.js';
import { Subscriptions } from './subscriptions.js';
import {
  buildServer,
  type Downstream,
  logLevelAdmits,
  type Sealed,
  type SurfaceDeps,
  type View,
} from './surface.js';
import { type ListKind, type UpstreamEvents, Upstreams } from './upstreams.js';

export interface GatewayOptions extends LoadOptions {
  /** Serve over HTTP on this host and port (port 0: any free one). Omit for stdio only. */
  http?: { host?: string | undefined; port?: number | undefined } | undefined;
  /** A bearer token every HTTP request must carry (compared in constant time). */
  token?: string | undefined;
  /** Hostnames the Host header may name besides localhost and the bind address. */
  allowedHosts?: string[] | undefined;
  /** Origin hostnames a browser page may call from besides localhost. */
  allowedOrigins?: string[] | undefined;
  /** Largest request body (default 4 MiB); beyond it: 413. */
  maxBodyBytes?: number | undefined;
  /** A 2025-era session idle this long is ended and its calls cancelled (default 30 minutes). */
  sessionIdleMs?: number | undefined;
  /** At most this many 2025-era sessions at once (default 1000). */
  maxSessions?: number | undefined;
  /** Per client: calls running at once and calls waiting (default 32 and 64). */
  limits?: Partial<LimitOptions> | undefined;
  /**
   * The key that seals the gateway's `requestState` (HMAC-SHA256, at least 32 bytes). Default: a random
   * one per process, so a client's retry must reach the process that answered it.
   */
  stateKey?: string | undefined;
  /** How long a call waits for a 2026-07-28 client's answers between rounds (default 120000 ms). */
  holdMs?: number | undefined;
  /** Where session records live (default: in memory). */
  store?: SessionStore | undefined;
  signal?: AbortSignal | undefined;
  /** Things worth telling an operator: a refused request, a failed upstream. */
  onWarning?: ((message: string) => void) | undefined;
}

/** Clients whose limits are tracked at once. */
const MAX_CLIENTS = 10_000;

const ALL_QUESTIONS = ['sampling', 'elicitation', 'roots'] as const;

export class Gateway {
  readonly #upstreams: Upstreams;
  readonly #deps: SurfaceDeps;
  readonly #limits: LimitOptions;
  readonly #limiters = new Map<string, Limiter>();
  readonly #stdio = new Set<{ server: Server; down: Downstream; view: View }>();
  readonly #warn: (message: string) => void;
  #front: HttpFront | undefined;
  #stdioHandle: { close(): Promise<void> } | undefined;
  #closing: Promise<void> | undefined;

  private constructor(upstreams: Upstreams, opts: GatewayOptions) {
    this.#upstreams = upstreams;
    this.#limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.#warn = opts.onWarning ?? (() => {});
    const key = opts.stateKey ?? randomBytes(32).toString('base64url');
    this.#deps = {
      upstreams,
      parking: new Parking({ max: 10_000, holdMs: opts.holdMs ?? 120_000 }),
      resources: new ResourceIndex(() => upstreams.names()),
      codec: createRequestStateCodec<Sealed>({
        key,
        ttlSeconds: Math.ceil((opts.holdMs ?? 120_000) / 1000) + 600,
        // Bound to the method and to the client's token (the codec stores only an HMAC of it): a state
        // one client was given cannot be answered with another's token.
        bind: (ctx) => `${ctx.mcpReq.method}\0${ctx.http?.authInfo?.token ?? ''}`,
      }),
      separator: upstreams.config.separator,
      subscriptions: new Subscriptions(),
    };
  }

  /**
   * Starts every shared upstream, then the HTTP endpoint if `http` is given. Upstreams are told the
   * gateway can answer sampling, elicitation (form and URL) and roots: it asks its own clients.
   */
  static async start(config: string | object, opts: GatewayOptions = {}): Promise<Gateway> {
    checkOptions(opts);
    const parsed = loadConfig(config, opts);
    const withQuestions: SwitchboardConfig = {
      ...parsed,
      servers: parsed.servers.map((s) => ({
        ...s,
        advertise: [...new Set([...s.advertise, ...ALL_QUESTIONS])],
      })),
    };
    // Events can come before the gateway exists (during start-up); they go nowhere until it does.
    const relay: Pick<UpstreamEvents, 'listChanged' | 'log' | 'resourceUpdated'> = {
      listChanged: () => {},
      log: () => {},
      resourceUpdated: () => {},
    };
    const upstreams = await Upstreams.start(
      withQuestions,
      {
        listChanged: (kind, server, key) => relay.listChanged(kind, server, key),
        log: (event, key) => relay.log(event, key),
        resourceUpdated: (server, key, params) => relay.resourceUpdated(server, key, params),
        warning: ({ server, error }) => opts.onWarning?.(`[${server}] ${error.message}`),
      },
      { signal: opts.signal },
    );
    if (opts.signal?.aborted) {
      await upstreams.destroy();
      throw new SwitchboardError('E_ABORTED', 'Gateway.start() was aborted', { cause: opts.signal.reason });
    }
    const gateway = new Gateway(upstreams, opts);
    relay.listChanged = (kind, server, key) => gateway.#listChanged(kind, server, key);
    relay.log = (event, key) => gateway.#log(event, key);
    relay.resourceUpdated = (server, key, params) =>
      gateway.#deps.subscriptions.updated(server, key ?? 'shared', params);
    if (opts.http) {
      const host = opts.http.host ?? '127.0.0.1';
      if (!isLoopback(host) && !opts.token)
        gateway.#warn(
          `WARNING: serving on ${host}, reachable from other machines, with no token: anyone who can reach it ` +
            'can call every tool. Pass --token (or set SWITCHBOARD_TOKEN).',
        );
      if (isWildcard(host) && !opts.allowedHosts?.length)
        gateway.#warn(
          `serving on ${host}: requests are refused (403) unless their Host header names localhost or a ` +
            'name given with --allow-host; pass the name or address clients use (--allow-host my.host).',
        );
      const front = new HttpFront(
        {
          host,
          port: opts.http.port ?? 0,
          token: opts.token,
          allowedHosts: opts.allowedHosts,
          allowedOrigins: opts.allowedOrigins,
          maxBodyBytes: opts.maxBodyBytes ?? 4 * 1024 * 1024,
          sessionIdleMs: opts.sessionIdleMs ?? 30 * 60_000,
          maxSessions: opts.maxSessions ?? 1000,
        },
        gateway.#frontHost(),
        opts.store ?? new InMemorySessionStore(),
      );
      gateway.#front = front;
      try {
        await front.listen();
      } catch (err) {
        await gateway.close();
        const busy = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
        throw new SwitchboardError(
          'E_START_FAILED',
          `cannot listen on ${host}:${opts.http.port}: ${(err as Error).message}` +
            (busy
              ? '; another process has that port: stop it, or choose another port (0 picks a free one)'
              : ''),
          {
            cause: err,
          },
        );
      }
    }
    if (opts.signal?.aborted) {
      await gateway.destroy();
      throw new SwitchboardError('E_ABORTED', 'Gateway.start() was aborted', { cause: opts.signal.reason });
    }
    return gateway;
  }

  /** The aggregate endpoint (`http://host:port/mcp`), when serving over HTTP. */
  get url(): string | undefined {
    return this.#front?.url;
  }

  /** The switchboard of the shared upstreams. */
  get switchboard(): Switchboard {
    return this.#upstreams.shared;
  }

  /** Counts for status and tests. */
  stats(): { sessions: number; parked: number; scoped: Record<string, number> } {
    let sessions = 0;
    for (const _ of this.#front?.sessions() ?? []) sessions++;
    return { sessions, parked: this.#deps.parking.size, scoped: this.#upstreams.scopedCounts() };
  }

  /** Serves the aggregate over this process's stdin and stdout (or the given transport). */
  serveStdio(
    opts: {
      transport?: Parameters<typeof serveStdio>[1] extends infer O
        ? O extends { transport?: infer T }
          ? T
          : never
        : never;
    } = {},
  ): void {
    this.#stdioHandle = serveStdio(
      (ctx) => {
        const unit = this.#serve({}, { era: ctx.era, key: 'stdio' });
        if (ctx.era === 'legacy') this.#stdio.add(unit);
        return unit.server;
      },
      {
        ...(opts.transport ? { transport: opts.transport } : {}),
        onerror: (err) => this.#warn(`stdio: ${err.message}`),
      },
    );
  }

  close(opts: { timeoutMs?: number } = {}): Promise<void> {
    this.#closing ??= (async () => {
      this.#deps.parking.closeAll(new SwitchboardError('E_CLOSED', 'the gateway is shutting down'));
      await this.#front?.close();
      await this.#stdioHandle?.close().catch(() => {});
      await this.#upstreams.close(opts);
    })();
    return this.#closing;
  }

  /** Stops at once, also during a close: calls fail, every upstream process tree is ended. */
  async destroy(): Promise<void> {
    this.#deps.parking.closeAll(new SwitchboardError('E_CLOSED', 'the gateway was destroyed'));
    await Promise.all([
      this.#front?.close(),
      this.#stdioHandle?.close().catch(() => {}),
      this.#upstreams.destroy(),
    ]);
    await this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- internals ----------------------------------------------------------------------------------

  #serve(view: View, down: Omit<Downstream, 'limiter'>): { server: Server; down: Downstream; view: View } {
    const limitsKey = down.limitsKey ?? down.key;
    let limiter = this.#limiters.get(limitsKey);
    if (!limiter) {
      // Bounded: the oldest idle client's limiter goes first (a client that comes back gets a new one).
      if (this.#limiters.size >= MAX_CLIENTS)
        for (const [key, old] of this.#limiters)
          if (old.running === 0 && old.queued === 0) {
            this.#limiters.delete(key);
            break;
          }
      limiter = new Limiter(this.#limits);
      this.#limiters.set(limitsKey, limiter);
    }
    const full: Downstream = { ...down, limiter };
    return { server: buildServer(this.#deps, view, full), down: full, view };
  }

  #frontHost() {
    return {
      view: (path: string): View | undefined => {
        if (path === '/mcp' || path === '/mcp/') return {};
        const match = /^\/servers\/([^/]+)\/mcp\/?$/.exec(path);
        if (!match) return undefined;
        let name: string;
        try {
          name = decodeURIComponent(match[1] as string);
        } catch {
          return undefined;
        }
        return this.#upstreams.entry(name) ? { server: name } : undefined;
      },
      serve: (view: View, down: Omit<Downstream, 'limiter'>) => this.#serve(view, down),
      ended: (key: string) => {
        this.#limiters.delete(key);
        this.#deps.subscriptions.drop(key);
        void this.#upstreams.release(key);
      },
      warn: (message: string) => this.#warn(message),
    };
  }

  /** Every 2025-era unit (HTTP sessions and stdio) that sees `server`, for `key` if given. */
  *#units(server: string, key: string | undefined) {
    for (const unit of [...(this.#front?.sessions() ?? []), ...this.#stdio]) {
      if (unit.view.server !== undefined && unit.view.server !== server) continue;
      if (key !== undefined && unit.down.key !== key) continue;
      yield unit;
    }
  }

  #listChanged(kind: ListKind, server: string, key: string | undefined): void {
    for (const { server: s } of this.#units(server, key)) {
      const sent =
        kind === 'tools'
          ? s.sendToolListChanged()
          : kind === 'resources'
            ? s.sendResourceListChanged()
            : s.sendPromptListChanged();
      Promise.resolve(sent).catch(() => {});
    }
    // A session's own (scoped) upstream changed: 2026-07-28 listeners are no session's; they do not hear it.
    if (key?.startsWith('session:')) return;
    for (const [path, handler] of this.#front?.modernHandlers() ?? []) {
      if (path !== '/mcp' && path !== `/servers/${server}/mcp`) continue;
      if (kind === 'tools') handler.notify.toolsChanged();
      else if (kind === 'resources') handler.notify.resourcesChanged();
      else handler.notify.promptsChanged();
    }
  }

  #log(
    event: { server: string; level: string; logger?: string | undefined; data: unknown },
    key: string | undefined,
  ): void {
    for (const unit of this.#units(event.server, key)) {
      if (!logLevelAdmits(unit.down.logLevel, event.level)) continue;
      const logger = event.logger ? `${event.server}/${event.logger}` : event.server;
      unit.server
        .notification({
          method: 'notifications/message',
          params: { level: event.level, logger, data: event.data },
        } as never)
        .catch(() => {});
    }
  }
}

function checkOptions(opts: GatewayOptions): void {
  const positive = (name: string, value: unknown) => {
    if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value <= 0))
      throw new SwitchboardError(
        'E_INVALID_ARGUMENT',
        `${name} must be a positive integer (got ${String(value)})`,
      );
  };
  positive('maxBodyBytes', opts.maxBodyBytes);
  positive('sessionIdleMs', opts.sessionIdleMs);
  positive('maxSessions', opts.maxSessions);
  positive('holdMs', opts.holdMs);
  positive('limits.maxInFlight', opts.limits?.maxInFlight);
  if (
    opts.limits?.maxQueue !== undefined &&
    (!Number.isInteger(opts.limits.maxQueue) || opts.limits.maxQueue < 0)
  )
    throw new SwitchboardError(
      'E_INVALID_ARGUMENT',
      `limits.maxQueue must be an integer >= 0 (got ${opts.limits.maxQueue})`,
    );
  const port = opts.http?.port;
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535))
    throw new SwitchboardError(
      'E_INVALID_ARGUMENT',
      `the port must be an integer from 0 to 65535 (got ${port})`,
    );
  if (opts.stateKey !== undefined && Buffer.byteLength(opts.stateKey) < 32)
    throw new SwitchboardError(
      'E_INVALID_ARGUMENT',
      'the state key must be at least 32 bytes (openssl rand -base64 32 makes one)',
    );
  if (opts.token !== undefined && opts.token.trim() !== opts.token)
    throw new SwitchboardError(
      'E_INVALID_ARGUMENT',
      'the token starts or ends with whitespace (a newline from a file?); HTTP trims header values, so no client could match it: remove it',
    );
  if (opts.token !== undefined && opts.token.length < 16)
    throw new SwitchboardError(
      'E_INVALID_ARGUMENT',
      'the token must be at least 16 characters (openssl rand -base64 24 makes one)',
    );
}
