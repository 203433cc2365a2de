import type { ServerConfig } from '../config/config.js';
import type { SwitchboardError } from '../core/errors.js';
import type { RpcNotification } from '../core/jsonrpc.js';
import type { RequestLink } from '../core/server-requests.js';
import type { ServerDescription } from '../upstream/connection.js';
import type { HostFactory } from '../upstream/host.js';
import type { ServerCatalog } from './catalog.js';
import { type ServerState, Supervisor } from './supervisor.js';

/** One configured server: its supervisor (connection, mailbox) and what the switchboard knows of it. */
export interface Route {
  readonly sup: Supervisor;
  readonly catalog: ServerCatalog;
}

export interface FleetHooks {
  state(route: Route, state: ServerState, error: SwitchboardError | undefined): void;
  ready(route: Route, description: ServerDescription, generation: number): void;
  notification(route: Route, message: RpcNotification): void;
  warning(route: Route, error: Error): void;
  stderr(route: Route, line: string): void;
  serverRequest(
    route: Route,
    request: { method: string; params: Record<string, unknown> },
    link: RequestLink<unknown>,
    signal: AbortSignal,
  ): Promise<Record<string, unknown>>;
  capabilities(config: ServerConfig): Record<string, unknown>;
}

export interface FleetOptions {
  factory: HostFactory;
  /** Start only these servers; the others stay configured, `disabled`. */
  only?: ReadonlySet<string> | undefined;
  /** Restarts off for every server, whatever its config says (one-shot work). */
  noRestart?: boolean | undefined;
  hooks: FleetHooks;
}

/**
 * The servers a switchboard runs: one route per configured name, and the supervisors of servers a reload
 * removed that are still finishing their calls (close() waits for those too).
 */
export class Fleet {
  readonly #routes = new Map<string, Route>();
  readonly #retiring = new Set<Supervisor>();
  readonly #opts: FleetOptions;

  constructor(opts: FleetOptions) {
    this.#opts = opts;
  }

  get(name: string): Route | undefined {
    return this.#routes.get(name);
  }

  names(): string[] {
    return [...this.#routes.keys()];
  }

  routes(): Route[] {
    return [...this.#routes.values()];
  }

  /** Routes whose server can be sent calls now. */
  ready(): Route[] {
    return this.routes().filter((r) => r.sup.state === 'ready');
  }

  /** Every supervisor, those finishing after a reload removed them included. */
  supervisors(): Supervisor[] {
    return [...this.routes().map((r) => r.sup), ...this.#retiring];
  }

  /** A server's entry as this switchboard runs it: off unless wanted, restarts off if asked. */
  effective(server: ServerConfig): ServerConfig {
    const { only, noRestart } = this.#opts;
    const wanted = server.enabled && (!only || only.has(server.name));
    if (wanted && !noRestart) return server;
    return { ...server, enabled: wanted, ...(noRestart ? { restart: false as const } : {}) };
  }

  add(server: ServerConfig): Route {
    const hooks = this.#opts.hooks;
    const catalog: ServerCatalog = { tools: undefined, loading: undefined, key: undefined };
    let route!: Route;
    const sup = new Supervisor(this.effective(server), this.#opts.factory, {
      state: (state, error) => hooks.state(route, state, error),
      ready: (description, generation) => hooks.ready(route, description, generation),
      notification: (message) => hooks.notification(route, message),
      warning: (error) => hooks.warning(route, error),
      stderr: (line) => hooks.stderr(route, line),
      serverRequest: (request, link, signal) => hooks.serverRequest(route, request, link, signal),
      capabilities: (config) => hooks.capabilities(config),
    });
    route = { sup, catalog };
    this.#routes.set(server.name, route);
    return route;
  }

  /**
   * Takes a server out of the config: new calls to its name fail at once with E_UNKNOWN_SERVER; it
   * finishes what it has (up to `drainMs`) and closes. Resolves when it has.
   */
  async retire(route: Route, reason: SwitchboardError, drainMs: number): Promise<void> {
    this.#routes.delete(route.sup.name);
    this.#retiring.add(route.sup);
    try {
      await route.sup.retire(reason, drainMs);
    } finally {
      this.#retiring.delete(route.sup);
    }
  }

  /** Ends every server, with `reason` for what is still pending; `now`: without waiting for them to exit. */
  async stop(reason: SwitchboardError, now: boolean): Promise<void> {
    await Promise.all(this.supervisors().map((sup) => sup.stop(reason, { now })));
  }
}
