/**
 * Where the gateway keeps what it knows of its 2025-era sessions, behind one small interface. The
 * in-memory store serves one process; a store over shared storage lets several gateway replicas behind
 * a balancer agree on which sessions exist (the live transport of a session stays in the process that
 * opened it, so the balancer must keep a session on its replica).
 */
export interface SessionRecord {
  id: string;
  /** The endpoint the session was opened on (`/mcp` or `/servers/<name>/mcp`). */
  path: string;
  /** Its scope key: which session-scoped upstreams and limits it uses. */
  key: string;
  createdAt: number;
  lastSeen: number;
}

export interface SessionStore {
  create(record: SessionRecord): void;
  get(id: string): SessionRecord | undefined;
  touch(id: string, now: number): void;
  delete(id: string): void;
  /** Ids of the sessions not seen for `idleMs` by `now`. */
  expired(now: number, idleMs: number): string[];
  readonly size: number;
}

export class InMemorySessionStore implements SessionStore {
  readonly #records = new Map<string, SessionRecord>();

  create(record: SessionRecord): void {
    this.#records.set(record.id, { ...record });
  }

  get(id: string): SessionRecord | undefined {
    const record = this.#records.get(id);
    return record ? { ...record } : undefined;
  }

  touch(id: string, now: number): void {
    const record = this.#records.get(id);
    if (record) record.lastSeen = now;
  }

  delete(id: string): void {
    this.#records.delete(id);
  }

  expired(now: number, idleMs: number): string[] {
    const out: string[] = [];
    for (const record of this.#records.values()) if (now - record.lastSeen >= idleMs) out.push(record.id);
    return out;
  }

  get size(): number {
    return this.#records.size;
  }
}
