/**
 * Glob patterns for names (tool names in a server's `tools.allow` / `tools.deny`), matched by a small
 * interpreter of our own rather than by a RegExp built from the pattern, so that no pattern can inject
 * regex syntax or make matching slow: a match costs at most (pattern length x name length) steps.
 *
 * The whole name must match (anchored at both ends), case-sensitively, code point by code point:
 * - `*` any run of characters, the empty one included;
 * - `?` exactly one character;
 * - `[abc]`, `[a-z0-9_]` one character of the set; `[!abc]` or `[^abc]` one character not in it; a `]`
 *   right after `[` (or `[!`) is a member, and so is a `-` first or last;
 * - `\` makes the next character literal (`\*` is a star, `\\` a backslash);
 * - every other character is itself.
 */

type Token =
  | { kind: 'char'; cp: number }
  | { kind: 'any' }
  | { kind: 'star' }
  | { kind: 'class'; negated: boolean; ranges: [number, number][] };

/** Longest pattern accepted: far beyond any real tool name (the MCP spec caps those at 128). */
export const MAX_GLOB_LENGTH = 256;

export class Glob {
  readonly source: string;
  readonly #tokens: readonly Token[];

  /** Compiles a pattern; throws a RangeError that says what is wrong and where (1-based character). */
  constructor(pattern: string) {
    if (typeof pattern !== 'string') throw new RangeError('a pattern must be a string');
    if (pattern.length === 0) throw new RangeError('a pattern must not be empty');
    if (pattern.length > MAX_GLOB_LENGTH)
      throw new RangeError(`a pattern must be at most ${MAX_GLOB_LENGTH} characters`);
    this.source = pattern;
    this.#tokens = parse(pattern);
  }

  /** Whether the whole of `name` matches. */
  matches(name: string): boolean {
    const tokens = this.#tokens;
    const chars = Array.from(name, (c) => c.codePointAt(0)!);
    // Greedy with one backtrack point, the last star: every other token takes exactly one character, so
    // on a mismatch only the last star needs to take one character more (the classic wildcard match).
    let t = 0;
    let i = 0;
    let star = -1;
    let starAt = 0;
    while (i < chars.length) {
      const token = tokens[t];
      if (token !== undefined && token.kind === 'star') {
        star = t++;
        starAt = i;
      } else if (token !== undefined && one(token, chars[i]!)) {
        t++;
        i++;
      } else if (star >= 0) {
        t = star + 1;
        i = ++starAt;
      } else return false;
    }
    while (tokens[t]?.kind === 'star') t++;
    return t === tokens.length;
  }
}

/** The pattern that matches exactly `name`: its special characters escaped. */
export function escapeGlob(name: string): string {
  return name.replace(/[*?[\\]/g, (c) => `\\${c}`);
}

function one(token: Exclude<Token, { kind: 'star' }>, cp: number): boolean {
  switch (token.kind) {
    case 'char':
      return token.cp === cp;
    case 'any':
      return true;
    case 'class':
      return token.ranges.some(([lo, hi]) => cp >= lo && cp <= hi) !== token.negated;
  }
}

function parse(pattern: string): Token[] {
  const chars = Array.from(pattern);
  const tokens: Token[] = [];
  let i = 0;
  const literal = (at: number): number => {
    // A backslash makes the next character literal; one at the very end has nothing to escape.
    if (chars[at] !== '\\') return chars[at]!.codePointAt(0)!;
    if (at + 1 >= chars.length)
      throw new RangeError(`a '\\' at character ${at + 1} escapes nothing; write '\\\\' for a backslash`);
    return chars[at + 1]!.codePointAt(0)!;
  };
  while (i < chars.length) {
    const c = chars[i]!;
    if (c === '*') {
      if (tokens.at(-1)?.kind !== 'star') tokens.push({ kind: 'star' }); // `**` is `*`
      i++;
    } else if (c === '?') {
      tokens.push({ kind: 'any' });
      i++;
    } else if (c === '[') {
      const start = i;
      i++;
      const negated = chars[i] === '!' || chars[i] === '^';
      if (negated) i++;
      const ranges: [number, number][] = [];
      let first = true;
      while (i < chars.length && (chars[i] !== ']' || first)) {
        first = false;
        const lo = literal(i);
        i += chars[i] === '\\' ? 2 : 1;
        // `a-z` is a range; a `-` right before the closing `]` is itself.
        if (chars[i] === '-' && i + 1 < chars.length && chars[i + 1] !== ']') {
          const hi = literal(i + 1);
          i += chars[i + 1] === '\\' ? 3 : 2;
          if (hi < lo) {
            throw new RangeError(
              `the range '${String.fromCodePoint(lo)}-${String.fromCodePoint(hi)}' at character ${start + 1} is backwards; write '${String.fromCodePoint(hi)}-${String.fromCodePoint(lo)}'`,
            );
          }
          ranges.push([lo, hi]);
        } else ranges.push([lo, lo]);
      }
      if (i >= chars.length) {
        throw new RangeError(
          `the '[' at character ${start + 1} opens a character class that is never closed; close it with ']' or write '\\[' for a literal '['`,
        );
      }
      i++; // the closing `]`
      tokens.push({ kind: 'class', negated, ranges });
    } else {
      tokens.push({ kind: 'char', cp: literal(i) });
      i += c === '\\' ? 2 : 1;
    }
  }
  return tokens;
}
