import { EventEmitter } from 'node:events';
import { type LoadOptions, loadConfig, type SwitchboardConfig } from '../config/config.js';
import {
  type CallOptions,
  type CallSite,
  captureCallSite,
  openCallSite,
  stampCallSite,
  takeCallSite,
} from '../core/correlator.js';
import { abortError, isSwitchboardError, RpcError, SwitchboardError } from '../core/errors.js';
import type { Params, RpcNotification } from '../core/jsonrpc.js';
import type { NameCollision } from '../core/names.js';
import type { ClientHandlers, RootsOption } from '../core/server-requests.js';
import type { ConnectionStats, ServerDescription } from '../upstream/connection.js';
import type { HostFactory } from '../upstream/host.js';
import { InlineHost } from '../upstream/inline-host.js';
import { ThreadHost } from '../upstream/thread-host.js';
import { type Call, checkOptions, jsonParams, newCall } from './call.js';
import {
  Catalog,
  type PromptEntry,
  type ResourceEntry,
  type ResourceTemplateEntry,
  type ToolEntry,
} from './catalog.js';
import { ClientRequests } from './client-requests.js';
import { Dispatcher } from './dispatcher.js';
import { Fleet, type Route } from './fleet.js';
import { Reloader, type ReloadReport } from './reloader.js';
import { explainedByError, type ServerState, within } from './supervisor.js';
import { notATask, type TaskStatusListener, Tasks } from './tasks.js';

export type { PromptEntry, ResourceEntry, ResourceTemplateEntry, ToolEntry } from './catalog.js';
export type { ReloadReport } from './reloader.js';
export type { ServerState } from './supervisor.js';

export interface ServerStatus {
  name: string;
  state: ServerState;
  isolation: 'inline' | 'thread';
  transport: 'stdio' | 'http' | 'sse';
  protocolVersion?: string | undefined;
  serverInfo?: ServerDescription['serverInfo'];
  /** What the server declared it can do, from its handshake (undefined before it). */
  capabilities?: Record<string, unknown> | undefined;
  /** The server's instructions for its client, if it gave any. */
  instructions?: string | undefined;
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

export interface SwitchboardEvents {
  state: [{ server: string; state: ServerState; generation: number; error?: Error | undefined }];
  notification: [{ server: string; message: RpcNotification }];
  warning: [{ server: string; error: Error }];
  stderr: [{ server: string; line: string }];
  /** A server's tool list was read; `changed` when it differs from the one before (a restart can do that). */
  catalog: [{ server: string; tools: number; changed: boolean }];
  /** A server's log message (`notifications/message`): its level, logger and data as the server sent them. */
  log: [{ server: string; level: string; logger?: string | undefined; data: unknown }];
  /** A config reload: what it did, or why it was refused (the running config stays). */
  reload: [{ report: ReloadReport; error?: undefined } | { report?: undefined; error: SwitchboardError }];
}

export interface StartOptions extends LoadOptions, ClientHandlers {
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
  /**
   * `false`: calls do not capture their caller's stack (see "Errors"), which saves the V8 stack walk,
   * about 3 to 6 µs of CPU per call; an error's stack then shows where the switchboard made it. For hosts
   * whose errors never reach a developer as a stack (a gateway answering remote clients) and for
   * throughput-bound callers. Default: true.
   */
  captureCallSites?: boolean | undefined;
  /** Listeners attached before any server starts, so nothing emitted during start-up is missed. */
  on?: { [E in keyof SwitchboardEvents]?: (...args: SwitchboardEvents[E]) => void } | undefined;
}

export interface CallToolResult {
  content?: unknown[];
  structuredContent?: unknown;
  isError?: boolean;
  [key: string]: unknown;
}

const defaultHostFactory: HostFactory = (config, events, options) =>
  config.isolation === 'thread'
    ? new ThreadHost(config, events, options)
    : new InlineHost(config, events, options);

/**
 * Many MCP servers behind one object. Each server has its own bounded mailbox and its own futures table;
 * a call goes to exactly the server it names and its answer to exactly the caller that made it.
 *
 * The public face; the work is done by the parts it composes: the fleet (servers and their supervisors),
 * the dispatcher (the call path), the catalog (tools, lists and names) and the reloader (config edits).
 */
export class Switchboard extends EventEmitter<SwitchboardEvents> implements AsyncDisposable {
  #config: SwitchboardConfig;
  readonly #fleet: Fleet;
  readonly #dispatcher: Dispatcher;
  readonly #catalog: Catalog;
  readonly #reloader: Reloader;
  readonly #client: ClientRequests;
  readonly #tasks: Tasks;
  #closed: SwitchboardError | undefined;
  readonly #captureSites: boolean;
  #closing: Promise<void> | undefined;
  /** Set once upstreams are being ended; destroy() and close() share it. */
  #shutdown: Promise<void> | undefined;
  #endGrace!: () => void;
  /** Settles when destroy() is called, to cut close()'s grace period short. */
  #destroyed = new Promise<void>((resolve) => {
    this.#endGrace = resolve;
  });

  private constructor(config: SwitchboardConfig, opts: StartOptions) {
    super();
    this.#config = config;
    this.#captureSites = opts.captureCallSites !== false;
    for (const [event, listener] of Object.entries(opts.on ?? {})) {
      if (listener) this.on(event as keyof SwitchboardEvents, listener as (...args: unknown[]) => void);
    }
    const current = (route: Route) => this.#fleet.get(route.sup.name) === route;
    this.#client = new ClientRequests(
      {
        onElicitation: opts.onElicitation,
        onSampling: opts.onSampling,
        roots: opts.roots,
        onElicitationComplete: opts.onElicitationComplete,
      },
      { warning: (server, error) => this.emit('warning', { server, error }) },
    );
    this.#fleet = new Fleet({
      factory: opts.hostFactory ?? defaultHostFactory,
      only: opts.only ? new Set(opts.only) : undefined,
      noRestart: opts.restart === false,
      hooks: {
        serverRequest: (route, request, link, signal) =>
          this.#client.answer(route.sup.name, request, link, signal),
        capabilities: (config) => this.#client.capabilities(config),
        state: (route, state, error) =>
          this.emit('state', { server: route.sup.name, state, generation: route.sup.generation, error }),
        ready: (route, description) => {
          // Every new connection's catalog is read, but the first start's, which #startRoute reads itself.
          if (!route.catalog.firstStart) this.#refreshTools(route, description);
        },
        notification: (route, message) => {
          if (message.method === 'notifications/tools/list_changed' && route.sup.state === 'ready')
            this.#refreshTools(route, route.sup.description, true);
          if (message.method === 'notifications/message') this.#log(route.sup.name, message.params);
          if (message.method === 'notifications/tasks/status')
            this.#tasks.status(route.sup.name, message.params);
          if (message.method === 'notifications/elicitation/complete')
            this.#client.completed(route.sup.name, message.params);
          this.emit('notification', { server: route.sup.name, message });
        },
        warning: (route, error) => this.emit('warning', { server: route.sup.name, error }),
        stderr: (route, line) => this.emit('stderr', { server: route.sup.name, line }),
      },
    });
    this.#dispatcher = new Dispatcher({
      client: this.#client,
      closed: () => this.#closed,
      current,
      repeatable: (route, tool) => this.#catalog.repeatable(route, tool),
    });
    this.#tasks = new Tasks(this.#dispatcher);
    this.#catalog = new Catalog(config.separator, {
      // The config's order, the one in force: a reload that adds a server before another one counts.
      rank: (server) => {
        const at = this.#config.servers.findIndex((s) => s.name === server);
        return at < 0 ? Number.POSITIVE_INFINITY : at;
      },
      catalogOf: (server) => this.#fleet.get(server)?.catalog,
      reread: (route) => this.#refreshTools(route, route.sup.description),
      dispatch: (route, method, params, call) => this.#dispatcher.dispatch(route, method, params, call),
      current,
      warning: (server, error) => this.emit('warning', { server, error }),
      loaded: (server, tools, changed) => this.emit('catalog', { server, tools, changed }),
    });
    this.#reloader = new Reloader({
      fleet: this.#fleet,
      loadOptions: { env: opts.env, cwd: opts.cwd },
      config: () => this.#config,
      accept: (next) => {
        this.#config = next;
        // A tool filter changed in place applies to the lists already read.
        for (const route of this.#fleet.routes()) this.#catalog.refilter(route);
        this.#catalog.rerank();
      },
      closed: () => this.#closed,
      startRoute: (route) => this.#startRoute(route, undefined),
      forget: (server) => this.#catalog.forget(server),
      reported: (event) => this.emit('reload', event as SwitchboardEvents['reload'][0]),
      warning: (error) => this.emit('warning', { server: '*', error }),
    });
  }

  /** The config in force (the latest one a reload accepted). */
  get config(): SwitchboardConfig {
    return this.#config;
  }

  /** Loads the config (a file path or an object of the file's shape) and starts its enabled servers. */
  static async start(config: string | object, opts: StartOptions = {}): Promise<Switchboard> {
    const bad = checkOptions(opts, 'Switchboard.start()');
    if (bad) throw bad;
    if (opts.captureCallSites !== undefined && typeof opts.captureCallSites !== 'boolean') {
      throw new SwitchboardError(
        'E_INVALID_ARGUMENT',
        `Switchboard.start(): captureCallSites must be true or false, not ${typeof opts.captureCallSites}`,
      );
    }
    if (opts.signal?.aborted) throw abortError('Switchboard.start()', opts.signal.reason, {});
    const parsed = loadConfig(config, opts);
    if (opts.only) {
      const names = new Set(parsed.servers.map((s) => s.name));
      for (const name of opts.only) if (!names.has(name)) throw unknownServer(name, [...names]);
    }
    const sb = new Switchboard(parsed, opts);
    const routes = parsed.servers.map((server) => sb.#fleet.add(server));
    const results = await Promise.allSettled(routes.map((r) => sb.#startRoute(r, opts.signal)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed && (opts.requireAll || opts.signal?.aborted)) {
      await sb.destroy();
      throw opts.signal?.aborted ? abortError('Switchboard.start()', opts.signal.reason, {}) : failed.reason;
    }
    return sb;
  }

  /**
   * The first start of a route: the connection, then its catalog, under one deadline (`startTimeoutMs`
   * from now), so that a server whose pages never end cannot hold start() up.
   */
  async #startRoute(route: Route, signal: AbortSignal | undefined): Promise<void> {
    const sup = route.sup;
    if (!sup.config.enabled) return;
    const site = this.#site(this.#startRoute);
    const call = newCall({ signal }, site, sup.config.startTimeoutMs);
    route.catalog.firstStart = true;
    try {
      await sup.start(signal);
    } finally {
      route.catalog.firstStart = false;
    }
    if (this.#closed || sup.state !== 'ready' || !sup.description?.capabilities.tools) return;
    try {
      await this.#catalog.tools(route, call, true);
    } catch (err) {
      this.emit('warning', { server: sup.name, error: err as Error });
    }
  }

  #refreshTools(route: Route, description: ServerDescription | undefined, changed = false): void {
    if (!description?.capabilities.tools) return;
    const call = newCall({}, this.#site(this.#refreshTools), route.sup.config.timeoutMs);
    (changed ? this.#catalog.changed(route, call) : this.#catalog.tools(route, call, true)).catch(
      (error: Error) => this.emit('warning', { server: route.sup.name, error }),
    );
  }

  // ---- calls -------------------------------------------------------------------------------------

  /** Where a call of the public method `above` started: its caller's stack, unless capture is off. */
  #site(above: Function): CallSite {
    return this.#captureSites ? captureCallSite(above) : {};
  }

  /**
   * Sends any request to one server and resolves with its `result`, exactly as the server sent it (fields
   * and `_meta` the switchboard does not model included). Rejects with a SwitchboardError (string code) or
   * an RpcError (the server's JSON-RPC error, numeric code).
   */
  request(server: string, method: string, params?: Params, opts: CallOptions = {}): Promise<unknown> {
    const site = openCallSite();
    try {
      return this.#request(server, method, params, opts, site);
    } finally {
      takeCallSite(site, this.request, this.#captureSites); // after the request is written
    }
  }

  #request(
    server: string,
    method: string,
    params: Params | undefined,
    opts: CallOptions,
    site: CallSite,
  ): Promise<unknown> {
    // The config's tool filter holds here too: a hidden tool is neither called nor listed.
    const route = method === 'tools/call' || method === 'tools/list' ? this.#fleet.get(server) : undefined;
    if (!route) return this.#checked(server, method, params, opts, site);
    const refused = this.#catalog.refused(route, method, params);
    if (refused) return Promise.reject(stampCallSite(refused, site));
    const sent = this.#checked(server, method, params, opts, site);
    return method === 'tools/list' ? sent.then((result) => this.#catalog.filtered(route, result)) : sent;
  }

  /** Calls a tool; a result with `isError: true` is a result, not a rejection. */
  callTool(
    server: string,
    tool: string,
    args: Record<string, unknown> = {},
    opts: CallOptions = {},
  ): Promise<CallToolResult> {
    const site = openCallSite();
    try {
      return this.#callTool(server, tool, args, opts, site);
    } finally {
      takeCallSite(site, this.callTool, this.#captureSites); // after the request is written
    }
  }

  #callTool(
    server: string,
    tool: string,
    args: Record<string, unknown>,
    opts: CallOptions,
    site: CallSite,
  ): Promise<CallToolResult> {
    const what = `${server}/${tool}`;
    const bad = notAnObject(args, server, tool) ?? checkOptions(opts, what);
    if (bad) return Promise.reject(stampCallSite(bad, site));
    const json = jsonParams(args, 'arguments', what);
    if ('error' in json) return Promise.reject(stampCallSite(json.error, site));
    // What JSON makes of them must be an object too (a Date, a URL or a toJSON can turn them into text).
    const converted = notAnObject(json.params, server, tool);
    if (converted) return Promise.reject(stampCallSite(converted, site));
    const route = this.#fleet.get(server);
    if (!route) return Promise.reject(stampCallSite(unknownServer(server, this.#fleet.names()), site));
    const params = { name: tool, arguments: json.params };
    const refused = this.#catalog.refused(route, 'tools/call', params);
    if (refused) return Promise.reject(stampCallSite(refused, site));
    const call = newCall(opts, site, route.sup.config.timeoutMs, undefined, true);
    if (route.catalog.tools && !route.catalog.tools.has(tool))
      return this.#callUnlisted(route, tool, params, call, opts);
    return this.#callListed(route, tool, params, call, opts);
  }

  /**
   * A listed tool (or one the catalog does not know yet): as a task if its server says it runs as one
   * (`execution.taskSupport` `required`, or `optional` and the call asks), else one request.
   */
  #callListed(
    route: Route,
    tool: string,
    params: Params,
    call: Call,
    opts: CallOptions,
  ): Promise<CallToolResult> {
    const support = (route.catalog.tools?.get(tool)?.tool.execution as { taskSupport?: unknown } | undefined)
      ?.taskSupport;
    if (opts.task === true && support !== 'optional' && support !== 'required') {
      return Promise.reject(notATask(route.sup.name, tool, call.site));
    }
    if (support === 'required' || (support === 'optional' && opts.task === true)) {
      return this.#tasks
        .run(route, params, call, opts.onTaskStatus as TaskStatusListener | undefined)
        .finally(() => call.asks?.end()) as Promise<CallToolResult>;
    }
    return this.#dispatcher.dispatch(route, 'tools/call', params, call) as Promise<CallToolResult>;
  }

  /**
   * A tool missing from the catalog: the catalog may be stale, so look once more before refusing, within
   * the call's own deadline. If the look itself fails for the caller (timed out, aborted, server down),
   * that is the answer: the tool may well exist.
   */
  async #callUnlisted(
    route: Route,
    tool: string,
    params: Params,
    call: Call,
    opts: CallOptions,
  ): Promise<CallToolResult> {
    const server = route.sup.name;
    let tools = route.catalog.tools;
    try {
      tools = await this.#catalog.tools(route, call, true);
    } catch (err) {
      // Only a server that cannot list its tools properly leaves the cached list as the best answer.
      if (!(err instanceof RpcError) && !isSwitchboardError(err, 'E_PROTOCOL')) throw err;
    }
    if (!tools?.has(tool)) {
      const known = [...(tools?.keys() ?? [])];
      throw stampCallSite(
        new SwitchboardError(
          'E_UNKNOWN_TOOL',
          `server '${server}' has no tool '${tool}'; it has ${known.length ? known.slice(0, 20).join(', ') + (known.length > 20 ? `, … (${known.length} in all)` : '') : 'no tools'}`,
          { data: { server, tool, available: known } },
        ),
        call.site,
      );
    }
    return this.#callListed(route, tool, params, call, opts);
  }

  /** Calls a tool by its qualified name (`server__tool`). */
  callQualified(
    qualifiedName: string,
    args: Record<string, unknown> = {},
    opts: CallOptions = {},
  ): Promise<CallToolResult> {
    const ref = this.resolveTool(qualifiedName);
    if (!ref) {
      const refused = this.#catalog.refusedName(qualifiedName, this.#fleet.routes());
      if (refused) return Promise.reject(stampCallSite(refused, this.#site(this.callQualified)));
      return Promise.reject(
        new SwitchboardError(
          'E_UNKNOWN_TOOL',
          `no tool is named '${qualifiedName}'; list them with listTools() or \`switchboard tools\``,
          { data: { qualifiedName } },
        ),
      );
    }
    return this.callTool(ref.server, ref.name, args, opts);
  }

  /** Reverses a qualified name to its server and tool. */
  resolveTool(qualifiedName: string): { server: string; name: string } | undefined {
    return this.#catalog.resolve(qualifiedName);
  }

  readResource(server: string, uri: string, opts: CallOptions = {}): Promise<Record<string, unknown>> {
    return this.#checked(server, 'resources/read', { uri }, opts, this.#site(this.readResource)) as Promise<
      Record<string, unknown>
    >;
  }

  getPrompt(
    server: string,
    name: string,
    args: Record<string, string> = {},
    opts: CallOptions = {},
  ): Promise<Record<string, unknown>> {
    return this.#checked(
      server,
      'prompts/get',
      { name, arguments: args },
      opts,
      this.#site(this.getPrompt),
    ) as Promise<Record<string, unknown>>;
  }

  complete(server: string, params: Params, opts: CallOptions = {}): Promise<Record<string, unknown>> {
    return this.#checked(server, 'completion/complete', params, opts, this.#site(this.complete)) as Promise<
      Record<string, unknown>
    >;
  }

  /** The checks every call gets where it starts, then the dispatch. */
  #checked(
    server: string,
    method: string,
    params: Params | undefined,
    opts: CallOptions,
    site: CallSite,
  ): Promise<unknown> {
    const what = `${method} on '${server}'`;
    const bad = checkOptions(opts, what);
    if (bad) return Promise.reject(stampCallSite(bad, site));
    const json = jsonParams(params, 'params', what);
    if ('error' in json) return Promise.reject(stampCallSite(json.error, site));
    return this.#dispatch(server, method, json.params, opts, site);
  }

  /** The hot path: O(1) route lookup, the mailbox's fast path when a slot is free, one futures table. */
  #dispatch(server: string, method: string, params: Params | undefined, opts: CallOptions, site: CallSite) {
    const route = this.#fleet.get(server);
    if (!route) return Promise.reject(stampCallSite(unknownServer(server, this.#fleet.names()), site));
    return this.#dispatcher.dispatch(
      route,
      method,
      params,
      newCall(opts, site, route.sup.config.timeoutMs, undefined, true),
    );
  }

  // ---- the client side ---------------------------------------------------------------------------

  /**
   * Changes the default roots, and tells every server that was told this client has roots
   * (`notifications/roots/list_changed`), so that it asks again.
   */
  async setRoots(roots: RootsOption | undefined): Promise<void> {
    if (roots !== undefined && typeof roots !== 'function' && !Array.isArray(roots)) {
      throw new SwitchboardError(
        'E_INVALID_ARGUMENT',
        'setRoots: roots must be a list of { uri, name } or a function',
      );
    }
    this.#client.setRoots(roots);
    await Promise.all(
      this.#fleet.ready().map(async (route) => {
        const declared = this.#client.capabilities(route.sup.config).roots !== undefined;
        if (!declared || route.sup.description?.era === 'modern') return;
        await route.sup.host?.notify('notifications/roots/list_changed').catch(() => {});
      }),
    );
  }

  /** Sets how much a server logs to this client (`logging/setLevel`); its messages come as `log` events. */
  setLogLevel(server: string, level: string, opts: CallOptions = {}): Promise<Record<string, unknown>> {
    return this.#checked(
      server,
      'logging/setLevel',
      { level },
      opts,
      this.#site(this.setLogLevel),
    ) as Promise<Record<string, unknown>>;
  }

  #log(server: string, params: unknown): void {
    const p = (params ?? {}) as { level?: unknown; logger?: unknown; data?: unknown };
    this.emit('log', {
      server,
      level: typeof p.level === 'string' ? p.level : 'info',
      logger: typeof p.logger === 'string' ? p.logger : undefined,
      data: p.data,
    });
  }

  // ---- catalogs ----------------------------------------------------------------------------------

  /** Every tool of every ready server. Cached; `refresh: true` asks the servers again. */
  listTools(opts: CallOptions & { refresh?: boolean } = {}): Promise<ToolEntry[]> {
    const calls = this.#listingCalls(opts, this.#site(this.listTools));
    if (calls instanceof Error) return Promise.reject(calls);
    return this.#catalog.listTools(this.#fleet.ready(), calls, opts.refresh === true);
  }

  listPrompts(opts: CallOptions = {}): Promise<PromptEntry[]> {
    const calls = this.#listingCalls(opts, this.#site(this.listPrompts));
    if (calls instanceof Error) return Promise.reject(calls);
    return this.#catalog.listPrompts(this.#fleet.ready(), calls);
  }

  listResources(opts: CallOptions = {}): Promise<ResourceEntry[]> {
    const calls = this.#listingCalls(opts, this.#site(this.listResources));
    if (calls instanceof Error) return Promise.reject(calls);
    return this.#catalog.listResources(this.#fleet.ready(), calls);
  }

  /** Every resource template (`resources/templates/list`) of every ready server, each with its server. */
  listResourceTemplates(opts: CallOptions = {}): Promise<ResourceTemplateEntry[]> {
    const calls = this.#listingCalls(opts, this.#site(this.listResourceTemplates));
    if (calls instanceof Error) return Promise.reject(calls);
    return this.#catalog.listResourceTemplates(this.#fleet.ready(), calls);
  }

  /** One listing over several servers: the same start for every server's deadline. */
  #listingCalls(opts: CallOptions, site: CallSite): ((route: Route) => Call) | SwitchboardError {
    const bad = checkOptions(opts, 'listing');
    if (bad) return stampCallSite(bad, site);
    const startedAt = performance.now();
    return (route) => newCall(opts, site, route.sup.config.timeoutMs, startedAt);
  }

  /**
   * Qualified names that two tools want: the tool whose server comes first in the config has it, the
   * other has the name with a hash of its own server and tool.
   */
  get collisions(): readonly NameCollision[] {
    return this.#catalog.collisions;
  }

  // ---- state -------------------------------------------------------------------------------------

  /** The state of every configured server, now. */
  servers(): ServerStatus[] {
    const now = performance.now();
    return this.#fleet.routes().map((route) => statusOf(route, now));
  }

  /** The state of one configured server, now (undefined for a name not configured): no scan of the rest. */
  server(name: string): ServerStatus | undefined {
    const route = this.#fleet.get(name);
    return route ? statusOf(route, performance.now()) : undefined;
  }

  /** `servers()` plus each connection's counters (late and unknown answers, dropped progress, bad lines). */
  async status(): Promise<ServerReport[]> {
    return Promise.all(
      this.servers().map(async (s) => {
        const host = this.#fleet.get(s.name)?.sup.host;
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
    return this.#reloader.reload(config, opts.drainMs ?? 5000);
  }

  /**
   * Reloads whenever the config file changes (editors that save by renaming included). A broken edit is
   * reported as a `reload` event with the error, and the running config stays. The watch keeps the
   * process alive until `unwatch()` or close.
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
    if (!this.#closed) this.#reloader.watch(file, opts);
  }

  /** Stops watching the config file. */
  unwatch(): void {
    this.#reloader.unwatch();
  }

  // ---- shutdown ----------------------------------------------------------------------------------

  /** Resolves when no call is running or waiting on any server. */
  async onIdle(): Promise<void> {
    await Promise.all(this.#fleet.supervisors().map((sup) => sup.mailbox.onIdle()));
  }

  /**
   * Stops taking calls, lets running and queued ones finish for up to `timeoutMs` (default 5000), then
   * fails what is left with E_CLOSED and ends every upstream (stdio process trees included). Idempotent.
   */
  close(opts: { timeoutMs?: number } = {}): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed ??= new SwitchboardError('E_CLOSED', 'the switchboard is closed', {});
      this.unwatch();
      await within(this.onIdle(), opts.timeoutMs ?? 5000, this.#destroyed);
      await this.#end(this.#closed, false);
    })();
    return this.#closing;
  }

  /**
   * Fails everything now with E_CLOSED (cause: `err`) and ends every upstream, without waiting for
   * servers to exit on their own. Idempotent. During a close()'s grace period it cuts the grace short.
   */
  destroy(err?: Error): Promise<void> {
    if (!this.#shutdown) {
      this.#closed = new SwitchboardError(
        'E_CLOSED',
        `the switchboard was destroyed${err ? `: ${err.message}` : ''}`,
        { cause: err },
      );
      this.#endGrace();
      void this.#end(this.#closed, true);
    } else void this.#fleet.stop(this.#closed!, true); // a graceful close in progress: hurry it
    this.#closing ??= this.#shutdown!;
    return this.#closing;
  }

  /** Ends every upstream; the first caller's reason wins. */
  #end(reason: SwitchboardError, now: boolean): Promise<void> {
    this.#shutdown ??= (async () => {
      this.unwatch();
      await this.#fleet.stop(reason, now);
    })();
    return this.#shutdown;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function notAnObject(args: unknown, server: string, tool: string): SwitchboardError | undefined {
  if (args !== null && typeof args === 'object' && !Array.isArray(args)) return undefined;
  const kind = args === null ? 'null' : Array.isArray(args) ? 'an array' : typeof args;
  return new SwitchboardError(
    'E_INVALID_ARGUMENT',
    `arguments for ${server}/${tool} must be a JSON object, not ${kind}`,
    { data: { server, tool } },
  );
}

function unknownServer(name: string, known: string[]): SwitchboardError {
  return new SwitchboardError(
    'E_UNKNOWN_SERVER',
    `no server is named '${name}'; configured: ${known.length ? known.join(', ') : 'none'}`,
    { data: { server: name, available: known } },
  );
}

function statusOf({ sup, catalog }: Route, now: number): ServerStatus {
  return {
    name: sup.name,
    state: sup.state,
    isolation: sup.config.isolation,
    transport: sup.config.transport.type,
    protocolVersion: sup.description?.protocolVersion,
    serverInfo: sup.description?.serverInfo,
    capabilities: sup.description?.capabilities,
    instructions: sup.description?.instructions,
    tools: catalog.tools?.size ?? 0,
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
      sup.error && explainedByError(sup.state)
        ? { code: sup.error.code, message: sup.error.message }
        : undefined,
  };
}
