import { SwitchboardError } from '../core/errors.js';
import { configError } from './error.js';
import { escapeGlob, Glob } from './glob.js';

/**
 * Which of a server's tools the switchboard exposes (`"tools": { "allow": [...], "deny": [...] }` in its
 * entry), as glob patterns on the server's own tool names (see glob.ts). A tool is kept when it matches
 * some `allow` pattern (or there is no `allow`) and no `deny` pattern. An empty `allow` keeps nothing.
 */
export interface ToolFilter {
  allow?: string[] | undefined;
  deny?: string[] | undefined;
}

/** Patterns per list: a bound, far above any real use. */
export const MAX_FILTER_PATTERNS = 256;

const LISTS = ['allow', 'deny'] as const;
const KNOWN = new Set<string>(LISTS);

interface Compiled {
  allow: Glob[] | undefined;
  deny: Glob[];
}

/** Compiled once per filter object (a config is parsed once; its objects are not changed after). */
const compiledFilters = new WeakMap<ToolFilter, Compiled>();

function compile(filter: ToolFilter): Compiled {
  let c = compiledFilters.get(filter);
  if (!c) {
    c = { allow: filter.allow?.map((p) => new Glob(p)), deny: (filter.deny ?? []).map((p) => new Glob(p)) };
    compiledFilters.set(filter, c);
  }
  return c;
}

/** Why the filter hides a tool, or undefined when it keeps it. */
export type FilterReason = { deny: string } | { allow: readonly string[] };

export function filteredBy(filter: ToolFilter | undefined, name: string): FilterReason | undefined {
  if (!filter) return undefined;
  const c = compile(filter);
  const denied = c.deny.find((g) => g.matches(name));
  if (denied) return { deny: denied.source };
  if (c.allow && !c.allow.some((g) => g.matches(name))) return { allow: filter.allow ?? [] };
  return undefined;
}

export function toolAllowed(filter: ToolFilter | undefined, name: string): boolean {
  return filteredBy(filter, name) === undefined;
}

/** The patterns that match none of `names` (likely typos), in the order written. */
export function unmatchedPatterns(
  filter: ToolFilter | undefined,
  names: readonly string[],
): { list: 'allow' | 'deny'; pattern: string }[] {
  if (!filter) return [];
  const c = compile(filter);
  const out: { list: 'allow' | 'deny'; pattern: string }[] = [];
  for (const list of LISTS) {
    for (const glob of c[list] ?? []) {
      if (!names.some((n) => glob.matches(n))) out.push({ list, pattern: glob.source });
    }
  }
  return out;
}

/**
 * E_TOOL_FILTERED: the server may well have the tool, but this switchboard's config hides it. The
 * message says which pattern does it and what to change.
 */
export function toolFilteredError(server: string, tool: string, reason: FilterReason): SwitchboardError {
  const literal = JSON.stringify(escapeGlob(tool));
  const why =
    'deny' in reason
      ? `it matches the pattern ${JSON.stringify(reason.deny)} in tools.deny of server '${server}'; remove or narrow that pattern in the config to allow it`
      : `it matches no pattern in tools.allow of server '${server}' (${reason.allow.length ? reason.allow.map((p) => JSON.stringify(p)).join(', ') : 'an empty list'}); add ${literal} (or a pattern that matches it) to that list in the config to allow it`;
  return new SwitchboardError('E_TOOL_FILTERED', `tool '${tool}' of '${server}' is filtered out: ${why}`, {
    data: { server, tool, ...reason },
  });
}

/**
 * Validates the `tools` key of a server entry. Unlike most unknown keys (warned about and ignored), an
 * unknown key here is an error: a misspelt `"alow"` ignored would expose every tool the filter was
 * written to hide.
 */
export function parseToolFilter(
  value: unknown,
  where: string,
  path: string,
  suggest: (key: string, known: ReadonlySet<string>) => string | undefined,
): ToolFilter | undefined {
  if (value === undefined) return undefined;
  const example = '{ "allow": ["read_*"], "deny": ["*delete*"] }';
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw configError(where, path, `expected an object such as ${example}, not ${kind(value)}`);
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (KNOWN.has(key)) continue;
    const meant = suggest(key, KNOWN);
    throw configError(
      where,
      `${path}.${key}`,
      `unknown key${meant ? ` (did you mean '${meant}'?)` : ''}: a tool filter has only "allow" and "deny"; a typo here is an error, not ignored, as it could expose tools meant to be hidden`,
    );
  }
  const filter: ToolFilter = {};
  for (const list of LISTS) {
    const patterns = record[list];
    if (patterns === undefined) continue;
    if (!Array.isArray(patterns)) {
      throw configError(
        where,
        `${path}.${list}`,
        `expected an array of glob patterns such as ["read_*", "list?"], not ${kind(patterns)}`,
      );
    }
    if (patterns.length > MAX_FILTER_PATTERNS) {
      throw configError(
        where,
        `${path}.${list}`,
        `has ${patterns.length} patterns; at most ${MAX_FILTER_PATTERNS} are allowed (combine them with * and ?)`,
      );
    }
    patterns.forEach((pattern, i) => {
      const at = `${path}.${list}[${i}]`;
      if (typeof pattern !== 'string') {
        throw configError(where, at, `expected a glob pattern (a string), not ${kind(pattern)}`);
      }
      try {
        new Glob(pattern);
      } catch (err) {
        throw configError(
          where,
          at,
          `${JSON.stringify(pattern)} is not a valid pattern: ${(err as Error).message}`,
          err,
        );
      }
    });
    filter[list] = [...(patterns as string[])];
  }
  return filter;
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}
