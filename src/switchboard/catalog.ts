import { type CallSite, stampCallSite } from '../core/correlator.js';
import { SwitchboardError } from '../core/errors.js';
import type { Params } from '../core/jsonrpc.js';
import { type NameCollision, NameRegistry } from '../core/names.js';
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
  resource: { uri: string; name?: string; [key: string]: unknown };
}

/** What the switchboard knows of one server's tools. */
export interface ServerCatalog {
  tools: Map<string, ToolEntry> | undefined;
  loading: Promise<Map<string, ToolEntry>> | undefined;
  /** The last tool list as the server sent it, to tell whether a restart changed it. */
  key: string | undefined;
}

export interface CatalogContext {
  dispatch(route: Route, method: string, params: Params | undefined, call: Call): Promise<unknown>;
  /** Whether the route is still the one configured under its name. */
  current(route: Route): boolean;
  warning(server: string, error: Error): void;
  /** A server's tool list was read; `changed` when it differs from the one before. */
  loaded(server: string, tools: number, changed: boolean): void;
}

const PAGE_LIMIT = 10_000; // pages per listing: a bound of last resort, under the call's own deadline

/**
 * Catalogs and names: every server's tools (cached, refreshed on list_changed and after a restart),
 * prompts and resources, read page by page under one deadline, and the qualified names that make a
 * tool reachable from the whole switchboard.
 */
export class Catalog {
  readonly #names: NameRegistry;
  readonly #ctx: CatalogContext;

  constructor(separator: string, ctx: CatalogContext) {
    this.#names = new NameRegistry(separator);
    this.#ctx = ctx;
  }

  get separator(): string {
    return this.#names.separator;
  }

  /** Qualified names that two tools wanted; the first keeps it, the second gets one of its own. */
  get collisions(): readonly NameCollision[] {
    return this.#names.collisions;
  }

  resolve(qualifiedName: string): { server: string; name: string } | undefined {
    return this.#names.resolve(qualifiedName);
  }

  /** Forgets a server's names (it was removed). */
  forget(server: string): void {
    this.#names.removeServer(server);
  }

  /** The server says this tool can be repeated: annotated read-only or idempotent. */
  repeatable(route: Route, tool: string): boolean {
    const annotations = route.catalog.tools?.get(tool)?.tool.annotations as
      | { readOnlyHint?: unknown; idempotentHint?: unknown }
      | undefined;
    return annotations?.readOnlyHint === true || annotations?.idempotentHint === true;
  }

  /** A server's tools: the cached map, or read (again, with `refresh`). One read at a time per server. */
  tools(route: Route, call: Call, refresh = false): Promise<Map<string, ToolEntry>> {
    const cat = route.catalog;
    if (cat.tools && !refresh) return Promise.resolve(cat.tools);
    if (cat.loading) return cat.loading;
    const server = route.sup.name;
    const loading = this.list(route, 'tools/list', 'tools', call)
      .then((tools) => {
        if (!this.#ctx.current(route)) return new Map<string, ToolEntry>(); // removed meanwhile
        const key = JSON.stringify(tools);
        const changed = cat.key !== undefined && cat.key !== key;
        cat.key = key;
        cat.tools = this.#index(server, tools);
        this.#ctx.loaded(server, cat.tools.size, changed);
        return cat.tools;
      })
      .finally(() => {
        cat.loading = undefined;
      });
    cat.loading = loading;
    return loading;
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
      const before = this.#names.collisions.length;
      const qualifiedName = this.#names.add(server, tool.name);
      const collision = this.#names.collisions[before];
      if (collision) {
        this.#ctx.warning(
          server,
          new SwitchboardError(
            'E_PROTOCOL',
            `tool '${tool.name}' of '${server}' wants the qualified name '${collision.qualifiedName}', which '${collision.kept.name}' of '${collision.kept.server}' has; it is '${collision.renamed.qualifiedName}' instead (call it by server and tool, or by that name)`,
            { data: { server, tool: tool.name, ...collision } },
          ),
        );
      }
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

  async listPrompts(routes: Route[], calls: (route: Route) => Call): Promise<PromptEntry[]> {
    const lists = await Promise.all(
      routes
        .filter((r) => r.sup.description?.capabilities.prompts)
        .map(async (r) =>
          (await this.list(r, 'prompts/list', 'prompts', calls(r))).map((p) => {
            const prompt = p as PromptEntry['prompt'];
            const qualifiedName = `${r.sup.name}${this.#names.separator}${prompt.name}`;
            return { server: r.sup.name, name: prompt.name, qualifiedName, prompt };
          }),
        ),
    );
    return lists.flat();
  }

  async listResources(routes: Route[], calls: (route: Route) => Call): Promise<ResourceEntry[]> {
    const lists = await Promise.all(
      routes
        .filter((r) => r.sup.description?.capabilities.resources)
        .map(async (r) =>
          (await this.list(r, 'resources/list', 'resources', calls(r))).map((resource) => ({
            server: r.sup.name,
            resource: resource as ResourceEntry['resource'],
          })),
        ),
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
