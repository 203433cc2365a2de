import { EventEmitter } from 'node:events';
import {
  type LoadOptions,
  loadConfigFile,
  parseConfig,
  type ServerConfig,
  type SwitchboardConfig,
} from '../config/config.js';
import { type CallOptions, type CallSite, captureCallSite, stampCallSite } from '../core/correlator.js';
import { SwitchboardError } from '../core/errors.js';
import type { Params, RpcNotification } from '../core/jsonrpc.js';
import { Mailbox } from '../core/mailbox.js';
import { type NameCollision, NameRegistry } from '../core/names.js';
import type { ConnectionStats, ServerDescription } from '../upstream/connection.js';
import type { HostEvents, HostFactory, UpstreamHost } from '../upstream/host.js';
import { InlineHost } from '../upstream/inline-host.js';
import { ThreadHost } from '../upstream/thread-host.js';

export type ServerState = 'disabled' | 'starting' | 'ready' | 'failed' | 'closed';

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
  error?: { code: string; message: string } | undefined;
}

export interface ServerReport extends ServerStatus {
  stats: ConnectionStats | undefined;
}

export interface SwitchboardEvents {
  state: [{ server: string; state: ServerState; error?: Error | undefined }];
  notification: [{ server: string; message: RpcNotification }];
  warning: [{ server: string; error: Error }];
  stderr: [{ server: string; line: string }];
  catalog: [{ server: string; tools: number }];
}

export interface StartOptions extends LoadOptions {
  signal?: AbortSignal | undefined;
  /** Start only these servers (the others stay configured, in state `disabled`). */
  only?: string[] | undefined;
  /** Reject (and close everything) if any enabled server fails to start. Default: false, the rest carry on. */
  requireAll?: boolean | undefined;
  /** Where upstreams live; tests and embedders may supply their own. */
  hostFactory?: HostFactory | undefined;
}

interface Route {
  config: ServerConfig;
  host: UpstreamHost | undefined;
  mailbox: Mailbox;
  state: ServerState;
  description: ServerDescription | undefined;
  error: SwitchboardError | undefined;
  tools: Map<string, ToolEntry> | undefined;
  toolsLoading: Promise<Map<string, ToolEntry>> | undefined;
}

const defaultHostFactory: HostFactory = (config, events) =>
  config.isolation === 'thread' ? new ThreadHost(config, events) : new InlineHost(config, events);

const PAGE_LIMIT = 1000; // pages per list call: a server that never stops paginating is cut off

/**
 * Many MCP servers behind one object. Each server has its own bounded mailbox and its own futures table;
 * a call goes to exactly the server it names and its answer to exactly the caller that made it.
 */
export class Switchboard extends EventEmitter<SwitchboardEvents> implements AsyncDisposable {
  readonly config: SwitchboardConfig;
  #routes = new Map<string, Route>();
  #names: NameRegistry;
  #closing: Promise<void> | undefined;
  #closed: SwitchboardError | undefined;

  private constructor(config: SwitchboardConfig) {
    super();
    this.config = config;
    this.#names = new NameRegistry(config.separator);
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
    const sb = new Switchboard(parsed);
    const factory = opts.hostFactory ?? defaultHostFactory;
    for (const server of parsed.servers) {
      const wanted = server.enabled && (!opts.only || opts.only.includes(server.name));
      sb.#routes.set(server.name, {
        config: server,
        host: wanted ? factory(server, sb.#hostEvents(server.name)) : undefined,
        mailbox: new Mailbox(server.name, { maxInFlight: server.maxInFlight, maxQueue: server.maxQueue }),
        state: wanted ? 'starting' : 'disabled',
        description: undefined,
        error: undefined,
        tools: undefined,
        toolsLoading: undefined,
      });
    }
    const results = await Promise.allSettled(
      [...sb.#routes.values()].filter((r) => r.host).map((r) => sb.#startRoute(r, opts.signal)),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed && (opts.requireAll || opts.signal?.aborted)) {
      await sb.close({ timeoutMs: 0 });
      throw failed.reason;
    }
    return sb;
  }

  async #startRoute(route: Route, signal: AbortSignal | undefined): Promise<void> {
    try {
      route.description = await route.host!.start({ signal });
      if (this.#closed) return;
      this.#setState(route, 'ready');
      if (route.description.capabilities.tools)
        await this.#loadTools(route, { signal, timeoutMs: route.config.startTimeoutMs });
    } catch (err) {
      const error =
        err instanceof SwitchboardError
          ? err
          : new SwitchboardError(
              'E_START_FAILED',
              `server '${route.config.name}' failed to start: ${(err as Error)?.message ?? err}`,
              {
                cause: err,
                data: { server: route.config.name },
              },
            );
      route.error = error;
      route.mailbox.close(unavailable(route));
      this.#setState(route, 'failed', error);
      await route.host?.close().catch(() => {});
      throw error;
    }
  }

  #hostEvents(server: string): HostEvents {
    return {
      notification: (message) => {
        if (message.method === 'notifications/tools/list_changed') this.#onToolsChanged(server);
        this.emit('notification', { server, message });
      },
      warning: (error) => this.emit('warning', { server, error }),
      stderr: (line) => this.emit('stderr', { server, line }),
      close: (reason) => {
        const route = this.#routes.get(server);
        if (!route || route.state === 'closed' || this.#closed) return;
        route.error = reason;
        route.mailbox.close(reason);
        this.#setState(route, 'failed', reason);
      },
    };
  }

  #setState(route: Route, state: ServerState, error?: Error): void {
    route.state = state;
    this.emit('state', { server: route.config.name, state, error });
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
    const tools = await this.#loadTools(
      route,
      { signal: opts.signal, timeoutMs: opts.timeoutMs ?? route.config.timeoutMs },
      true,
    ).catch(() => route.tools);
    if (!tools?.has(tool)) {
      const known = [...(tools?.keys() ?? [])];
      throw stampCallSite(
        new SwitchboardError(
          'E_UNKNOWN_TOOL',
          `server '${route.config.name}' has no tool '${tool}'; it has ${known.length ? known.slice(0, 20).join(', ') + (known.length > 20 ? `, … (${known.length} in all)` : '') : 'no tools'}`,
          { data: { server: route.config.name, tool, available: known } },
        ),
        site,
      );
    }
    return (await this.#dispatch(
      route.config.name,
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
    // Also refused during close()'s grace period: closing means no new calls.
    if (route.state !== 'ready' || this.#closed)
      return Promise.reject(stampCallSite(this.#closed ?? unavailable(route), site));
    const timeoutMs = opts.timeoutMs ?? route.config.timeoutMs;
    let entered: boolean;
    try {
      entered = route.mailbox.tryEnter();
    } catch (err) {
      return Promise.reject(stampCallSite(err as Error, site));
    }
    if (entered) return this.#send(route, method, params, opts, timeoutMs, site);
    const deadline = timeoutMs > 0 ? performance.now() + timeoutMs : undefined;
    return route.mailbox.enter({ signal: opts.signal, deadline, timeoutMs }).then(
      () =>
        this.#send(
          route,
          method,
          params,
          opts,
          deadline === undefined ? 0 : Math.max(1, deadline - performance.now()),
          site,
        ),
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
  ): Promise<unknown> {
    const leave = () => route.mailbox.leave();
    let call: Promise<unknown>;
    try {
      call = route.host!.request(method, params, {
        signal: opts.signal,
        timeoutMs,
        onProgress: opts.onProgress,
        site,
      });
    } catch (err) {
      leave();
      return Promise.reject(err);
    }
    return call.then(
      (result) => {
        leave();
        return result;
      },
      (err: unknown) => {
        leave();
        throw err;
      },
    );
  }

  // ---- catalogs ----------------------------------------------------------------------------------

  /** Every tool of every ready server. Cached; `refresh: true` asks the servers again. */
  async listTools(opts: CallOptions & { refresh?: boolean } = {}): Promise<ToolEntry[]> {
    const routes = this.#ready();
    const maps = await Promise.all(
      routes.map((r) =>
        r.description?.capabilities.tools
          ? this.#loadTools(r, opts, opts.refresh === true)
          : Promise.resolve(new Map<string, ToolEntry>()),
      ),
    );
    return maps.flatMap((m) => [...m.values()]);
  }

  async listPrompts(opts: CallOptions = {}): Promise<PromptEntry[]> {
    const lists = await Promise.all(
      this.#ready()
        .filter((r) => r.description?.capabilities.prompts)
        .map(async (r) => {
          const prompts = await this.#listAll(r, 'prompts/list', 'prompts', opts);
          return prompts.map((p) => {
            const prompt = p as PromptEntry['prompt'];
            const qualified = `${r.config.name}${this.config.separator}${prompt.name}`;
            return { server: r.config.name, name: prompt.name, qualifiedName: qualified, prompt };
          });
        }),
    );
    return lists.flat();
  }

  async listResources(opts: CallOptions = {}): Promise<ResourceEntry[]> {
    const lists = await Promise.all(
      this.#ready()
        .filter((r) => r.description?.capabilities.resources)
        .map(async (r) =>
          (await this.#listAll(r, 'resources/list', 'resources', opts)).map((resource) => ({
            server: r.config.name,
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
    const server = route.config.name;
    const loading = this.#listAll(route, 'tools/list', 'tools', opts)
      .then((tools) => {
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
        this.emit('catalog', { server, tools: map.size });
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
    if (route?.state !== 'ready') return;
    this.#loadTools(route, { timeoutMs: route.config.timeoutMs }, true).catch((error: Error) =>
      this.emit('warning', { server, error }),
    );
  }

  async #listAll(route: Route, method: string, key: string, opts: CallOptions): Promise<unknown[]> {
    const items: unknown[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < PAGE_LIMIT; page++) {
      const result = (await this.#dispatch(
        route.config.name,
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
      `${method} on '${route.config.name}' returned more than ${PAGE_LIMIT} pages; stopped`,
      {
        data: { server: route.config.name, method },
      },
    );
  }

  #ready(): Route[] {
    return [...this.#routes.values()].filter((r) => r.state === 'ready');
  }

  // ---- state -------------------------------------------------------------------------------------

  /** The state of every configured server, now. */
  servers(): ServerStatus[] {
    return [...this.#routes.values()].map((r) => ({
      name: r.config.name,
      state: r.state,
      isolation: r.config.isolation,
      transport: r.config.transport.type,
      protocolVersion: r.description?.protocolVersion,
      serverInfo: r.description?.serverInfo,
      tools: r.tools?.size ?? 0,
      running: r.mailbox.running,
      queued: r.mailbox.waiting,
      limits: {
        maxInFlight: r.config.maxInFlight,
        maxQueue: r.config.maxQueue,
        timeoutMs: r.config.timeoutMs,
      },
      error: r.error ? { code: r.error.code, message: r.error.message } : undefined,
    }));
  }

  /** `servers()` plus each connection's counters (late and unknown answers, dropped progress, bad lines). */
  async status(): Promise<ServerReport[]> {
    const statuses = this.servers();
    return Promise.all(
      statuses.map(async (s) => {
        const host = this.#routes.get(s.name)?.host;
        const stats = host && s.state === 'ready' ? await host.stats().catch(() => undefined) : undefined;
        return { ...s, stats };
      }),
    );
  }

  /** Resolves when no call is running or waiting on any server. */
  async onIdle(): Promise<void> {
    await Promise.all([...this.#routes.values()].map((r) => r.mailbox.onIdle()));
  }

  /**
   * Stops taking calls, lets running and queued ones finish for up to `timeoutMs` (default 5000), then
   * fails what is left with E_CLOSED and ends every upstream (stdio process trees included). Idempotent.
   */
  close(opts: { timeoutMs?: number } = {}): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = new SwitchboardError('E_CLOSED', 'the switchboard is closed', {});
      const grace = opts.timeoutMs ?? 5000;
      if (grace > 0) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          this.onIdle(),
          new Promise<void>((r) => {
            timer = setTimeout(r, grace);
          }),
        ]);
        clearTimeout(timer);
      }
      await this.#shutdown(this.#closed);
    })();
    return this.#closing;
  }

  /** Fails everything now with E_CLOSED (cause: `err`) and ends every upstream. Idempotent. */
  destroy(err?: Error): Promise<void> {
    if (!this.#closed || !this.#closing) {
      this.#closed = new SwitchboardError(
        'E_CLOSED',
        `the switchboard was destroyed${err ? `: ${err.message}` : ''}`,
        { cause: err },
      );
      this.#closing = this.#shutdown(this.#closed);
    }
    return this.#closing;
  }

  async #shutdown(reason: SwitchboardError): Promise<void> {
    await Promise.all(
      [...this.#routes.values()].map(async (r) => {
        r.mailbox.close(reason);
        if (r.state !== 'disabled') this.#setState(r, 'closed');
        await r.host?.close().catch(() => {});
      }),
    );
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

function unavailable(route: Route): SwitchboardError {
  const name = route.config.name;
  const why =
    route.state === 'disabled'
      ? 'it is disabled in the config (or not started)'
      : route.state === 'starting'
        ? 'it is still starting'
        : route.state === 'closed'
          ? 'it was closed'
          : `it failed: ${route.error?.message ?? 'unknown error'}`;
  return new SwitchboardError('E_UPSTREAM_UNAVAILABLE', `server '${name}' cannot take calls: ${why}`, {
    cause: route.error,
    data: { server: name, state: route.state },
  });
}
