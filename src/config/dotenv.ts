/** A line of an env file that was skipped, and why. */
export interface DotenvProblem {
  /** 1-based. */
  line: number;
  reason: string;
}

export interface Dotenv {
  vars: Record<string, string>;
  problems: DotenvProblem[];
}

const ASSIGNMENT = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=[ \t]*(.*)$/;
const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' };

/**
 * Parses the dotenv format of VS Code's and Cursor's `envFile`: `KEY=VALUE` lines, `#` comment lines,
 * blank lines, an optional `export ` prefix. A value may be 'single-quoted' (taken as written) or
 * "double-quoted" (`\n`, `\r`, `\t`, `\"`, `\\` are escapes), and a quoted value may span lines.
 * An unquoted value is trimmed, and ` #` (a `#` after whitespace) starts a comment; a `#` inside a word
 * (`pa#ss`) is kept, as in Docker Compose, so a password is not cut short. A later key wins.
 * Values are not interpolated. Lines that are none of these are skipped and reported.
 */
export function parseDotenv(text: string): Dotenv {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const vars: Record<string, string> = Object.create(null); // a key named __proto__ is a key
  const problems: DotenvProblem[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    const match = ASSIGNMENT.exec(line);
    if (!match) {
      problems.push({ line: i + 1, reason: 'is not KEY=VALUE' });
      continue;
    }
    const [, key, rest] = match as unknown as [string, string, string];
    const quote = rest[0];
    if (quote !== '"' && quote !== "'") {
      vars[key] = rest.replace(/(^|\s)#.*$/, '').trim();
      continue;
    }
    // A quoted value: read on, across lines, to the closing quote.
    const start = i;
    let body = rest.slice(1);
    let end = closingQuote(body, quote);
    while (end === -1 && i + 1 < lines.length) {
      body += `\n${lines[++i]}`;
      end = closingQuote(body, quote);
    }
    if (end === -1) {
      problems.push({ line: start + 1, reason: `has no closing ${quote}` });
      i = start; // the lines after it are read on their own
      continue;
    }
    const after = body.slice(end + 1);
    if (!/^\s*(#.*)?$/.test(after)) {
      problems.push({ line: i + 1, reason: `has text after the closing ${quote}` });
      continue;
    }
    const value = body.slice(0, end);
    vars[key] = quote === "'" ? value : value.replace(/\\(.)/g, (all, c: string) => ESCAPES[c] ?? all);
  }
  return { vars, problems };
}

/** Index of the quote that closes `text` (a backslash escapes the next character inside double quotes). */
function closingQuote(text: string, quote: string): number {
  for (let i = 0; i < text.length; i++) {
    if (quote === '"' && text[i] === '\\') i++;
    else if (text[i] === quote) return i;
  }
  return -1;
}
