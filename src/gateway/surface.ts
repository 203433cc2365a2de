/**
 * What a downstream client sees: one SDK `Server` per serving unit (a 2025-era session, or one
 * 2026-07-28 request), whose handlers forward to the switchboard. Each handler hands the switchboard
 * exactly this request's signal, progress and question handlers, so answers, progress and server
 * requests reach this client and no other by construction: downstream ids and progress tokens never
 * leave this instance, and upstream ids and tokens are the switchboard's own.
 */
import {
  CLIENT_CAPABILITIES_META_KEY,
  MissingRequiredClientCapabilityError,
  ProtocolError,
  type RequestStateCodec,
  Server,
  type ServerCapabilities,
  type ServerContext,
} from '@modelcontextprotocol/server';
import type { CallOptions } from '../core/correlator.js';
import { isSwitchboardError, RpcError, SwitchboardError } from '../core/errors.js';
import type { ServerRequestHandler } from '../core/server-requests.js';
import type { CallToolResult, Switchboard } from '../switchboard/switchboard.js';
import { VERSION } from '../version.js';
import type { Limiter } from './limits.js';
import type { ParkedCall, Parking } from './parking.js';
import type { ResourceIndex } from './resources.js';
import type { Subscriptions } from './subscriptions.js';
import type { Upstreams } from './upstreams.js';

/** `undefined`: the aggregate at `/mcp`; a name: that one upstream, with its own names. */
export interface View {
  server?: string | undefined;
}

/** The downstream side of one serving unit. */
export interface Downstream {
  era: 'legacy' | 'modern';
  /** Scope key: which session-scoped instances and which limits this client uses. */
  key: string;
  /** Which client the limits count: a 2025-era session, or a 2026-07-28 client's address. */
  limitsKey?: string | undefined;
  limiter: Limiter;
  /** The log level this session asked for (`logging/setLevel`); undefined: no log messages. */
  logLevel?: string | undefined;
}

/** What a `requestState` the gateway minted carries (integrity-protected: see seal). */
export type Sealed =
  /** An upstream's own input_required: which server and tool, and its state, byte-exact. */
  | { k: 'up'; s: string; t: string; u?: string | undefined }
  /** A parked call of a 2025-era upstream, waiting for these answers. */
  | { k: 'park'; p: string; s: string; t: string };

export interface SurfaceDeps {
  upstreams: Upstreams;
  parking: Parking;
  resources: ResourceIndex;
  codec: RequestStateCodec<Sealed>;
  separator: string;
  subscriptions: Subscriptions;
}

/** The client capability each question an upstream may ask needs. */
const CAPABILITY_OF: Readonly<Record<string, string>> = {
  'elicitation/create': 'elicitation',
  'sampling/createMessage': 'sampling',
  'roots/list': 'roots',
};

const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

export function logLevelAdmits(wanted: string | undefined, level: string): boolean {
  if (wanted === undefined) return false;
  return LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(wanted);
}

/** The JSON-RPC error a client gets for a switchboard error. */
export function toProtocolError(err: unknown): ProtocolError {
  if (err instanceof ProtocolError) return err;
  if (err instanceof RpcError) return new ProtocolError(err.code, err.rpcMessage, err.data);
  if (isSwitchboardError(err)) {
    // A filtered tool is, to a client, a tool that does not exist: the config is not its business.
    if (err.code === 'E_TOOL_FILTERED') {
      const tool = (err.data as { tool?: unknown } | undefined)?.tool;
      return new ProtocolError(-32602, `unknown tool '${String(tool)}'; tools/list shows the names`);
    }
    const invalid = ['E_UNKNOWN_TOOL', 'E_UNKNOWN_SERVER', 'E_INVALID_ARGUMENT'].includes(err.code);
    return new ProtocolError(invalid ? -32602 : -32000, err.message, { code: err.code });
  }
  return new ProtocolError(-32603, err instanceof Error ? err.message : String(err));
}

const GATEWAY_CAPABILITIES: ServerCapabilities = {
  tools: { listChanged: true },
  resources: { listChanged: true, subscribe: true },
  prompts: { listChanged: true },
  completions: {},
  logging: {},
};

/** The capabilities of one view: the whole set, or what the one upstream declared. */
export function capabilitiesFor(deps: SurfaceDeps, view: View): ServerCapabilities {
  if (view.server === undefined) return GATEWAY_CAPABILITIES;
  const status = deps.upstreams.shared.server(view.server);
  const declared = (status?.capabilities ?? {}) as Record<string, unknown>;
  const out: ServerCapabilities = { logging: {} };
  // List changes reach clients whatever the upstream said: a restart can change its lists.
  if (declared.tools || !status?.capabilities) out.tools = { listChanged: true };
  if (declared.resources)
    out.resources = {
      listChanged: true,
      ...((declared.resources as { subscribe?: unknown }).subscribe ? { subscribe: true } : {}),
    };
  if (declared.prompts) out.prompts = { listChanged: true };
  if (declared.completions) out.completions = {};
  return out;
}

export function buildServer(deps: SurfaceDeps, view: View, down: Downstream): Server {
  const instructions = view.server ? deps.upstreams.shared.server(view.server)?.instructions : undefined;
  const server = new Server(
    { name: view.server ? `mcp-switchboard/${view.server}` : 'mcp-switchboard', version: VERSION },
    {
      capabilities: capabilitiesFor(deps, view),
      ...(instructions ? { instructions } : {}),
      requestState: { verify: (state, ctx) => deps.codec.verify(state, ctx) },
    },
  );
  const surface = new Surface(deps, view, down, server);
  surface.register();
  return server;
}

/** The upstreams a request keeps busy while it runs, by its context. */
const busyServers = new WeakMap<ServerContext, (() => void)[]>();

/** The last progress notification sent for a request, by its context. */
const progressSent = new WeakMap<ServerContext, Promise<void>>();

/**
 * A result goes out after its request's last progress notification, a turn later: SDK 1.x clients handle
 * notifications a microtask late and drop progress that arrives in the same read as its call's result.
 * Undefined when the request sent none (most calls): nothing to wait for, not even a microtask.
 */
function afterProgress(ctx: ServerContext): Promise<void> | undefined {
  const sent = progressSent.get(ctx);
  if (!sent) return undefined;
  return sent.then(() => new Promise((resolve) => setTimeout(resolve, 1)));
}

class Surface {
  readonly #deps: SurfaceDeps;
  readonly #view: View;
  readonly #down: Downstream;
  readonly #server: Server;
  /** This session's requests in flight, by upstream server, oldest first (2025 era). */
  readonly #streams = new Set<{ server: string; ctx: ServerContext }>();
  readonly #questions: CallOptions;

  constructor(deps: SurfaceDeps, view: View, down: Downstream, server: Server) {
    this.#deps = deps;
    this.#view = view;
    this.#down = down;
    this.#server = server;
    this.#questions = this.#makeQuestions();
  }

  register(): void {
    const on = (
      method: string,
      work: (params: Record<string, unknown>, ctx: ServerContext) => Promise<unknown>,
    ): void =>
      this.#server.setRequestHandler(
        method as 'ping',
        (async (req: { params?: unknown }, ctx: ServerContext) => {
          try {
            const result = await this.#guard(() => work((req.params ?? {}) as Record<string, unknown>, ctx));
            const progressed = afterProgress(ctx);
            if (progressed) await progressed;
            return result;
          } finally {
            const held = busyServers.get(ctx);
            if (held) {
              busyServers.delete(ctx);
              for (const release of held) release();
            }
          }
        }) as never,
      );
    // Only what this view declared: the SDK refuses a handler for an undeclared capability.
    const caps = this.#server.getCapabilities();
    if (caps.tools) {
      on('tools/list', () => this.#listTools());
      on('tools/call', (params, ctx) => this.#callTool(params, ctx));
    }
    if (caps.prompts) {
      on('prompts/list', () => this.#listPrompts());
      on('prompts/get', (params, ctx) => this.#getPrompt(params, ctx));
    }
    if (caps.resources) {
      on('resources/list', () => this.#listResources());
      on('resources/templates/list', () => this.#listTemplates());
      on('resources/read', (params, ctx) => this.#readResource(params, ctx));
      // A 2025-era session gets updates on its GET stream; 2026-07-28 clients use subscriptions/listen.
      if ((caps.resources as { subscribe?: unknown }).subscribe && this.#down.era === 'legacy') {
        on('resources/subscribe', (params) => this.#subscribe(params, true));
        on('resources/unsubscribe', (params) => this.#subscribe(params, false));
      }
    }
    if (caps.completions) on('completion/complete', (params, ctx) => this.#complete(params, ctx));
    on('logging/setLevel', async (params) => {
      this.#down.logLevel = params.level as string;
      return {};
    });
  }

  // ---- names ------------------------------------------------------------------------------------

  /** The servers this view lists, in config order. */
  #servers(): string[] {
    return this.#view.server ? [this.#view.server] : this.#deps.upstreams.names();
  }

  /** A name as the client sees it -> server and the server's own name. */
  #resolve(name: unknown, what: 'tool' | 'prompt'): { server: string; name: string } {
    if (typeof name !== 'string' || name === '')
      throw new ProtocolError(-32602, `a ${what} name is required (params.name)`);
    if (this.#view.server) return { server: this.#view.server, name };
    if (what === 'tool') {
      const known = this.#deps.upstreams.shared.resolveTool(name);
      if (known) return known;
    }
    const sep = this.#deps.separator;
    // Longest server name first, so `a` does not take `a__b`'s names.
    for (const server of this.#deps.upstreams.namesLongestFirst())
      if (name.startsWith(server + sep)) return { server, name: name.slice(server.length + sep.length) };
    throw new ProtocolError(
      -32602,
      `unknown ${what} '${name}': names here are <server>${sep}<${what}>; ${what}s/list shows them`,
    );
  }

  #display(name: string, qualified: string): string {
    return this.#view.server ? name : qualified;
  }

  /**
   * The switchboard that serves `server` for this client. With the request's `ctx`, the server counts as
   * busy for this client until the request ends, so an idle reaper never ends a scoped upstream under it.
   */
  async #sbFor(server: string, ctx?: ServerContext): Promise<Switchboard> {
    const starting = this.#deps.upstreams.forServer(server, this.#down.key);
    // In the same turn as forServer: the instance it found or started is held before any reaper runs.
    // A shared server has nothing to hold (and the call path allocates nothing for it).
    const release = ctx && this.#deps.upstreams.hold(server, this.#down.key);
    if (release) {
      const held = busyServers.get(ctx);
      if (held) held.push(release);
      else busyServers.set(ctx, [release]);
    }
    return starting;
  }

  /** Every switchboard this view lists from, each with the servers it serves here. */
  async #sources(): Promise<Switchboard[]> {
    const out = new Set<Switchboard>();
    for (const server of this.#servers()) out.add(await this.#sbFor(server));
    return [...out];
  }

  async #guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      throw toProtocolError(err);
    }
  }

  // ---- lists ------------------------------------------------------------------------------------

  async #listTools(): Promise<{ tools: Record<string, unknown>[] }> {
    return {
      tools: await this.#listNamed(
        (sb) => sb.listTools(),
        (e) => e.tool,
      ),
    };
  }

  async #listPrompts(): Promise<{ prompts: Record<string, unknown>[] }> {
    return {
      prompts: await this.#listNamed(
        (sb) => sb.listPrompts(),
        (e) => e.prompt,
      ),
    };
  }

  /** Tools or prompts of this view's servers, each under the name a client here uses for it. */
  async #listNamed<E extends { server: string; name: string; qualifiedName: string }>(
    list: (sb: Switchboard) => Promise<E[]>,
    item: (entry: E) => Record<string, unknown>,
  ): Promise<Record<string, unknown>[]> {
    const wanted = new Set(this.#servers());
    const out: Record<string, unknown>[] = [];
    for (const sb of await this.#sources())
      for (const entry of await list(sb))
        if (wanted.has(entry.server))
          out.push({ ...item(entry), name: this.#display(entry.name, entry.qualifiedName) });
    return out;
  }

  async #listResources(): Promise<{ resources: Record<string, unknown>[] }> {
    const wanted = new Set(this.#servers());
    const listed: { server: string; resource: Record<string, unknown> & { uri: string } }[] = [];
    for (const sb of await this.#sources())
      for (const entry of await sb.listResources())
        if (wanted.has(entry.server)) listed.push(entry as (typeof listed)[number]);
    if (this.#view.server) return { resources: listed.map((e) => e.resource) };
    return { resources: this.#deps.resources.publish(listed, this.#deps.upstreams.names()) };
  }

  async #listTemplates(): Promise<{ resourceTemplates: Record<string, unknown>[] }> {
    const wanted = new Set(this.#servers());
    const byServer = new Map<string, Record<string, unknown>[]>();
    for (const sb of await this.#sources())
      for (const entry of await sb.listResourceTemplates())
        if (wanted.has(entry.server)) {
          const list = byServer.get(entry.server) ?? [];
          list.push(entry.resourceTemplate);
          byServer.set(entry.server, list);
        }
    const out: Record<string, unknown>[] = [];
    for (const server of this.#servers()) {
      const list = byServer.get(server) ?? [];
      this.#deps.resources.templates(server, list);
      out.push(...list);
    }
    return { resourceTemplates: out };
  }

  // ---- calls ------------------------------------------------------------------------------------

  /** The options that tie one upstream call to this request: its signal, progress and questions. */
  #callOptions(ctx: ServerContext, signal: AbortSignal): CallOptions {
    const token = ctx.mcpReq._meta?.progressToken;
    const opts: CallOptions = { signal };
    if (token !== undefined)
      opts.onProgress = ({ progressToken: _, ...rest }) => {
        const sent = ctx.mcpReq
          .notify({ method: 'notifications/progress', params: { ...rest, progressToken: token } })
          .catch(() => {});
        progressSent.set(ctx, sent);
      };
    return opts;
  }

  /**
   * Runs `work` with the question handlers of this 2025-era session, its request `ctx` counted as in
   * flight on `server` meanwhile (its response stream is where questions about `server` go out).
   */
  async #withQuestions<T>(
    ctx: ServerContext,
    server: string,
    work: (questions: CallOptions) => Promise<T>,
  ): Promise<T> {
    const stream = { server, ctx };
    this.#streams.add(stream);
    try {
      return await work(this.#questions);
    } finally {
      this.#streams.delete(stream);
    }
  }

  /** The newest request of this session still in flight on `server`. */
  #streamFor(server: string): ServerContext | undefined {
    let found: ServerContext | undefined;
    for (const s of this.#streams) if (s.server === server) found = s.ctx;
    return found;
  }

  /**
   * The question handlers of this session: one set, the same for all its calls. The switchboard tells an
   * unlinked request (stdio) from an ambiguous one by comparing the handlers of the calls in flight, so
   * the calls of one session must not look like different callers; they all ask the same client. A
   * question goes out on the response stream of a request of this session in flight on its server.
   */
  #makeQuestions(): CallOptions {
    const stream = (server: string, method: string): ServerContext => {
      const ctx = this.#streamFor(server);
      if (!ctx)
        throw new Error(`no request of this gateway session is in flight on '${server}' to carry ${method}`);
      return ctx;
    };
    const ask =
      (method: string, capability: string): ServerRequestHandler =>
      async (params, c) => {
        const caps = (this.#server.getClientCapabilities() ?? {}) as Record<
          string,
          Record<string, unknown> | undefined
        >;
        if (!caps[capability])
          throw new Error(
            `the client of this gateway session did not declare '${capability}', so it cannot answer ${method}`,
          );
        if (method === 'elicitation/create' && params.mode === 'url' && !caps.elicitation?.url)
          throw new Error('the client of this gateway session did not declare URL-mode elicitation');
        return (await stream(c.server, method).mcpReq.send({ method, params } as never, {
          signal: c.signal,
        })) as Record<string, unknown>;
      };
    const roots = ask('roots/list', 'roots');
    return {
      onElicitation: ask('elicitation/create', 'elicitation'),
      onSampling: ask('sampling/createMessage', 'sampling'),
      roots: async (c) => {
        const result = (await roots({}, c)) as { roots?: unknown };
        return Array.isArray(result.roots) ? result.roots : [];
      },
      onElicitationComplete: (params) => {
        // The notice names no server; any request of this session in flight carries it to the client.
        const ctx = [...this.#streams].pop()?.ctx;
        const sent = ctx
          ? ctx.mcpReq.notify({ method: 'notifications/elicitation/complete', params } as never)
          : this.#server.notification({ method: 'notifications/elicitation/complete', params } as never);
        sent.catch(() => {});
      },
      inputRequired: 'answer',
    };
  }

  async #callTool(params: Record<string, unknown>, ctx: ServerContext): Promise<CallToolResult> {
    const target = this.#resolve(params.name, 'tool');
    const args = (params.arguments ?? {}) as Record<string, unknown>;
    const sb = await this.#sbFor(target.server, ctx);
    const release = await this.#down.limiter.enter(ctx.mcpReq.signal);
    try {
      const result =
        this.#down.era === 'legacy'
          ? await this.#unlisted(
              sb,
              target,
              args,
              this.#withQuestions(ctx, target.server, (questions) =>
                sb.callTool(target.server, target.name, args, {
                  ...this.#callOptions(ctx, ctx.mcpReq.signal),
                  ...questions,
                }),
              ),
              ctx,
            )
          : await this.#unlisted(sb, target, args, this.#callModern(sb, target, args, ctx), ctx);
      if (!this.#view.server) this.#deps.resources.remember(target.server, result);
      return result;
    } finally {
      release();
    }
  }

  /**
   * One server alone (`/servers/<name>/mcp`) answers a tool it does not list as that server does: a
   * client there talks to that server, so the server's own answer (often an `isError` result) goes back,
   * not the switchboard's catalog miss. A tool the config filters out stays unknown (request refuses it).
   */
  async #unlisted(
    sb: Switchboard,
    target: { server: string; name: string },
    args: Record<string, unknown>,
    call: Promise<CallToolResult>,
    ctx: ServerContext,
  ): Promise<CallToolResult> {
    try {
      return await call;
    } catch (err) {
      if (!this.#view.server || !isSwitchboardError(err, 'E_UNKNOWN_TOOL')) throw err;
      return (await sb.request(
        target.server,
        'tools/call',
        { name: target.name, arguments: args },
        { signal: ctx.mcpReq.signal },
      )) as CallToolResult;
    }
  }

  /**
   * A 2026-07-28 client: questions travel as `input_required` results. An upstream's own (2026-07-28)
   * ones pass through with their state sealed next to the server's name; a 2025-era upstream's requests
   * park the call (parking.ts) until the client retries with its answers.
   */
  async #callModern(
    sb: Switchboard,
    target: { server: string; name: string },
    args: Record<string, unknown>,
    ctx: ServerContext,
  ): Promise<CallToolResult> {
    return this.#modern(sb, ctx, {
      server: target.server,
      method: 'tools/call',
      key: target.name,
      params: { name: target.name, arguments: args },
      first: (opts) => sb.callTool(target.server, target.name, args, opts),
    }) as Promise<CallToolResult>;
  }

  /**
   * One request of a 2026-07-28 client that may need input (`tools/call`, `prompts/get`,
   * `resources/read`): the first round runs `first`; a retry with the gateway's sealed state either
   * answers a parked call or resends the upstream's own round with its state.
   */
  async #modern(
    sb: Switchboard,
    ctx: ServerContext,
    req: {
      server: string;
      method: string;
      /** What the state is bound to besides the server: the tool or prompt name, or the URI. */
      key: string;
      params: Record<string, unknown>;
      first: (opts: CallOptions) => Promise<Record<string, unknown>>;
    },
  ): Promise<Record<string, unknown>> {
    const target = { server: req.server, name: req.key };
    const sealed = ctx.mcpReq.requestState<Sealed>();
    // 2026-07-28: what this client can answer is declared on each request; upstream calls carry it, so a
    // 2026-07-28 upstream asks only that (or answers -32021 itself).
    const declared = (ctx.mcpReq._meta?.[CLIENT_CAPABILITIES_META_KEY] ??
      this.#server.getClientCapabilities()) as Record<string, unknown> | undefined;
    if (
      sealed !== undefined &&
      (typeof sealed !== 'object' || sealed.s !== target.server || sealed.t !== target.name)
    )
      throw new ProtocolError(
        -32602,
        'this requestState belongs to another request; send the request again without it',
      );
    let parked: ParkedCall | undefined;
    if (sealed?.k === 'park') {
      parked = this.#deps.parking.take(sealed.p);
      if (!parked)
        throw new ProtocolError(
          -32602,
          'this requestState names a call that has expired or was already answered; send the request again without it',
        );
      parked.answer(ctx.mcpReq.inputResponses);
    } else {
      // A parked call keeps its (scoped) upstream busy until it ends, across the client's rounds.
      const release = this.#deps.upstreams.hold(req.server, this.#down.key);
      try {
        parked = this.#deps.parking.open(release);
      } catch (err) {
        release?.();
        throw err;
      }
      const call = parked;
      const opts: CallOptions = {
        inputRequired: 'return',
        ...(declared ? { capabilities: declared } : {}),
        // Every question reaches the turn below, which refuses what this request did not declare.
        onElicitation: call.asker('elicitation/create'),
        onSampling: call.asker('sampling/createMessage'),
        roots: async (c) => {
          const result = (await call.asker('roots/list')({}, c)) as { roots?: unknown };
          return Array.isArray(result.roots) ? result.roots : [];
        },
      };
      call.round = ctx;
      call.run((signal) => {
        const progress = (p: Parameters<NonNullable<CallOptions['onProgress']>>[0]) =>
          (this.#callOptions(call.round as ServerContext, signal).onProgress ?? (() => {}))(p);
        const all: CallOptions = { ...opts, signal, onProgress: progress };
        if (sealed?.k === 'up')
          return sb.request(
            target.server,
            req.method,
            {
              ...req.params,
              ...(ctx.mcpReq.inputResponses ? { inputResponses: ctx.mcpReq.inputResponses } : {}),
              ...(sealed.u !== undefined ? { requestState: sealed.u } : {}),
            },
            all,
          ) as Promise<CallToolResult>;
        return req.first(all) as Promise<CallToolResult>;
      });
    }
    parked.round = ctx;
    let turn: Awaited<ReturnType<ParkedCall['next']>>;
    try {
      turn = await parked.next(ctx.mcpReq.signal);
    } catch (err) {
      this.#deps.parking.drop(parked);
      throw err;
    }
    if (turn.kind === 'ask') {
      // A 2025-era upstream asked what this client did not declare it can answer: the request cannot be
      // processed, and the client hears which capability it lacks (2026-07-28, -32021; HTTP 400).
      const missing = [
        ...new Set(turn.asks.map((a) => CAPABILITY_OF[a.method]).filter((c) => c && !declared?.[c])),
      ] as string[];
      if (missing.length > 0) {
        // The upstream hears why (its request's error), then the call is cancelled.
        parked.cancel(
          new Error(
            `the gateway's client that caused this request did not declare ${missing.join(' or ')}, so it cannot answer`,
          ),
        );
        this.#deps.parking.drop(parked);
        throw new MissingRequiredClientCapabilityError(
          { requiredCapabilities: Object.fromEntries(missing.map((c) => [c, {}])) },
          `'${target.server}' asked for ${missing.join(' and ')}, which this request's client capabilities do not declare; declare ${missing.length > 1 ? 'them' : 'it'} in _meta["${CLIENT_CAPABILITIES_META_KEY}"]`,
        );
      }
      this.#deps.parking.hold(parked);
      const inputRequests: Record<string, unknown> = {};
      for (const ask of turn.asks) inputRequests[ask.key] = { method: ask.method, params: ask.params };
      // Bound to this request's method (the codec's `bind`), so mint needs the request's context.
      const requestState = await this.#deps.codec.mint(
        { k: 'park', p: parked.id, s: target.server, t: target.name },
        ctx,
      );
      return { resultType: 'input_required', inputRequests, requestState } as unknown as CallToolResult;
    }
    this.#deps.parking.drop(parked);
    const result = turn.result;
    if (result.resultType === 'input_required') {
      const upstreamState = typeof result.requestState === 'string' ? result.requestState : undefined;
      const requestState = await this.#deps.codec.mint(
        { k: 'up', s: target.server, t: target.name, u: upstreamState },
        ctx,
      );
      return { ...result, requestState };
    }
    return result;
  }

  async #getPrompt(params: Record<string, unknown>, ctx: ServerContext): Promise<Record<string, unknown>> {
    const target = this.#resolve(params.name, 'prompt');
    const sb = await this.#sbFor(target.server, ctx);
    const args = (params.arguments ?? {}) as Record<string, string>;
    if (this.#down.era === 'modern')
      return this.#modern(sb, ctx, {
        server: target.server,
        method: 'prompts/get',
        key: target.name,
        params: { name: target.name, arguments: args },
        first: (opts) => sb.getPrompt(target.server, target.name, args, opts),
      });
    return this.#withQuestions(ctx, target.server, (questions) =>
      sb.getPrompt(target.server, target.name, args, {
        ...this.#callOptions(ctx, ctx.mcpReq.signal),
        ...questions,
      }),
    );
  }

  /** The server (and its own URI) a client's resource URI names here; -32002 when none does. */
  async #routeUri(uri: unknown): Promise<{ server: string; uri: string }> {
    if (typeof uri !== 'string' || uri === '')
      throw new ProtocolError(-32602, 'a resource uri is required (params.uri)');
    const target = this.#view.server
      ? { server: this.#view.server, uri }
      : await this.#deps.resources.route(
          uri,
          () => this.#listTemplates(),
          () => this.#listResources(),
        );
    if (!target)
      throw new ProtocolError(
        -32002,
        `resource '${uri}' is not listed by any server here; resources/list and resources/templates/list show what can be read`,
        { uri },
      );
    return target;
  }

  async #readResource(params: Record<string, unknown>, ctx: ServerContext): Promise<Record<string, unknown>> {
    const target = await this.#routeUri(params.uri);
    const sb = await this.#sbFor(target.server, ctx);
    if (this.#down.era === 'modern')
      return this.#modern(sb, ctx, {
        server: target.server,
        method: 'resources/read',
        key: target.uri,
        params: { uri: target.uri },
        first: (opts) => sb.readResource(target.server, target.uri, opts),
      });
    return this.#withQuestions(ctx, target.server, (questions) =>
      sb.readResource(target.server, target.uri, {
        ...this.#callOptions(ctx, ctx.mcpReq.signal),
        ...questions,
      }),
    );
  }

  async #subscribe(params: Record<string, unknown>, on: boolean): Promise<Record<string, never>> {
    const uri = params.uri as string;
    const target = await this.#routeUri(uri);
    const instance = this.#deps.upstreams.isScoped(target.server) ? this.#down.key : 'shared';
    if (!on) {
      await this.#deps.subscriptions.remove(target.server, instance, target.uri, this.#down.key);
      return {};
    }
    const sb = await this.#sbFor(target.server);
    await this.#deps.subscriptions.add(sb, target.server, instance, target.uri, uri, {
      key: this.#down.key,
      notify: (update) => {
        this.#server
          .notification({ method: 'notifications/resources/updated', params: update } as never)
          .catch(() => {});
      },
    });
    return {};
  }

  async #complete(params: Record<string, unknown>, ctx: ServerContext): Promise<Record<string, unknown>> {
    const ref = (params.ref ?? {}) as { type?: string; name?: string; uri?: string };
    let server: string;
    let upstreamRef: Record<string, unknown>;
    if (ref.type === 'ref/prompt') {
      const target = this.#resolve(ref.name, 'prompt');
      server = target.server;
      upstreamRef = { ...ref, name: target.name };
    } else if (ref.type === 'ref/resource' && typeof ref.uri === 'string') {
      const target = await this.#routeUri(ref.uri);
      server = target.server;
      upstreamRef = { ...ref, uri: target.uri };
    } else throw new ProtocolError(-32602, "params.ref must be a 'ref/prompt' or a 'ref/resource'");
    const sb = await this.#sbFor(server, ctx);
    return sb.complete(server, { ...params, ref: upstreamRef }, { signal: ctx.mcpReq.signal });
  }
}

export { SwitchboardError };
