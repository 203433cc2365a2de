/**
 * Qualified names: `server` + separator + `tool`, reversible through the registry that made them, at most
 * `maxLength` characters (64 by default: what most model APIs accept for a function name). A name that
 * would be longer keeps its head and gets a stable hash of the whole, so the same pair always maps to the
 * same name. Two pairs that land on one name are reported: the first keeps it, the second gets the name
 * with a hash of its own pair appended, so every pair stays reachable by a name of its own.
 */

export const DEFAULT_SEPARATOR = '__';
export const DEFAULT_MAX_LENGTH = 64;

export interface QualifiedRef {
  server: string;
  name: string;
}

export interface NameCollision {
  /** The name both wanted. */
  qualifiedName: string;
  /** The pair that has it. */
  kept: QualifiedRef;
  /** The pair that came second, and the name it got instead. */
  renamed: QualifiedRef & { qualifiedName: string };
}

/** FNV-1a, 32 bits, as 8 hex digits: stable across runs and machines, and cheap. */
export function stableHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

export function qualify(
  server: string,
  name: string,
  separator = DEFAULT_SEPARATOR,
  maxLength = DEFAULT_MAX_LENGTH,
): string {
  const full = `${server}${separator}${name}`;
  if (full.length <= maxLength) return full;
  const suffix = `_${stableHash(full)}`;
  return `${full.slice(0, Math.max(0, maxLength - suffix.length))}${suffix}`;
}

/** Told when a pair's qualified name changes because a pair that comes before it took the name. */
export type RenameListener = (ref: QualifiedRef, qualifiedName: string) => void;

/**
 * The qualified names in use, and who has each. When two pairs want one name, the one whose server
 * comes first (`rank`: the config's order) has it, whatever order they were registered in, and the
 * other gets the name with a hash of its own pair. A pair that registers after a later-ranked pair took
 * its name takes it over; the other is renamed (and `onRename` is told). Removing a server frees its
 * names but renames nobody back, so that a server that restarts does not move the names of others.
 */
export class NameRegistry {
  readonly separator: string;
  readonly maxLength: number;
  #byQualified = new Map<string, QualifiedRef>();
  /** For each name wanted by pairs that do not have it: those pairs, and the names they have instead. */
  #displaced = new Map<string, Map<string, QualifiedRef & { qualifiedName: string }>>();
  #rank: (server: string) => number;
  #onRename: RenameListener | undefined;

  constructor(
    separator = DEFAULT_SEPARATOR,
    maxLength = DEFAULT_MAX_LENGTH,
    opts: { rank?: (server: string) => number; onRename?: RenameListener } = {},
  ) {
    if (separator.length === 0) throw new RangeError('the name separator must not be empty');
    if (maxLength < 16) throw new RangeError('qualified names need at least 16 characters');
    this.separator = separator;
    this.maxLength = maxLength;
    this.#rank = opts.rank ?? (() => 0);
    this.#onRename = opts.onRename;
  }

  /**
   * Registers a pair and returns its qualified name: the plain one, or, if a pair that comes first has
   * that, one with its own hash (reported in `collisions`). Undefined only if even that is taken.
   */
  add(server: string, name: string): string | undefined {
    const wanted = qualify(server, name, this.separator, this.maxLength);
    const held = this.#byQualified.get(wanted);
    if (!held || same(held, server, name)) {
      this.#byQualified.set(wanted, { server, name });
      return wanted;
    }
    if (this.#rank(server) < this.#rank(held.server)) {
      // This pair comes first: it takes the name, and the pair that had it moves to one of its own.
      const moved = this.#takeRenamed(wanted, held.server, held.name);
      if (moved !== undefined) {
        this.#byQualified.set(wanted, { server, name });
        this.#onRename?.(held, moved);
        return wanted;
      }
    }
    return this.#takeRenamed(wanted, server, name);
  }

  /**
   * Gives a pair a name made of its own hash, in place of `wanted`: one no other pair has, and not
   * `wanted` itself (a pair that already holds its hashed name and is displaced again needs another).
   */
  #takeRenamed(wanted: string, server: string, name: string): string | undefined {
    const full = `${server}${this.separator}${name}`;
    for (let attempt = 0; attempt < 16; attempt++) {
      // The pair, not the joined name, is hashed: `a`/`_b` and `a_`/`b` join to the same text.
      const seed = attempt === 0 ? `${server}\u0000${name}` : `${server}\u0000${name}\u0000${attempt}`;
      const suffix = `_${stableHash(seed)}`;
      const renamed = `${full.slice(0, Math.max(0, this.maxLength - suffix.length))}${suffix}`;
      if (renamed === wanted) continue;
      const other = this.#byQualified.get(renamed);
      if (other && !same(other, server, name)) continue;
      // Whatever name this pair had before is no longer its own, nor any report of it.
      for (const [q, ref] of this.#byQualified)
        if (q !== renamed && q !== wanted && same(ref, server, name)) this.#byQualified.delete(q);
      const key = `${server}\u0000${name}`;
      for (const [w, pairs] of this.#displaced) {
        pairs.delete(key);
        if (pairs.size === 0) this.#displaced.delete(w);
      }
      this.#byQualified.set(renamed, { server, name });
      // Reported under the name the pair wants, its own plain one, whichever pair it lost to last.
      const own = qualify(server, name, this.separator, this.maxLength);
      const pairs = this.#displaced.get(own) ?? new Map();
      this.#displaced.set(own, pairs);
      pairs.set(key, { server, name, qualifiedName: renamed });
      return renamed;
    }
    return undefined;
  }

  resolve(qualifiedName: string): QualifiedRef | undefined {
    return this.#byQualified.get(qualifiedName);
  }

  /**
   * The ranks changed (a reload reordered the config): every contested name goes to the pair that comes
   * first now, and the pair that had it moves to a name of its own (`onRename` is told of both).
   */
  rerank(): void {
    for (const [wanted, pairs] of [...this.#displaced]) {
      const holder = this.#byQualified.get(wanted);
      if (!holder) continue;
      let best: (QualifiedRef & { qualifiedName: string }) | undefined;
      for (const pair of pairs.values()) {
        if (this.#rank(pair.server) < this.#rank((best ?? holder).server)) best = pair;
      }
      if (!best) continue;
      const promoted = { server: best.server, name: best.name };
      pairs.delete(`${best.server}\u0000${best.name}`);
      const moved = this.#takeRenamed(wanted, holder.server, holder.name);
      if (moved === undefined) continue;
      this.#byQualified.delete(best.qualifiedName);
      this.#byQualified.set(wanted, promoted);
      this.#onRename?.(holder, moved);
      this.#onRename?.(promoted, wanted);
    }
  }

  /** Forgets every name of one server (its catalog is about to be replaced). */
  removeServer(server: string): void {
    for (const [q, ref] of this.#byQualified) if (ref.server === server) this.#byQualified.delete(q);
    for (const [wanted, pairs] of this.#displaced) {
      for (const [key, ref] of pairs) if (ref.server === server) pairs.delete(key);
      if (pairs.size === 0) this.#displaced.delete(wanted);
    }
  }

  /** Every name two pairs want, while both are registered: who has it, and what the other has instead. */
  get collisions(): readonly NameCollision[] {
    const out: NameCollision[] = [];
    for (const [qualifiedName, pairs] of this.#displaced) {
      const kept = this.#byQualified.get(qualifiedName);
      if (!kept) continue;
      for (const renamed of pairs.values()) out.push({ qualifiedName, kept, renamed });
    }
    return out;
  }
}

function same(ref: QualifiedRef, server: string, name: string): boolean {
  return ref.server === server && ref.name === name;
}
