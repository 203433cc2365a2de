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

export class NameRegistry {
  readonly separator: string;
  readonly maxLength: number;
  #byQualified = new Map<string, QualifiedRef>();
  #collisions: NameCollision[] = [];

  constructor(separator = DEFAULT_SEPARATOR, maxLength = DEFAULT_MAX_LENGTH) {
    if (separator.length === 0) throw new RangeError('the name separator must not be empty');
    if (maxLength < 16) throw new RangeError('qualified names need at least 16 characters');
    this.separator = separator;
    this.maxLength = maxLength;
  }

  /**
   * Registers a pair and returns its qualified name. If another pair holds that name already, this one
   * gets a name with its own hash (reported in `collisions`); undefined only if even that is taken.
   */
  add(server: string, name: string): string | undefined {
    const qualifiedName = qualify(server, name, this.separator, this.maxLength);
    const held = this.#byQualified.get(qualifiedName);
    if (!held || (held.server === server && held.name === name)) {
      this.#byQualified.set(qualifiedName, { server, name });
      return qualifiedName;
    }
    // The pair, not the joined name, is hashed: `a`/`_b` and `a_`/`b` join to the same text.
    const suffix = `_${stableHash(`${server}\u0000${name}`)}`;
    const full = `${server}${this.separator}${name}`;
    const renamed = `${full.slice(0, Math.max(0, this.maxLength - suffix.length))}${suffix}`;
    const other = this.#byQualified.get(renamed);
    if (other) return other.server === server && other.name === name ? renamed : undefined;
    this.#byQualified.set(renamed, { server, name });
    this.#collisions.push({ qualifiedName, kept: held, renamed: { server, name, qualifiedName: renamed } });
    return renamed;
  }

  resolve(qualifiedName: string): QualifiedRef | undefined {
    return this.#byQualified.get(qualifiedName);
  }

  /** Forgets every name of one server (its catalog is about to be replaced). */
  removeServer(server: string): void {
    for (const [q, ref] of this.#byQualified) if (ref.server === server) this.#byQualified.delete(q);
    this.#collisions = this.#collisions.filter(
      (c) => c.kept.server !== server && c.renamed.server !== server,
    );
  }

  get collisions(): readonly NameCollision[] {
    return this.#collisions;
  }
}
