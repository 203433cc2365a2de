/**
 * Which upstream a resource URI belongs to, in the aggregate at `/mcp`.
 *
 * The rule (README, "Resources through the gateway"): URIs pass through unchanged, so a link a tool
 * returned can be read back as it is. A URI is routed to, in this order:
 * 1. the server named by the explicit form `switchboard://<server>/<the URI, percent-encoded>`;
 * 2. the first server, in config order, whose `resources/list` lists it;
 * 3. the server whose tool result last carried it (a `resource_link` or an embedded resource);
 * 4. the first server, in config order, with a resource template that matches it.
 * When two servers list the same URI, the first keeps it, and the others' copies are listed in the
 * explicit form, which reads them from their own server.
 */
import { UriTemplate } from '@modelcontextprotocol/server';

const EXPLICIT = 'switchboard://';
/** How many URIs from tool results are remembered (oldest forgotten first). */
const MAX_LINKS = 10_000;
/** A URI nobody listed makes the gateway read the lists again, at most this often. */
const RELIST_AFTER_MS = 5000;

export function explicitUri(server: string, uri: string): string {
  return `${EXPLICIT}${encodeURIComponent(server)}/${encodeURIComponent(uri)}`;
}

export function parseExplicit(uri: string): { server: string; uri: string } | undefined {
  if (!uri.startsWith(EXPLICIT)) return undefined;
  const rest = uri.slice(EXPLICIT.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return undefined;
  try {
    return {
      server: decodeURIComponent(rest.slice(0, slash)),
      uri: decodeURIComponent(rest.slice(slash + 1)),
    };
  } catch {
    return undefined;
  }
}

export class ResourceIndex {
  readonly #owners = new Map<string, string>();
  readonly #links = new Map<string, string>();
  readonly #templates = new Map<string, { template: string; matcher: UriTemplate | undefined }[]>();
  readonly #order: () => string[];
  /** When a resource list was last read (-Infinity: never). */
  #publishedAt = Number.NEGATIVE_INFINITY;

  constructor(order: () => string[]) {
    this.#order = order;
  }

  /** The aggregate's resource list: owners recorded, a colliding copy listed in the explicit form. */
  publish(
    listed: { server: string; resource: Record<string, unknown> & { uri: string } }[],
    order: string[],
  ): Record<string, unknown>[] {
    const rank = new Map(order.map((name, i) => [name, i]));
    const sorted = [...listed].sort((a, b) => (rank.get(a.server) ?? 0) - (rank.get(b.server) ?? 0));
    const owners = new Map<string, string>();
    const out: Record<string, unknown>[] = [];
    for (const { server, resource } of sorted) {
      const owner = owners.get(resource.uri);
      if (owner === undefined) {
        owners.set(resource.uri, server);
        out.push(resource);
      } else if (owner !== server) out.push({ ...resource, uri: explicitUri(server, resource.uri) });
    }
    this.#publishedAt = performance.now();
    this.#owners.clear();
    for (const [uri, server] of owners) this.#owners.set(uri, server);
    return out;
  }

  templates(server: string, templates: Record<string, unknown>[]): void {
    this.#templates.set(
      server,
      templates
        .filter((t): t is { uriTemplate: string } => typeof t.uriTemplate === 'string')
        .map((t) => {
          let matcher: UriTemplate | undefined;
          try {
            matcher = new UriTemplate(t.uriTemplate);
          } catch {
            matcher = undefined;
          }
          return { template: t.uriTemplate, matcher };
        }),
    );
  }

  /** Records the URIs a tool result of `server` carries. */
  remember(server: string, result: { content?: unknown }): void {
    if (!Array.isArray(result.content)) return;
    for (const block of result.content as { type?: string; uri?: unknown; resource?: { uri?: unknown } }[]) {
      const uri =
        block?.type === 'resource_link'
          ? block.uri
          : block?.type === 'resource'
            ? block.resource?.uri
            : undefined;
      if (typeof uri !== 'string') continue;
      this.#links.delete(uri);
      this.#links.set(uri, server);
      if (this.#links.size > MAX_LINKS) this.#links.delete(this.#links.keys().next().value as string);
    }
  }

  /** The server (and its own URI) a client's URI reads from; undefined when no rule places it. */
  async route(
    uri: string,
    loadTemplates: () => Promise<unknown>,
    loadList: () => Promise<unknown>,
  ): Promise<{ server: string; uri: string } | undefined> {
    const explicit = parseExplicit(uri);
    if (explicit) return this.#order().includes(explicit.server) ? explicit : undefined;
    let owner = this.#owners.get(uri) ?? this.#links.get(uri);
    // Not known (yet): read the lists, then look again, so a read never depends on an earlier list.
    if (!owner && performance.now() - this.#publishedAt > RELIST_AFTER_MS) {
      await loadList().catch(() => {});
      owner = this.#owners.get(uri);
    }
    if (owner) return { server: owner, uri };
    if (this.#templates.size === 0) await loadTemplates().catch(() => {});
    for (const server of this.#order())
      for (const t of this.#templates.get(server) ?? []) if (t.matcher?.match(uri)) return { server, uri };
    return undefined;
  }
}
