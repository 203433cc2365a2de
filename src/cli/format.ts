/** Plain-text tables and tool results for people; --json output skips all of this. */

export function table(rows: string[][], header: string[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function firstLine(text: string | undefined, max = 80): string {
  const line = (text ?? '').split('\n')[0]?.trim() ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

interface ContentBlock {
  type?: string;
  text?: string;
  mimeType?: string;
  data?: string;
  uri?: string;
  resource?: { uri?: string; text?: string; mimeType?: string };
  [key: string]: unknown;
}

/** Renders a tool result's content blocks: text as text, everything else as a one-line summary. */
export function renderContent(result: { content?: unknown[]; structuredContent?: unknown }): string {
  const blocks = (result.content ?? []) as ContentBlock[];
  const parts: string[] = [];
  for (const b of blocks) {
    switch (b.type) {
      case 'text':
        parts.push(b.text ?? '');
        break;
      case 'image':
      case 'audio':
        parts.push(`[${b.type} ${b.mimeType ?? ''}, ${Math.floor(((b.data?.length ?? 0) * 3) / 4)} bytes]`);
        break;
      case 'resource':
        parts.push(b.resource?.text ?? `[resource ${b.resource?.uri ?? ''}]`);
        break;
      case 'resource_link':
        parts.push(`[link ${b.uri ?? ''}]`);
        break;
      default:
        parts.push(JSON.stringify(b));
    }
  }
  if (parts.length === 0 && result.structuredContent !== undefined) {
    parts.push(JSON.stringify(result.structuredContent, null, 2));
  }
  return parts.join('\n');
}
