import { EventEmitter } from 'node:events';
import { type FSWatcher, readFileSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import {
  configError,
  type LoadOptions,
  loadConfigFile,
  needsRestart,
  parseConfig,
  type ServerConfig,
  type SwitchboardConfig,
  sameServer,
} from '../config/config.js';
import { type CallOptions, type CallSite, captureCallSite, stampCallSite } from '../core/correlator.js';
import { isSwitchboardError, SwitchboardError, timeoutError } from '../core/errors.js';
import type { Params, RpcNotification } from '../core/jsonrpc.js';
import { type NameCollision, NameRegistry } from '../core/names.js';
import type { ConnectionStats, ServerDescription } from '../upstream/connection.js';
import type { HostFactory } from '../upstream/host.js';
import { InlineHost } from '../upstream/inline-host.js';
import { ThreadHost } from '../upstream/thread-host.js';
import { type ServerState, Supervisor, within } from './supervisor.js';

export type { ServerState } from './supervisor.js';

/** A tool as the server described it, plus where it lives. */
export interface ToolEntry {
  server: string;
  name: string;
  /** `server` + separator + `name`, unique across the switchboard; `resolveTool()` reverses it. */
  qualifiedName: string;
  /** The tool object exactly as the server listed it. */
  tool: { name: string; description?: string; inputSchema?: unknown; [key: string]: unknown };
}

export interface PromptEntry {
  server: string;
  name: string;
  qualifiedName: string;
  prompt: { name: string; description?: string; [key: string]: unknown };
}

export interface ResourceEntry {
  server: string;
  resource: { uri: string; name?: string; [key: string]: unknown };
}

export interface ServerStatus {
  name: string;
  state: ServerState;
  isolation: 'inline' | 'thread';
  transport: 'stdio' | 'http' | 'sse';
  protocolVersion?: string | undefined;
  serverInfo?: ServerDescription['serverInfo'];
  tools: number;
  running: number;
  queued: number;
  limits: { maxInFlight: number; maxQueue: number; timeoutMs: number };
  /** Connection number: 1 for the first, one more for each restart or reload. */
  generation: number;
  /** Connections replaced after a failure. */
  restarts: number;
  /** Failures in a row; `crashLoopAfter` of them mean `crashloop`. */
  failures: number;
  /** In `restarting`, `backoff` or `crashloop`: when the next start is due. */
  nextAttemptInMs?: number | undefined;
  /** Why it is not ready (the last failure), or undefined. */
  error?: { code: string; message: string } | undefined;
}

export interface ServerReport extends ServerStatus {
  stats: ConnectionStats | undefined;
}

export interface ReloadReport {
  added: string[];
  removed: string[];
  /** Restarted with the new entry. */
  changed: string[];
  /** New limits, deadlines or policies applied in place: same process, same connection. */
  updated: string[];
  unchanged: string[];
}

export interface SwitchboardEvents {
  state: [{ server: string; state: ServerState; generation: number; error?: Error | undefined }];
  notification: [{ server: string; message: RpcNotification }];
  warning: [{ server: string; error: Error }];
  stderr: [{ server: string; line: string }];
  /** A server's tool list was read; `changed` when it differs from the one before (a restart can do that). */
  catalog: [{ server: string; tools: number; changed: boolean }];
  /** A config reload: what it did, or why it was refused (the running config stays). */
  reload: [{ report: ReloadReport; error?: undefined } | { report?: undefined; error: SwitchboardError }];
}

export interface StartOptions extends LoadOptions {
  signal?: AbortSignal | undefined;
  /** Start only these servers (the others stay configured, in state `disabled`). */
  only?: string[] | undefined;
  /** Reject (and close everything) if any enabled server fails to start. Default: false, the rest carry on. */
  requireAll?: boolean | undefined;
  /** Where upstreams live; tests and embedders may supply their own. */
  hostFactory?: HostFactory | undefined;
  /**
   * `false`: no server is restarted, whatever its config says; one that fails to start or goes down stays
   * `failed`. For one-shot work (a CLI command) that would exit before any restart came.
   */
  restart?: false | undefined;
  /** Listeners attached before any server starts, so nothing emitted during start-up is missed. */
  on?: { [E in keyof SwitchboardEvents]?: (...args: SwitchboardEvents[E]) => void } | undefined;
}

interface Route {
  sup: Supervisor;
  tools: Map<string, ToolEntry> | undefined;
  toolsLoading: Promise<Map<string, ToolEntry>> | undefined;
  /** The last tool list as the server sent it, to tell whether a restart changed it. */
  catalogKey: string | undefined;
}

/** Methods that only read: a call to one of them may be sent again after a restart (`retry: annotated`). */
const READ_ONLY_METHODS = new Set([
  'ping',
  'tools/list',
  'prompts/list',
  'prompts/get',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'completion/complete',
]);

const defaultHostFactory: HostFactory = (config, events) =>
  config.isolation === 'thread' ? new ThreadHost(config, events) : new InlineHost(config, events);

const PAGE_LIMIT = 1000; // pages per list call: a server that never stops paginating is cut off

/**
 * Many MCP servers behind one object. Each server has its own bounded mailbox and its own futures table;
 * a call goes to exactly the server it names and its answer to exactly the caller that made it.
 */
export class Switchboard extends EventEmitter<SwitchboardEvents> implements AsyncDisposable {
  #config: SwitchboardConfig;
  #routes = new Map<string, Route>();
  #names: NameRegistry;
  #closing: Promise<void> | undefined;
  #closed: SwitchboardError | undefined;
  /** Set once upstreams are being ended; destroy() and close() share it. */
  #shutdownDone: Promise<void> | undefined;
  #endGrace: (() => void) | undefined;
  /** Settles when destroy() is called, to cut close()'s grace period short. (After #endGrace: field order.) */
  #destroyed = new Promise<void>((resolve) => {
    this.#endGrace = resolve;
  });
  #factory: HostFactory;
  #only: Set<string> | undefined;
  #noRestart: boolean;
  #loadOptions: LoadOptions;
  #reloading: Promise<unknown> = Promise.resolve();
  #watcher: FSWatcher | undefined;
  /** Servers removed by a reload that are still finishing their calls. */
  #retiring = new Set<Supervisor>();
  #unwatchTimer: (() => void) | undefined;

  private constructor(config: SwitchboardConfig, opts: StartOptions) {
    super();
    this.#config = config;
    this.#names = new NameRegistry(config.separator);
    this.#factory = opts.hostFactory ?? defaultHostFactory;
    this.#only = opts.only ? new Set(opts.only) : undefined;
    this.#noRestart = opts.restart === false;
    for (const [event, listener] of Object.entries(opts.on ?? {})) {
      if (listener) this.on(event as keyof SwitchboardEvents, listener as (...args: unknown[]) => void);
    }
    this.#loadOptions = { env: opts.env, cwd: opts.cwd };
  }

  /** The config in force (the latest one a reload accepted). */
  get config(): SwitchboardConfig {
    return this.#config;
  }

  /** Loads the config (a file path or an object of the file's shape) and starts its enabled servers. */
  static async start(config: string | object, opts: StartOptions = {}): Promise<Switchboard> {
    const parsed =
      typeof config === 'string'
        ? loadConfigFile(config, opts)
        : isParsed(config)
          ? config
          : parseConfig(config, opts);
    if (opts.only) {
      const names = new Set(parsed.servers.map((s) => s.name));
      for (const name of opts.only) if (!names.has(name)) throw unknownServer(name, [...names]);
    }
    const sb = new Switchboard(parsed, opts);
    for (const server of parsed.servers) sb.#addRoute(server);
    const results = await Promise.allSettled(
      [...sb.#routes.values()].map((r) => sb.#startRoute(r, opts.signal)),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed && (opts.requireAll || opts.signal?.aborted)) {
      await sb.close({ timeoutMs: 0 });
      throw failed.reason;
    }
    return sb;
  }

  #addRoute(server: ServerConfig): Route {
    const config = this.#effective(server);
    const route: Route = {
      sup: undefined as unknown as Supervisor,
      tools: undefined,
      toolsLoading: undefined,
      catalogKey: undefined,
    };
    const name = server.name;
    route.sup = new Supervisor(config, this.#factory, {
      state: (state, error) =>
        this.emit('state', { server: name, state, generation: route.sup.generation, error }),
      ready: (description, generation) => {
        // After a restart: read the catalog again (the first start awaits it in #startRoute).
        if (generation > 1 || route.catalogKey !== undefined) this.#refreshCatalog(route, description);
      },
      notification: (message) => {
        if (message.method === 'notifications/tools/list_changed') this.#onToolsChanged(name);
        this.emit('notification', { server: name, message });
      },
      warning: (error) => this.emit('warning', { server: name, error }),
      stderr: (line) => this.emit('stderr', { server: name, line }),
    });
    this.#routes.set(name, route);
    return route;
  }

  /** A server's entry as this switchboard runs it: off unless wanted, restarts off if asked. */
  #effective(server: ServerConfig): ServerConfig {
    const wanted = server.enabled && (!this.#only || this.#only.has(server.name));
    if (wanted && !this.#noRestart) return server;
    return { ...server, enabled: wanted, ...(this.#noRestart ? { restart: false as const } : {}) };
  }

  /** The first start of a route: the connection, then its catalog. */
  async #startRoute(route: Route, signal: AbortSignal | undefined): Promise<void> {
    const sup = route.sup;
    if (!sup.config.enabled) return;
    await sup.start(signal);
    if (this.#closed || sup.state !== 'ready') return;
    if (sup.description?.capabilities.tools) {
      try {
        await this.#loadTools(route, { signal, timeoutMs: sup.config.startTimeoutMs });
      } catch (err) {
        this.emit('warning', { server: sup.name, error: err as Error });
      }
    }
  }

  #refreshCatalog(route: Route, description: ServerDescription): void {
    if (!description.capabilities.tools) return;
    this.#loadTools(route, { timeoutMs: route.sup.config.timeoutMs }, true).catch((error: Error) =>
      this.emit('warning', { server: route.sup.name, error }),
    );
  }

  // ---- calls -------------------------------------------------------------------------------------

  /**
   * Sends any request to one server and resolves with its `result`, exactly as the server sent it (fields
   * and `_meta` the switchboard does not model included). Rejects with a SwitchboardError (string code) or
   * an RpcError (the server's JSON-RPC error, numeric code).
   */
  request(server: string, method: string, params?: Params, opts: CallOptions = {}): Promise<unknown> {
    return this.#dispatch(server, method, params, opts, captureCallSite(this.request));
  }

  /** Calls a tool; a result with `isError: true` is a result, not a rejection. */
  callTool(
    server: string,
    tool: string,
    args: Record<string, unknown> = {},
    opts: CallOptions = {},
  ): Promise<CallToolResult> {
    const site = captureCallSite(this.callTool);
    if (args === null || typeof args !== 'object' || Array.isArray(args)) {
      return Promise.reject(
        stampCallSite(
          new SwitchboardError(
            'E_INVALID_ARGUMENT',
            `arguments for ${server}/${tool} must be a JSON object, not ${args === null ? 'null' : Array.isArray(args) ? 'an array' : typeof args}`,
            {
              data: { server, tool },
            },
          ),
          site,
        ),
      );
    }
    const route = this.#routes.get(server);
    if (route?.tools && !route.tools.has(tool)) return this.#callUnlisted(route, tool, args, opts, site);
    return this.#dispatch(
      server,
      'tools/call',
      { name: tool, arguments: args },
      opts,
      site,
    ) as Promise<CallToolResult>;
  }

  /** A tool missing from the catalog: the catalog may be stale, so look once more before refusing. */
  async #callUnlisted(
    route: Route,
    tool: string,
    args: Record<string, unknown>,
    opts: CallOptions,
    site: CallSite,
  ): Promise<CallToolResult> {
    const server = route.sup.name;
    const tools = await this.#loadTools(
      route,
      { signal: opts.signal, timeoutMs: opts.timeoutMs ?? route.sup.config.timeoutMs },
      true,
    ).catch(() => route.tools);
    if (!tools?.has(tool)) {
      const known = [...(tools?.keys() ?? [])];
      throw stampCallSite(
        new SwitchboardError(
          'E_UNKNOWN_TOOL',
          `server '${server}' has no tool '${tool}'; it has ${known.length ? known.slice(0, 20).join(', ') + (known.length > 20 ? `, … (${known.length} in all)` : '') : 'no tools'}`,
          { data: { server, tool, available: known } },
        ),
        site,
      );
    }
    return (await this.#dispatch(
      server,
      'tools/call',
      { name: tool, arguments: args },
      opts,
      site,
    )) as CallToolResult;
  }

  /** Calls a tool by its qualified name (`server__tool`). */
  callQualified(
    qualifiedName: string,
    args: Record<string, unknown> = {},
    opts: CallOptions = {},
  ): Promise<CallToolResult> {
    const ref = this.resolveTool(qualifiedName);
    if (!ref) {
      return Promise.reject(
        new SwitchboardError(
          'E_UNKNOWN_TOOL',
          `no tool is named '${qualifiedName}'; list them with listTools() or \`switchboard tools\``,
          {
            data: { qualifiedName },
          },
        ),
      );
    }
    return this.callTool(ref.server, ref.name, args, opts);
  }

  /** Reverses a qualified name to its server and tool. */
  resolveTool(qualifiedName: string): { server: string; name: string } | undefined {
    return this.#names.resolve(qualifiedName);
  }

  readResource(server: string, uri: string, opts: CallOptions = {}): Promise<Record<string, unknown>> {
    return this.#dispatch(
      server,
      'resources/read',
      { uri },
      opts,
      captureCallSite(this.readResource),
    ) as Promise<Record<string, unknown>>;
  }

  getPrompt(
    server: string,
    name: string,
    args: Record<string, string> = {},
    opts: CallOptions = {},
  ): Promise<Record<string, unknown>> {
    return this.#dispatch(
      server,
      'prompts/get',
      { name, arguments: args },
      opts,
      captureCallSite(this.getPrompt),
    ) as Promise<Record<string, unknown>>;
  }

  complete(server: string, params: Params, opts: CallOptions = {}): Promise<Record<string, unknown>> {
    return this.#dispatch(
      server,
      'completion/complete',
      params,
      opts,
      captureCallSite(this.complete),
    ) as Promise<Record<string, unknown>>;
  }

  /** The hot path: O(1) route lookup, the mailbox's fast path when a slot is free, one futures table. */
  #dispatch(
    server: string,
    method: string,
    params: Params | undefined,
    opts: CallOptions,
    site: CallSite,
  ): Promise<unknown> {
    const route = this.#routes.get(server);
    if (!route) return Promise.reject(stampCallSite(unknownServer(server, [...this.#routes.keys()]), site));
    return this.#dispatchTo(route, method, params, opts, site);
  }

  #dispatchTo(
    route: Route,
    method: string,
    params: Params | undefined,
    opts: CallOptions,
    site: CallSite,
    deadline?: number,
    retried = false,
  ): Promise<unknown> {
    const sup = route.sup;
    // Also refused during close()'s grace period: closing means no new calls. A server that is starting
    // or restarting takes calls into its (paused) mailbox; one that is down for longer refuses them now.
    if (this.#closed || !sup.waitable)
      return Promise.reject(stampCallSite(this.#closed ?? sup.unavailable(), site));
    let timeoutMs: number;
    if (deadline === undefined) {
      timeoutMs = opts.timeoutMs ?? sup.config.timeoutMs;
      if (timeoutMs > 0) deadline = performance.now() + timeoutMs;
    } else timeoutMs = Math.max(1, deadline - performance.now());
    let entered: boolean;
    try {
      entered = sup.mailbox.tryEnter();
    } catch (err) {
      return Promise.reject(stampCallSite(err as Error, site));
    }
    if (entered) return this.#send(route, method, params, opts, timeoutMs, site, deadline, retried);
    const whole = opts.timeoutMs ?? sup.config.timeoutMs;
    return sup.mailbox.enter({ signal: opts.signal, deadline, timeoutMs: whole }).then(
      () => {
        const left = deadline === undefined ? 0 : deadline - performance.now();
        if (deadline !== undefined && left < 1) {
          // The slot came as the deadline ran out: not sent, so the server does no work for nobody.
          sup.mailbox.leave();
          throw stampCallSite(
            timeoutError(`call to '${sup.name}' (still queued)`, whole, {
              server: sup.name,
              stage: 'queued',
            }),
            site,
          );
        }
        return this.#send(route, method, params, opts, left, site, deadline, retried);
      },
      (err: Error) => {
        throw stampCallSite(err, site);
      },
    );
  }

  #send(
    route: Route,
    method: string,
    params: Params | undefined,
    opts: CallOptions,
    timeoutMs: number,
    site: CallSite,
    deadline: number | undefined,
    retried: boolean,
  ): Promise<unknown> {
    const mailbox = route.sup.mailbox;
    const host = route.sup.host;
    if (!host) {
      // The connection went down between this call getting its slot and now: it was never sent, so it
      // goes back in line for the next connection (or fails, if none is coming).
      mailbox.leave();
      return this.#dispatchTo(route, method, params, opts, site, deadline, retried);
    }
    let call: Promise<unknown>;
    try {
      call = host.request(method, params, {
        signal: opts.signal,
        timeoutMs,
        onProgress: opts.onProgress,
        site,
      });
    } catch (err) {
      mailbox.leave();
      return Promise.reject(err);
    }
    return call.then(
      (result) => {
        mailbox.leave();
        return result;
      },
      (err: unknown) => {
        mailbox.leave();
        if (!retried && this.#mayRetry(route, method, params, opts, err, deadline))
          return this.#dispatchTo(route, method, params, opts, site, deadline, true);
        throw err;
      },
    );
  }

  /**
   * A call that was sent is sent again only if its server went down under it, a new connection is on
   * its way, time is left, and the retry rule allows it (see RetryPolicy). Never more than once.
   */
  #mayRetry(
    route: Route,
    method: string,
    params: Params | undefined,
    opts: CallOptions,
    err: unknown,
    deadline: number | undefined,
  ): boolean {
    if (!isSwitchboardError(err, 'E_UPSTREAM_CLOSED') || this.#closed || !route.sup.waitable) return false;
    if (this.#routes.get(route.sup.name) !== route) return false; // removed from the config meanwhile
    if (opts.signal?.aborted || (deadline !== undefined && deadline - performance.now() < 1)) return false;
    const rule = opts.retry ?? route.sup.config.retry;
    if (rule === true || rule === 'always') return true;
    if (rule === false || rule === 'never') return false;
    // 'annotated': read-only by the protocol, or a tool its server says can be repeated.
    if (READ_ONLY_METHODS.has(method)) return true;
    if (method !== 'tools/call') return false;
    const tool = route.tools?.get(String(params?.name))?.tool as
      | { annotations?: { readOnlyHint?: unknown; idempotentHint?: unknown } }
      | undefined;
    return tool?.annotations?.readOnlyHint === true || tool?.annotations?.idempotentHint === true;
  }

  // ---- catalogs ----------------------------------------------------------------------------------

  /** Every tool of every ready server. Cached; `refresh: true` asks the servers again. */
  async listTools(opts: CallOptions & { refresh?: boolean } = {}): Promise<ToolEntry[]> {
    const routes = this.#ready();
    const maps = await Promise.all(
      routes.map((r) =>
        r.sup.description?.capabilities.tools
          ? this.#loadTools(r, opts, opts.refresh === true)
          : Promise.resolve(new Map<string, ToolEntry>()),
      ),
    );
    return maps.flatMap((m) => [...m.values()]);
  }

  async listPrompts(opts: CallOptions = {}): Promise<PromptEntry[]> {
    const lists = await Promise.all(
      this.#ready()
        .filter((r) => r.sup.description?.capabilities.prompts)
        .map(async (r) => {
          const prompts = await this.#listAll(r, 'prompts/list', 'prompts', opts);
          return prompts.map((p) => {
            const prompt = p as PromptEntry['prompt'];
            const qualified = `${r.sup.name}${this.#config.separator}${prompt.name}`;
            return { server: r.sup.name, name: prompt.name, qualifiedName: qualified, prompt };
          });
        }),
    );
    return lists.flat();
  }

  async listResources(opts: CallOptions = {}): Promise<ResourceEntry[]> {
    const lists = await Promise.all(
      this.#ready()
        .filter((r) => r.sup.description?.capabilities.resources)
        .map(async (r) =>
          (await this.#listAll(r, 'resources/list', 'resources', opts)).map((resource) => ({
            server: r.sup.name,
            resource: resource as ResourceEntry['resource'],
          })),
        ),
    );
    return lists.flat();
  }

  /** Qualified names that two tools wanted; the first keeps it. */
  get collisions(): readonly NameCollision[] {
    return this.#names.collisions;
  }

  #loadTools(route: Route, opts: CallOptions, refresh = false): Promise<Map<string, ToolEntry>> {
    if (route.tools && !refresh) return Promise.resolve(route.tools);
    if (route.toolsLoading) return route.toolsLoading;
    const server = route.sup.name;
    const loading = this.#listAll(route, 'tools/list', 'tools', opts)
      .then((tools) => {
        if (this.#routes.get(server) !== route) return new Map<string, ToolEntry>(); // removed meanwhile
        const key = JSON.stringify(tools);
        const changed = route.catalogKey !== undefined && route.catalogKey !== key;
        route.catalogKey = key;
        const map = new Map<string, ToolEntry>();
        this.#names.removeServer(server);
        for (const t of tools) {
          const tool = t as ToolEntry['tool'];
          if (typeof tool?.name !== 'string') continue;
          const qualifiedName = this.#names.add(server, tool.name);
          if (qualifiedName === undefined || map.has(tool.name)) {
            this.emit('warning', {
              server,
              error: new SwitchboardError(
                'E_PROTOCOL',
                `tool '${tool.name}' of '${server}' collides with another tool's name; the first one listed keeps it`,
                {
                  data: { server, tool: tool.name },
                },
              ),
            });
            continue;
          }
          map.set(tool.name, { server, name: tool.name, qualifiedName, tool });
        }
        route.tools = map;
        this.emit('catalog', { server, tools: map.size, changed });
        return map;
      })
      .finally(() => {
        route.toolsLoading = undefined;
      });
    route.toolsLoading = loading;
    return loading;
  }

  #onToolsChanged(server: string): void {
    const route = this.#routes.get(server);
    if (route?.sup.state !== 'ready') return;
    this.#loadTools(route, { timeoutMs: route.sup.config.timeoutMs }, true).catch((error: Error) =>
      this.emit('warning', { server, error }),
    );
  }

  async #listAll(route: Route, method: string, key: string, opts: CallOptions): Promise<unknown[]> {
    const items: unknown[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < PAGE_LIMIT; page++) {
      const result = (await this.#dispatch(
        route.sup.name,
        method,
        cursor ? { cursor } : undefined,
        opts,
        captureCallSite(this.#listAll),
      )) as Record<string, unknown>;
      const list = result?.[key];
      if (Array.isArray(list)) items.push(...list);
      cursor =
        typeof result?.nextCursor === 'string' && result.nextCursor !== '' ? result.nextCursor : undefined;
      if (!cursor) return items;
    }
    throw new SwitchboardError(
      'E_PROTOCOL',
      `${method} on '${route.sup.name}' returned more than ${PAGE_LIMIT} pages; stopped`,
      {
        data: { server: route.sup.name, method },
      },
    );
  }

  #ready(): Route[] {
    return [...this.#routes.values()].filter((r) => r.sup.state === 'ready');
  }

  // ---- state -------------------------------------------------------------------------------------

  /** The state of every configured server, now. */
  servers(): ServerStatus[] {
    const now = performance.now();
    return [...this.#routes.values()].map(({ sup, tools }) => ({
      name: sup.name,
      state: sup.state,
      isolation: sup.config.isolation,
      transport: sup.config.transport.type,
      protocolVersion: sup.description?.protocolVersion,
      serverInfo: sup.description?.serverInfo,
      tools: tools?.size ?? 0,
      running: sup.mailbox.running,
      queued: sup.mailbox.waiting,
      limits: {
        maxInFlight: sup.config.maxInFlight,
        maxQueue: sup.config.maxQueue,
        timeoutMs: sup.config.timeoutMs,
      },
      generation: sup.generation,
      restarts: sup.restarts,
      failures: sup.failures,
      nextAttemptInMs:
        sup.nextAttemptAt === undefined ? undefined : Math.max(0, Math.round(sup.nextAttemptAt - now)),
      error:
        sup.error && sup.state !== 'ready' ? { code: sup.error.code, message: sup.error.message } : undefined,
    }));
  }

  /** `servers()` plus each connection's counters (late and unknown answers, dropped progress, bad lines). */
  async status(): Promise<ServerReport[]> {
    const statuses = this.servers();
    return Promise.all(
      statuses.map(async (s) => {
        const host = this.#routes.get(s.name)?.sup.host;
        const stats = host && s.state === 'ready' ? await host.stats().catch(() => undefined) : undefined;
        return { ...s, stats };
      }),
    );
  }

  // ---- reload ------------------------------------------------------------------------------------

  /**
   * Applies a new config (default: the file the switchboard was started from, read again). Servers whose
   * entries changed are restarted: their running calls get up to `drainMs` (default 5000) to finish and
   * their queued calls wait for the new connection. Added servers start; removed ones finish what they
   * have (up to `drainMs`) and close. The rest are not touched. A config that does not load is refused
   * with E_CONFIG, and the running config stays. Reloads run one at a time.
   */
  reload(config?: string | object, opts: { drainMs?: number } = {}): Promise<ReloadReport> {
    const run = this.#reloading.then(() => this.#reload(config, opts.drainMs ?? 5000));
    this.#reloading = run.catch(() => {});
    return run;
  }

  async #reload(config: string | object | undefined, drainMs: number): Promise<ReloadReport> {
    if (this.#closed) throw this.#closed;
    let next: SwitchboardConfig;
    try {
      next = this.#loadNext(config);
    } catch (err) {
      const error =
        err instanceof SwitchboardError
          ? err
          : new SwitchboardError('E_CONFIG', `the new config was refused: ${(err as Error).message}`, {
              cause: err,
            });
      this.emit('reload', { error });
      throw error;
    }
    const report: ReloadReport = { added: [], removed: [], changed: [], updated: [], unchanged: [] };
    const incoming = new Map(next.servers.map((server) => [server.name, server]));
    const work: Promise<unknown>[] = [];
    for (const [name, route] of this.#routes) {
      if (incoming.has(name)) continue;
      report.removed.push(name);
      this.#routes.delete(name); // new calls to it: E_UNKNOWN_SERVER
      this.#names.removeServer(name);
      // Until it has finished, close() still waits for it and ends it.
      this.#retiring.add(route.sup);
      const reason = new SwitchboardError(
        'E_UPSTREAM_CLOSED',
        `server '${name}' was removed from the config`,
        {
          data: { server: name, reload: true },
        },
      );
      work.push(route.sup.retire(reason, drainMs).finally(() => this.#retiring.delete(route.sup)));
    }
    for (const server of next.servers) {
      const route = this.#routes.get(server.name);
      const wanted = this.#effective(server);
      if (!route) {
        report.added.push(server.name);
        work.push(this.#startRoute(this.#addRoute(server), undefined).catch(() => {}));
      } else if (sameServer(route.sup.config, wanted)) {
        report.unchanged.push(server.name);
      } else if (!needsRestart(route.sup.config, wanted)) {
        report.updated.push(server.name);
        route.sup.update(wanted);
      } else {
        report.changed.push(server.name);
        work.push(route.sup.reconfigure(wanted, drainMs));
      }
    }
    this.#config = next;
    await Promise.all(work);
    this.emit('reload', { report });
    return report;
  }

  #loadNext(config: string | object | undefined): SwitchboardConfig {
    const source = config ?? this.#config.source;
    if (source === undefined) {
      throw new SwitchboardError(
        'E_CONFIG',
        'this switchboard was started from a config object, so there is no file to read again; pass the new config to reload()',
        {},
      );
    }
    const next =
      typeof source === 'string'
        ? loadConfigFile(source, this.#loadOptions)
        : isParsed(source)
          ? source
          : parseConfig(source, this.#loadOptions);
    if (next.separator !== this.#config.separator) {
      throw configError(
        next.source ?? '<config object>',
        'switchboard.separator',
        `changing the separator ('${this.#config.separator}' to '${next.separator}') would rename every tool; restart the switchboard to change it`,
      );
    }
    return next;
  }

  /**
   * Reloads whenever the config file changes (editors that save by renaming included). A broken edit is
   * reported as a `reload` event with the error, and the running config stays. Stops at close.
   */
  watch(opts: { debounceMs?: number; drainMs?: number } = {}): void {
    const file = this.#config.source;
    if (!file) {
      throw new SwitchboardError(
        'E_CONFIG',
        'watch() needs a switchboard started from a config file; this one was started from an object',
        {},
      );
    }
    if (this.#watcher || this.#closed) return;
    const name = basename(file);
    let last = readText(file);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const watcher = watch(dirname(file), (_event, filename) => {
      if (filename !== null && filename !== name) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        const text = readText(file);
        if (text === last) return; // touched, not changed
        last = text;
        this.reload(file, { drainMs: opts.drainMs }).catch(() => {}); // reported as a 'reload' event
      }, opts.debounceMs ?? 100);
      timer.unref();
    });
    watcher.on('error', (error) => this.emit('warning', { server: '*', error }));
    watcher.unref();
    this.#watcher = watcher;
    this.#unwatchTimer = () => clearTimeout(timer);
  }

  /** Stops watching the config file. */
  unwatch(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
    this.#unwatchTimer?.();
    this.#unwatchTimer = undefined;
  }

  /** Resolves when no call is running or waiting on any server. */
  async onIdle(): Promise<void> {
    const sups = [...[...this.#routes.values()].map((r) => r.sup), ...this.#retiring];
    await Promise.all(sups.map((sup) => sup.mailbox.onIdle()));
  }

  /**
   * Stops taking calls, lets running and queued ones finish for up to `timeoutMs` (default 5000), then
   * fails what is left with E_CLOSED and ends every upstream (stdio process trees included). Idempotent.
   */
  close(opts: { timeoutMs?: number } = {}): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = new SwitchboardError('E_CLOSED', 'the switchboard is closed', {});
      await within(this.onIdle(), opts.timeoutMs ?? 5000, this.#destroyed);
      await this.#shutdown(this.#closed);
    })();
    return this.#closing;
  }

  /**
   * Fails everything now with E_CLOSED (cause: `err`) and ends every upstream. Idempotent. During a
   * close()'s grace period it cuts the grace short.
   */
  destroy(err?: Error): Promise<void> {
    if (!this.#shutdownDone) {
      this.#closed = new SwitchboardError(
        'E_CLOSED',
        `the switchboard was destroyed${err ? `: ${err.message}` : ''}`,
        { cause: err },
      );
      this.#endGrace?.();
      void this.#shutdown(this.#closed);
    }
    this.#closing ??= this.#shutdownDone!;
    return this.#closing;
  }

  /** Ends every upstream; the first caller's reason wins. */
  #shutdown(reason: SwitchboardError): Promise<void> {
    this.#shutdownDone ??= (async () => {
      this.unwatch();
      const sups = [...[...this.#routes.values()].map((r) => r.sup), ...this.#retiring];
      await Promise.all(sups.map((sup) => sup.stop(reason)));
    })();
    return this.#shutdownDone;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

export interface CallToolResult {
  content?: unknown[];
  structuredContent?: unknown;
  isError?: boolean;
  [key: string]: unknown;
}

function isParsed(config: object): config is SwitchboardConfig {
  return (
    Array.isArray((config as SwitchboardConfig).servers) &&
    typeof (config as SwitchboardConfig).separator === 'string'
  );
}

function unknownServer(name: string, known: string[]): SwitchboardError {
  return new SwitchboardError(
    'E_UNKNOWN_SERVER',
    `no server is named '${name}'; configured: ${known.length ? known.join(', ') : 'none'}`,
    { data: { server: name, available: known } },
  );
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
