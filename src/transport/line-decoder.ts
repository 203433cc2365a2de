/**
 * Newline-delimited JSON framing (MCP stdio transport: "messages are delimited by newlines, and MUST NOT
 * contain embedded newlines"). Each complete line is handed over once; a line longer than the limit is
 * skipped whole (up to its newline) and reported, without dropping the lines around it.
 */
export interface LineSink {
  line(text: string): void;
  /** A line over the limit was skipped; `head` is its first bytes, to tell whose answer it was. */
  oversized(bytes: number, head: string): void;
}

/** How much of an oversized line is kept to find its id. */
const HEAD_BYTES = 256;

export class LineDecoder {
  #max: number;
  #sink: LineSink;
  #parts: Buffer[] = [];
  #partBytes = 0;
  #skipping = 0; // > 0 while discarding the rest of an oversized line: bytes seen so far
  #skipHead = '';

  constructor(maxLineBytes: number, sink: LineSink) {
    this.#max = maxLineBytes;
    this.#sink = sink;
  }

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl === -1) break;
      if (this.#skipping > 0) {
        const total = this.#skipping + (nl - start);
        this.#skipping = 0;
        this.#sink.oversized(total, this.#skipHead);
      } else if (this.#partBytes + (nl - start) > this.#max) {
        const total = this.#partBytes + (nl - start);
        const head = this.#head(chunk, start, nl);
        this.#reset();
        this.#sink.oversized(total, head);
      } else {
        let text: string;
        if (this.#parts.length === 0) text = chunk.toString('utf8', start, nl);
        else {
          this.#parts.push(chunk.subarray(start, nl));
          text = Buffer.concat(this.#parts).toString('utf8');
          this.#reset();
        }
        if (text.length > 0 && text.charCodeAt(text.length - 1) === 13) text = text.slice(0, -1);
        if (text.length > 0) this.#sink.line(text);
      }
      start = nl + 1;
    }
    if (start >= chunk.length) return;
    const rest = chunk.length - start;
    if (this.#skipping > 0) this.#skipping += rest;
    else if (this.#partBytes + rest > this.#max) {
      this.#skipping = this.#partBytes + rest;
      this.#skipHead = this.#head(chunk, start, chunk.length);
      this.#reset();
    } else {
      // Copy: the stream may reuse the chunk's memory.
      this.#parts.push(Buffer.from(chunk.subarray(start)));
      this.#partBytes += rest;
    }
  }

  /** Bytes held for a line that has not ended yet. */
  get buffered(): number {
    return this.#partBytes;
  }

  /** The first HEAD_BYTES of the line held so far plus `chunk[start, end)`. */
  #head(chunk: Buffer, start: number, end: number): string {
    const held = Buffer.concat(this.#parts);
    const head =
      held.length >= HEAD_BYTES
        ? held.subarray(0, HEAD_BYTES)
        : Buffer.concat([held, chunk.subarray(start, Math.min(end, start + HEAD_BYTES - held.length))]);
    return head.toString('utf8');
  }

  #reset(): void {
    this.#parts = [];
    this.#partBytes = 0;
  }
}
