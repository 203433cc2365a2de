/**
 * Which switchboard serves a server for a downstream session. Servers of `scope: "shared"` (the default)
 * live in one switchboard that every session uses. A server of `scope: "session"` gets its own process
 * per scope key (a 2025-era session's id, or a 2026-07-28 client's identity), started on first use,
 * capped at the entry's `maxSessions`, ended when its key is released or has been idle `idleMs`.
 */
import type { ServerConfig, SwitchboardConfig } from '../config/config.js';
import { SwitchboardError } from '../core/errors.js';
import { type StartOptions, Switchboard, type SwitchboardEvents } from '../switchboard/switchboard.js';

export type Scope = 'shared' | 'session';

export function scopeOf(server: ServerConfig): Scope {
  return server.scope === 'session' ? 'session' : 'shared';
}

/** One key's own instance of one session-scoped server. */
interface Scoped {
  key: string;
  server: string;
  sb: Promise<Switchboard>;
  lastUsed: number;
  /** Calls running on it now: an instance with calls is never idle. */
  busy: number;
  /** Its switchboard has started (idle time counts from then). */
  started: boolean;
}

export type ListKind = 'tools' | 'resources' | 'prompts';

const LIST_CHANGED: Readonly<Record<string, ListKind>> = {
  'notifications/tools/list_changed': 'tools',
  'notifications/resources/list_changed': 'resources',
  'notifications/prompts/list_changed': 'prompts',
};

export interface UpstreamEvents {
  /**
   * A list of `server` changed, for the sessions of `key` (undefined: every session). Tools: once the
   * switchboard has read the new list and found it different (a restart included).
   */
  listChanged(kind: ListKind, server: string, key: string | undefined): void;
  log(event: SwitchboardEvents['log'][0], key: string | undefined): void;
  /** `notifications/resources/updated` from `server` (of `key`'s own instance, or the shared one). */
  resourceUpdated(server: string, key: string | undefined, params: Record<string, unknown>): void;
  warning(event: SwitchboardEvents['warning'][0]): void;
}

function listeners(events: UpstreamEvents, key: string | undefined): StartOptions['on'] {
  return {
    catalog: ({ server, changed }) => changed && events.listChanged('tools', server, key),
    notification: ({ server, message }) => {
      if (message.method === 'notifications/resources/updated')
        events.resourceUpdated(server, key, (message.params ?? {}) as Record<string, unknown>);
      const kind = LIST_CHANGED[message.method];
      // Tools are reported once re-read (above); resources and prompts as the server says.
      if (kind && kind !== 'tools') events.listChanged(kind, server, key);
    },
    log: (event) => events.log(event, key),
    warning: (event) => events.warning(event),
  };
}

export class Upstreams {
  readonly shared: Switchboard;
  readonly #config: SwitchboardConfig;
  #longestFirst: string[] | undefined;
  readonly #scoped = new Map<string, Scoped>();
  readonly #events: UpstreamEvents;
  #reaper: NodeJS.Timeout | undefined;
  #closed = false;
  /** Instances on their way out (reaped, released, or closing with the gateway), until they are closed. */
  readonly #ending = new Set<Promise<Switchboard>>();
  /** The config entries by name. */
  readonly #entries: Map<string, ServerConfig>;

  private constructor(shared: Switchboard, config: SwitchboardConfig, events: UpstreamEvents) {
    this.shared = shared;
    this.#config = config;
    this.#entries = new Map(config.servers.map((e) => [e.name, e]));
    this.#events = events;
  }

  static async start(
    config: SwitchboardConfig,
    events: UpstreamEvents,
    opts: { signal?: AbortSignal | undefined } = {},
  ): Promise<Upstreams> {
    const shared = config.servers.filter((s) => scopeOf(s) === 'shared').map((s) => s.name);
    // The session-scoped entries stay configured in the shared switchboard, but disabled: their names
    // stay known (an unknown-server error lists them), and no process runs for them there.
    const sb = await Switchboard.start(config, {
      signal: opts.signal,
      only: shared,
      on: listeners(events, undefined),
      // A gateway's errors reach remote clients as JSON-RPC errors, never as a stack: no stack walk per call.
      captureCallSites: false,
    });
    return new Upstreams(sb, config, events);
  }

  get config(): SwitchboardConfig {
    return this.#config;
  }

  /** Every configured server's name, in config order. */
  names(): string[] {
    return this.#config.servers.map((s) => s.name);
  }

  /** The server names, longest first (a name's prefix is matched against them in this order). */
  namesLongestFirst(): readonly string[] {
    this.#longestFirst ??= this.names().sort((a, b) => b.length - a.length);
    return this.#longestFirst;
  }

  entry(server: string): ServerConfig | undefined {
    return this.#entries.get(server);
  }

  isScoped(server: string): boolean {
    const entry = this.entry(server);
    return entry !== undefined && scopeOf(entry) === 'session';
  }

  /**
   * The switchboard that serves `server` for `key`. A session-scoped server starts its instance for
   * `key` on first use; `E_QUEUE_FULL` when `maxSessions` instances already run for other keys.
   */
  async forServer(server: string, key: string): Promise<Switchboard> {
    const entry = this.entry(server);
    if (!entry || scopeOf(entry) === 'shared') return this.shared;
    if (this.#closed) throw new SwitchboardError('E_CLOSED', 'the gateway is shutting down');
    const id = `${server}\0${key}`;
    const known = this.#scoped.get(id);
    if (known) {
      known.lastUsed = Date.now();
      return known.sb;
    }
    const max = entry.maxSessions;
    const running = [...this.#scoped.values()].filter((s) => s.server === server).length;
    if (running >= max)
      throw new SwitchboardError(
        'E_QUEUE_FULL',
        `server '${server}' runs one process per session and ${running} sessions have one (maxSessions ${max}); ` +
          'end an idle session, or raise maxSessions in its config entry',
      );
    const scoped: Scoped = {
      key,
      server,
      lastUsed: Date.now(),
      busy: 0,
      started: false,
      sb: undefined as never,
    };
    scoped.sb = Switchboard.start(this.#config, {
      only: [server],
      on: listeners(this.#events, key),
      captureCallSites: false,
    });
    this.#scoped.set(id, scoped);
    // Idle time counts from when it is ready: a start is never idle.
    scoped.sb.then(
      () => {
        scoped.started = true;
        scoped.lastUsed = Date.now();
      },
      () => {
        if (this.#scoped.get(id) === scoped) this.#scoped.delete(id);
      },
    );
    this.#arm();
    return scoped.sb;
  }

  /**
   * Marks work running on `key`'s instance of `server` (call it right after `forServer`, in the same
   * turn), so the idle reaper leaves that instance alone; the returned release ends the mark, once, on
   * that same instance (not on a newer one under the same name).
   */
  hold(server: string, key: string): (() => void) | undefined {
    const scoped = this.#scoped.get(`${server}\0${key}`);
    if (!scoped) return undefined;
    scoped.busy++;
    scoped.lastUsed = Date.now();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      scoped.busy--;
      scoped.lastUsed = Date.now();
    };
  }

  /** The session-scoped servers, in config order. */
  scopedNames(): string[] {
    return this.#config.servers.filter((s) => scopeOf(s) === 'session').map((s) => s.name);
  }

  /** Ends every instance `key` owns (its session ended). */
  release(key: string): void {
    for (const s of [...this.#scoped.values()]) if (s.key === key) this.#retire(s);
  }

  /** How many session-scoped processes run, by server (for status and tests). */
  scopedCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of this.#scoped.values()) out[s.server] = (out[s.server] ?? 0) + 1;
    return out;
  }

  #arm(): void {
    if (this.#reaper || this.#closed) return;
    const every = Math.max(
      50,
      Math.min(
        ...this.#config.servers.filter((s) => scopeOf(s) === 'session').map((s) => Math.ceil(s.idleMs / 4)),
      ),
    );
    // Unref'd: the gateway's listener holds the process; this only tidies while it runs.
    this.#reaper = setInterval(() => this.#reap(), every);
    this.#reaper.unref();
  }

  #reap(): void {
    const now = Date.now();
    for (const s of [...this.#scoped.values()]) {
      const idle = this.entry(s.server)?.idleMs ?? Number.POSITIVE_INFINITY;
      if (!s.started || s.busy > 0 || now - s.lastUsed < idle) continue;
      this.#retire(s);
    }
    if (this.#scoped.size === 0 && this.#reaper) {
      clearInterval(this.#reaper);
      this.#reaper = undefined;
    }
  }

  /** Ends every upstream at once (calls fail, process trees are ended), also during a close. */
  destroy(): Promise<void> {
    return this.#end((sb) => sb.destroy());
  }

  /** Ends every upstream gracefully: running calls get `timeoutMs` to finish. */
  close(opts: { timeoutMs?: number } = {}): Promise<void> {
    return this.#end((sb) => sb.close(opts));
  }

  /**
   * The one way an instance leaves: out of the live map, into `#ending` until its close is done, so that
   * a gateway close waits for it and a destroy reaches it (a reaped or released instance included).
   */
  #retire(scoped: Scoped): void {
    this.#scoped.delete(`${scoped.server}\0${scoped.key}`);
    const ending = scoped.sb;
    this.#ending.add(ending);
    ending
      .then((sb) => sb.close())
      .catch(() => {})
      .finally(() => this.#ending.delete(ending));
  }

  async #end(how: (sb: Switchboard) => Promise<void>): Promise<void> {
    this.#closed = true;
    if (this.#reaper) clearInterval(this.#reaper);
    this.#reaper = undefined;
    for (const s of [...this.#scoped.values()]) this.#retire(s);
    await Promise.all([how(this.shared), ...[...this.#ending].map((sb) => sb.then(how).catch(() => {}))]);
  }
}
