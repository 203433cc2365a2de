import {
  filteredBy,
  type ToolFilter,
  toolAllowed,
  toolFilteredError,
  unmatchedPatterns,
} from '../config/tool-filter.js';
import { type CallSite, stampCallSite } from '../core/correlator.js';
import { abortError, isSwitchboardError, RpcError, SwitchboardError, timeoutError } from '../core/errors.js';
import type { Params } from '../core/jsonrpc.js';
import { type NameCollision, NameRegistry, qualify } from '../core/names.js';
import { MAX_TIMER_MS } from '../core/validate.js';
import type { Call } from './call.js';
import type { Route } from './fleet.js';

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
  /** The resource object exactly as the server listed it. */
  resource: { uri: string; name?: string; [key: string]: unknown };
}

export interface ResourceTemplateEntry {
  server: string;
  /** The template object exactly as the server listed it (`resources/templates/list`). */
  resourceTemplate: { uriTemplate: string; name?: string; [key: string]: unknown };
}

/** What the switchboard knows of one server's tools. */
export interface ServerCatalog {
  tools: Map<string, ToolEntry> | undefined;
  loading: Promise<Map<string, ToolEntry>> | undefined;
  /** The last tool list as exposed (filtered), to tell whether a restart or a reload changed it. */
  key: string | undefined;
  /** The last tool list as the server sent it, before the config's filter: a new filter needs no new read. */
  listed?: unknown[] | undefined;
  /** The filter (as JSON) that `tools` was made with, to tell whether a reload changed it. */
  filterKey?: string | undefined;
  /** Patterns of that filter already reported as matching no tool: each is reported once. */
  unmatched?: Set<string> | undefined;
  /** The server's first start is in progress, and reads the catalog itself once it is up. */
  firstStart?: boolean;
  /** A `list_changed` came while a read was under way: read once more after it. */
  stale?: boolean;
  rereading?: boolean;
  /** When the last read started (`performance.now()` ms). */
  lastRead?: number;
}

export interface CatalogContext {
  /** Where a server comes in the config: the first one keeps a qualified name two tools want. */
  rank(server: string): number;
  /** A configured server's catalog, by name. */
  catalogOf(server: string): ServerCatalog | undefined;
  dispatch(route: Route, method: string, params: Params | undefined, call: Call): Promise<unknown>;
  /** Whether the route is still the one configured under its name. */
  current(route: Route): boolean;
  warning(server: string, error: Error): void;
  /** Reads a server's tools again, on the switchboard's own account (after a change announced mid-read). */
  reread(route: Route): void;
  /** A server's tool list was read; `changed` when it differs from the one before. */
  loaded(server: string, tools: number, changed: boolean): void;
}

/** Pages per listing: a bound of last resort, under the call's own deadline. */
const PAGE_LIMIT = 10_000;
/** JSON-RPC "method not found". */
const METHOD_NOT_FOUND = -32601;
/** The least time between the starts of two reads of one server's tools that a change asked for. */
const REREAD_SPACING_MS = 1000;

/**
 * Catalogs and names: every server's tools (cached, refreshed on list_changed and after a restart),
 * prompts and resources, read page by page under one deadline, and the qualified names that make a
 * tool reachable from the whole switchboard.
 */
export class Catalog {
  readonly #names: NameRegistry;
  readonly #ctx: CatalogContext;

  constructor(separator: string, ctx: CatalogContext) {
    this.#ctx = ctx;
    this.#names = new NameRegistry(separator, undefined, {
      rank: ctx.rank,
      onRename: (ref, qualifiedName) => {
        const entry = ctx.catalogOf(ref.server)?.tools?.get(ref.name);
        if (entry) entry.qualifiedName = qualifiedName;
        const wanted = qualify(ref.server, ref.name, separator);
        if (qualifiedName !== wanted) this.#warnRenamed(ref.server, ref.name, wanted, qualifiedName);
      },
    });
  }

  #warnRenamed(server: string, tool: string, wanted: string, got: string): void {
    const holder = this.#names.resolve(wanted);
    this.#ctx.warning(
      server,
      new SwitchboardError(
        'E_PROTOCOL',
        `tool '${tool}' of '${server}' is '${got}': the qualified name '${wanted}' is '${holder?.name}' of '${holder?.server}', which comes first in the config (call it by server and tool, or by that name)`,
        { data: { server, tool, wanted, qualifiedName: got, kept: holder } },
      ),
    );
  }

  get separator(): string {
    return this.#names.separator;
  }

  /** Qualified names that two tools want; the one whose server comes first in the config has it. */
  get collisions(): readonly NameCollision[] {
    return this.#names.collisions;
  }

  resolve(qualifiedName: string): { server: string; name: string } | undefined {
    return this.#names.resolve(qualifiedName);
  }

  /** The config's order changed: contested names follow it. */
  rerank(): void {
    this.#names.rerank();
  }

  /** Forgets a server's names (it was removed). */
  forget(server: string): void {
    this.#names.removeServer(server);
  }

  /**
   * Why a request may not go to this server: a `tools/call` of a tool the config's filter hides
   * (E_TOOL_FILTERED), or, when the server has a filter, one without a tool name to check.
   */
  refused(route: Route, method: string, params: Params | undefined): SwitchboardError | undefined {
    const filter = route.sup.config.tools;
    if (method !== 'tools/call' || !filter) return undefined;
    const server = route.sup.name;
    const name = params?.name;
    if (typeof name !== 'string') {
      return new SwitchboardError(
        'E_INVALID_ARGUMENT',
        `tools/call on '${server}' needs params.name, the tool's name as a string: the config filters this server's tools by name`,
        { data: { server, method } },
      );
    }
    const reason = filteredBy(filter, name);
    return reason && toolFilteredError(server, name, reason);
  }

  /**
   * A qualified name that resolves to nothing, but would be a tool the filter hides (`server` +
   * separator + `tool`): why it is refused. (A name long enough to be hashed cannot be told.)
   */
  refusedName(qualifiedName: string, routes: readonly Route[]): SwitchboardError | undefined {
    for (const route of routes) {
      const prefix = `${route.sup.name}${this.#names.separator}`;
      if (!qualifiedName.startsWith(prefix)) continue;
      const refusal = this.refused(route, 'tools/call', { name: qualifiedName.slice(prefix.length) });
      if (refusal) return refusal;
    }
    return undefined;
  }

  /** A `tools/list` result as the server sent it, but for the tools the config's filter hides. */
  filtered(route: Route, result: unknown): unknown {
    const filter = route.sup.config.tools;
    const tools = (result as { tools?: unknown } | null)?.tools;
    if (!filter || !Array.isArray(tools)) return result;
    return {
      ...(result as Record<string, unknown>),
      tools: tools.filter((t) => kept(filter, t)),
    };
  }

  /** The server says this tool can be repeated: annotated read-only or idempotent. */
  repeatable(route: Route, tool: string): boolean {
    const annotations = route.catalog.tools?.get(tool)?.tool.annotations as
      | { readOnlyHint?: unknown; idempotentHint?: unknown }
      | undefined;
    return annotations?.readOnlyHint === true || annotations?.idempotentHint === true;
  }

  /** A server's tools: the cached map, or read (again, with `refresh`). One read at a time per server. */
  /**
   * A server's tools: the cached map, or read (again, with `refresh`). One read at a time per server: a
   * caller that comes while one is under way waits for it, within its own deadline and signal. If that
   * read fails for a reason of its starter's (its deadline, its abort, its retry rule when the server
   * went down), this caller reads for itself.
   */
  async tools(route: Route, call: Call, refresh = false): Promise<Map<string, ToolEntry>> {
    const cat = route.catalog;
    if (cat.tools && !refresh) return cat.tools;
    for (let joins = 0; ; joins++) {
      const shared = cat.loading;
      if (!shared || joins >= 3) return this.#load(route, call);
      try {
        return await joined(shared, call, route.sup.name, 'tools/list');
      } catch (err) {
        const theirs = ['E_TIMEOUT', 'E_ABORTED', 'E_UPSTREAM_CLOSED'].some((c) =>
          isSwitchboardError(err, c as 'E_TIMEOUT'),
        );
        if (!theirs || call.signal?.aborted || call.deadline - performance.now() < 1) throw err;
      }
    }
  }

  /**
   * The server said its tools changed (`list_changed`): read them. A read already under way may have
   * been answered before the change, so the catalog is read once more after it, on its own account (not
   * the account of whoever waits for the read under way), at most once a second: a server that says its
   * tools changed on every listing cannot keep the switchboard listing.
   */
  changed(route: Route, call: Call): Promise<Map<string, ToolEntry>> {
    const cat = route.catalog;
    const recent = performance.now() - (cat.lastRead ?? Number.NEGATIVE_INFINITY) < REREAD_SPACING_MS;
    if (cat.loading || recent) {
      cat.stale = true;
      if (!cat.loading) this.#readAgain(route);
      return cat.loading ?? Promise.resolve(cat.tools ?? new Map<string, ToolEntry>());
    }
    return this.tools(route, call, true);
  }

  /** After a read during which the server announced a change: one more, spaced from the last. */
  #readAgain(route: Route): void {
    const cat = route.catalog;
    if (!cat.stale || cat.rereading || !this.#ctx.current(route)) return;
    cat.stale = false;
    cat.rereading = true;
    const wait = Math.max(0, REREAD_SPACING_MS - (performance.now() - (cat.lastRead ?? 0)));
    setTimeout(() => {
      cat.rereading = false;
      if (this.#ctx.current(route)) this.#ctx.reread(route);
    }, wait).unref();
  }

  #load(route: Route, call: Call): Promise<Map<string, ToolEntry>> {
    const cat = route.catalog;
    cat.lastRead = performance.now();
    const loading = this.list(route, 'tools/list', 'tools', call)
      .then((tools) => {
        if (!this.#ctx.current(route)) return new Map<string, ToolEntry>(); // removed meanwhile
        cat.listed = tools;
        return this.#expose(route);
      })
      .finally(() => {
        if (cat.loading === loading) cat.loading = undefined;
        this.#readAgain(route);
      });
    cat.loading = loading;
    return loading;
  }

  /**
   * The config's tool filter changed (a reload updated the entry in place): the list already read is
   * filtered again, without a new read. A tool the filter now hides loses its qualified name.
   */
  refilter(route: Route): void {
    const cat = route.catalog;
    if (cat.listed === undefined || cat.filterKey === JSON.stringify(route.sup.config.tools ?? null)) return;
    this.#expose(route);
  }

  /** The tools of the last list read that the config's filter keeps: indexed, named, and reported. */
  #expose(route: Route): Map<string, ToolEntry> {
    const cat = route.catalog;
    const server = route.sup.name;
    const filter = route.sup.config.tools;
    const listed = cat.listed ?? [];
    const filterKey = JSON.stringify(filter ?? null);
    if (cat.filterKey !== filterKey) cat.unmatched = undefined;
    cat.filterKey = filterKey;
    const exposed = filter ? listed.filter((t) => kept(filter, t)) : listed;
    const key = JSON.stringify(exposed);
    const changed = cat.key !== undefined && cat.key !== key;
    cat.key = key;
    cat.tools = this.#index(server, exposed);
    this.#warnUnmatched(route, listed);
    this.#ctx.loaded(server, cat.tools.size, changed);
    return cat.tools;
  }

  /** A filter pattern that matches none of the server's tools is most likely a typo: said once. */
  #warnUnmatched(route: Route, listed: unknown[]): void {
    const cat = route.catalog;
    const server = route.sup.name;
    const names = listed
      .map((t) => (t as { name?: unknown } | null)?.name)
      .filter((n): n is string => typeof n === 'string');
    for (const { list, pattern } of unmatchedPatterns(route.sup.config.tools, names)) {
      cat.unmatched ??= new Set();
      const id = `${list}\u0000${pattern}`;
      if (cat.unmatched.has(id)) continue;
      cat.unmatched.add(id);
      const some = names.slice(0, 10).join(', ') + (names.length > 10 ? `, … (${names.length} in all)` : '');
      this.#ctx.warning(
        server,
        new SwitchboardError(
          'E_CONFIG',
          `the pattern ${JSON.stringify(pattern)} in tools.${list} of server '${server}' matches none of its ${names.length} tools${names.length ? ` (${some})` : ''}; check it for a typo`,
          { data: { server, list, pattern, tools: names } },
        ),
      );
    }
  }

  #index(server: string, tools: unknown[]): Map<string, ToolEntry> {
    const map = new Map<string, ToolEntry>();
    this.#names.removeServer(server);
    for (const t of tools) {
      const tool = t as ToolEntry['tool'];
      if (typeof tool?.name !== 'string') continue;
      if (map.has(tool.name)) {
        this.#ctx.warning(
          server,
          new SwitchboardError(
            'E_PROTOCOL',
            `'${server}' listed tool '${tool.name}' twice; the first one is kept`,
            {
              data: { server, tool: tool.name },
            },
          ),
        );
        continue;
      }
      const qualifiedName = this.#names.add(server, tool.name);
      const wanted = qualify(server, tool.name, this.#names.separator, this.#names.maxLength);
      if (qualifiedName !== undefined && qualifiedName !== wanted)
        this.#warnRenamed(server, tool.name, wanted, qualifiedName);
      // Reachable by (server, tool) in any case; by a qualified name unless even the renamed one is taken.
      map.set(tool.name, { server, name: tool.name, qualifiedName: qualifiedName ?? '', tool });
    }
    return map;
  }

  /** Every tool of these servers. */
  async listTools(routes: Route[], calls: (route: Route) => Call, refresh: boolean): Promise<ToolEntry[]> {
    const maps = await Promise.all(
      routes.map((r) =>
        r.sup.description?.capabilities.tools
          ? this.tools(r, calls(r), refresh)
          : Promise.resolve(new Map<string, ToolEntry>()),
      ),
    );
    return maps.flatMap((m) => [...m.values()]);
  }

  listPrompts(routes: Route[], calls: (route: Route) => Call): Promise<PromptEntry[]> {
    return this.#listEvery(routes, 'prompts', 'prompts/list', 'prompts', calls, (server, p) => {
      const prompt = p as PromptEntry['prompt'];
      const qualifiedName = `${server}${this.#names.separator}${prompt.name}`;
      return { server, name: prompt.name, qualifiedName, prompt };
    });
  }

  listResources(routes: Route[], calls: (route: Route) => Call): Promise<ResourceEntry[]> {
    return this.#listEvery(routes, 'resources', 'resources/list', 'resources', calls, (server, resource) => ({
      server,
      resource: resource as ResourceEntry['resource'],
    }));
  }

  /**
   * Every resource template of every server with resources. A server that answers "method not found"
   * (many implement `resources/list` alone) has none: it does not fail the listing of the others.
   */
  listResourceTemplates(routes: Route[], calls: (route: Route) => Call): Promise<ResourceTemplateEntry[]> {
    return this.#listEvery(
      routes,
      'resources',
      'resources/templates/list',
      'resourceTemplates',
      calls,
      (server, resourceTemplate) => ({
        server,
        resourceTemplate: resourceTemplate as ResourceTemplateEntry['resourceTemplate'],
      }),
      (err) => err instanceof RpcError && err.code === METHOD_NOT_FOUND,
    );
  }

  /** One listing of every server with the capability, each item wrapped with its server, untouched. */
  async #listEvery<T>(
    routes: Route[],
    capability: 'prompts' | 'resources',
    method: string,
    key: string,
    calls: (route: Route) => Call,
    wrap: (server: string, item: unknown) => T,
    none?: (err: unknown) => boolean,
  ): Promise<T[]> {
    const lists = await Promise.all(
      routes
        .filter((r) => r.sup.description?.capabilities[capability])
        .map(async (r) => {
          let items: unknown[];
          try {
            items = await this.list(r, method, key, calls(r));
          } catch (err) {
            if (!none?.(err)) throw err;
            items = [];
          }
          return items.map((item) => wrap(r.sup.name, item));
        }),
    );
    return lists.flat();
  }

  /**
   * Every page of a listing, under the one deadline of `call`. A cursor the server gave before would
   * start the same pages again: that is E_PROTOCOL at once, not a loop until the deadline.
   */
  async list(route: Route, method: string, key: string, call: Call): Promise<unknown[]> {
    const items: unknown[] = [];
    const seen = new Set<string>();
    let cursor: string | undefined;
    for (let page = 0; page < PAGE_LIMIT; page++) {
      const result = (await this.#ctx.dispatch(
        route,
        method,
        cursor ? { cursor } : undefined,
        call,
      )) as Record<string, unknown>;
      const list = result?.[key];
      if (Array.isArray(list)) for (const item of list) items.push(item);
      cursor =
        typeof result?.nextCursor === 'string' && result.nextCursor !== '' ? result.nextCursor : undefined;
      if (!cursor) return items;
      if (seen.has(cursor))
        throw pagingError(
          route,
          method,
          `returned the cursor ${JSON.stringify(cursor)} a second time`,
          call.site,
        );
      seen.add(cursor);
    }
    throw pagingError(route, method, `returned more than ${PAGE_LIMIT} pages`, call.site);
  }
}

/** Whether a listed tool passes the filter (one without a name is not a tool). */
function kept(filter: ToolFilter, tool: unknown): boolean {
  const name = (tool as { name?: unknown } | null)?.name;
  return typeof name === 'string' && toolAllowed(filter, name);
}

/** Waits for a read another caller started, but no longer than this caller's own deadline and signal. */
function joined<T>(shared: Promise<T>, call: Call, server: string, method: string): Promise<T> {
  const what = `${method} on '${server}'`;
  const data = { server, method, stage: 'sent' };
  const { signal } = call;
  if (signal?.aborted) return Promise.reject(stampCallSite(abortError(what, signal.reason, data), call.site));
  return new Promise<T>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      done();
      reject(stampCallSite(abortError(what, signal?.reason, data), call.site));
    };
    const onTimeout = () => {
      done();
      reject(stampCallSite(timeoutError(what, call.timeoutMs, data), call.site));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const left = call.deadline - performance.now();
    if (left <= MAX_TIMER_MS) {
      timer = setTimeout(onTimeout, Math.max(0, left));
    }
    shared.then(
      (value) => {
        done();
        resolve(value);
      },
      (err: unknown) => {
        // The starter's end is not this caller's answer when this caller's own came in the same late
        // turn of the loop (its abort, or its deadline before its timer could run).
        if (signal?.aborted) onAbort();
        else if (call.deadline - performance.now() < 1) onTimeout();
        else {
          done();
          reject(err);
        }
      },
    );
  });
}

function pagingError(
  route: Route,
  method: string,
  what: string,
  site: CallSite | undefined,
): SwitchboardError {
  return stampCallSite(
    new SwitchboardError(
      'E_PROTOCOL',
      `${method} on '${route.sup.name}' ${what}; the listing was stopped (a server bug: its pages would never end)`,
      { data: { server: route.sup.name, method } },
    ),
    site,
  );
}
