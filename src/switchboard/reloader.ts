import { type FSWatcher, readFileSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import {
  configError,
  type LoadOptions,
  loadConfig,
  needsRestart,
  type SwitchboardConfig,
  sameServer,
} from '../config/config.js';
import { SwitchboardError } from '../core/errors.js';
import type { Fleet, Route } from './fleet.js';

export interface ReloadReport {
  added: string[];
  removed: string[];
  /** Restarted with the new entry. */
  changed: string[];
  /** New limits, deadlines or policies applied in place: same process, same connection. */
  updated: string[];
  unchanged: string[];
}

export interface ReloadContext {
  fleet: Fleet;
  loadOptions: LoadOptions;
  /** The config in force. */
  config(): SwitchboardConfig;
  accept(next: SwitchboardConfig): void;
  /** Why reloads are refused (the switchboard is closed), or undefined. */
  closed(): SwitchboardError | undefined;
  /** Starts a route that a reload added (connection, then catalog). */
  startRoute(route: Route): Promise<void>;
  /** A removed server's names are forgotten. */
  forget(server: string): void;
  reported(event: { report: ReloadReport } | { error: SwitchboardError }): void;
  warning(error: Error): void;
}

/**
 * Config reloads: the new config against the one in force, server by server (added, removed, restarted,
 * updated in place, untouched), one reload at a time; and the file watch that triggers them.
 */
export class Reloader {
  readonly #ctx: ReloadContext;
  #queue: Promise<unknown> = Promise.resolve();
  #watcher: FSWatcher | undefined;
  #debounce: ReturnType<typeof setTimeout> | undefined;

  constructor(ctx: ReloadContext) {
    this.#ctx = ctx;
  }

  reload(config: string | object | undefined, drainMs: number): Promise<ReloadReport> {
    const run = this.#queue.then(() => this.#reload(config, drainMs));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #reload(config: string | object | undefined, drainMs: number): Promise<ReloadReport> {
    const ctx = this.#ctx;
    const closed = ctx.closed();
    if (closed) throw closed;
    let next: SwitchboardConfig;
    try {
      next = this.#load(config);
    } catch (err) {
      const error =
        err instanceof SwitchboardError
          ? err
          : new SwitchboardError('E_CONFIG', `the new config was refused: ${(err as Error).message}`, {
              cause: err,
            });
      ctx.reported({ error });
      throw error;
    }
    const fleet = ctx.fleet;
    const report: ReloadReport = { added: [], removed: [], changed: [], updated: [], unchanged: [] };
    const incoming = new Set(next.servers.map((server) => server.name));
    const work: Promise<unknown>[] = [];
    for (const route of fleet.routes()) {
      const name = route.sup.name;
      if (incoming.has(name)) continue;
      report.removed.push(name);
      ctx.forget(name);
      const reason = new SwitchboardError(
        'E_UPSTREAM_CLOSED',
        `server '${name}' was removed from the config`,
        {
          data: { server: name, reload: true },
        },
      );
      work.push(fleet.retire(route, reason, drainMs));
    }
    for (const server of next.servers) {
      const route = fleet.get(server.name);
      const wanted = fleet.effective(server);
      if (!route) {
        report.added.push(server.name);
        work.push(ctx.startRoute(fleet.add(server)).catch(() => {}));
      } else if (sameServer(route.sup.config, wanted)) {
        report.unchanged.push(server.name);
      } else if (!needsRestart(route.sup.config, wanted)) {
        report.updated.push(server.name);
        route.sup.update(wanted);
      } else {
        report.changed.push(server.name);
        work.push(route.sup.reconfigure(wanted, drainMs));
      }
    }
    ctx.accept(next);
    await Promise.all(work);
    ctx.reported({ report });
    return report;
  }

  #load(config: string | object | undefined): SwitchboardConfig {
    const current = this.#ctx.config();
    const source = config ?? current.source;
    if (source === undefined) {
      throw new SwitchboardError(
        'E_CONFIG',
        'this switchboard was started from a config object, so there is no file to read again; pass the new config to reload()',
        {},
      );
    }
    const next = loadConfig(source, this.#ctx.loadOptions);
    if (next.separator !== current.separator) {
      throw configError(
        next.source ?? '<config object>',
        'switchboard.separator',
        `changing the separator ('${current.separator}' to '${next.separator}') would rename every tool; restart the switchboard to change it`,
      );
    }
    return next;
  }

  /**
   * Reloads whenever the config file changes (editors that save by renaming included). The watch keeps
   * the process alive, as a watch does, until `unwatch()` or close.
   */
  watch(file: string, opts: { debounceMs?: number | undefined; drainMs?: number | undefined }): void {
    if (this.#watcher) return;
    const name = basename(file);
    let last = readText(file);
    const watcher = watch(dirname(file), (_event, filename) => {
      if (filename !== null && filename !== name) return;
      clearTimeout(this.#debounce);
      this.#debounce = setTimeout(() => {
        this.#debounce = undefined;
        const text = readText(file);
        if (text === last) return; // touched, not changed
        last = text;
        // A refused edit is reported as a `reload` event with its error; the running config stays.
        this.reload(file, opts.drainMs ?? 5000).catch(() => {});
      }, opts.debounceMs ?? 100);
    });
    watcher.on('error', (error) => this.#ctx.warning(error));
    this.#watcher = watcher;
  }

  unwatch(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
    clearTimeout(this.#debounce);
    this.#debounce = undefined;
  }
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
