import type { RestartPolicy, ServerConfig } from '../config/config.js';
import { RpcError, SwitchboardError } from '../core/errors.js';
import type { RpcNotification } from '../core/jsonrpc.js';
import { Mailbox } from '../core/mailbox.js';
import type { ServerDescription } from '../upstream/connection.js';
import type { HostFactory, UpstreamHost } from '../upstream/host.js';

/**
 * - `disabled`: configured but not started.
 * - `starting`: the first start, or a restart that a config reload asked for; calls wait for it.
 * - `ready`: connected; calls go through.
 * - `restarting`: the connection was lost and a new one is on its way; calls wait for it.
 * - `backoff`: the last start failed; the next one is at `nextAttemptAt`. Calls fail at once.
 * - `crashloop`: `crashLoopAfter` failures in a row; retried every `crashLoopRetryMs`. Calls fail at once.
 * - `failed`: down, and the config says not to restart (`restart: false`).
 * - `closed`: the switchboard closed it, or it was removed from the config.
 */
export type ServerState =
  | 'disabled'
  | 'starting'
  | 'ready'
  | 'restarting'
  | 'backoff'
  | 'crashloop'
  | 'failed'
  | 'closed';

export interface SupervisorEvents {
  state(state: ServerState, error: SwitchboardError | undefined): void;
  /** A new connection is up (the first, or a restart): its catalog should be read again. */
  ready(description: ServerDescription, generation: number): void;
  notification(message: RpcNotification): void;
  warning(error: Error): void;
  stderr(line: string): void;
}

/** Exponential backoff with jitter: the delay before the restart that follows `failures` failures in a row. */
export function backoffDelay(
  policy: RestartPolicy,
  failures: number,
  random: () => number = Math.random,
): number {
  const exp = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, failures - 1));
  const spread = exp * policy.jitter;
  return Math.max(0, Math.round(exp - spread + 2 * spread * random()));
}

/**
 * Keeps one upstream alive. One connection attempt at a time; each connection has a generation number,
 * and events from an older generation are ignored. A connection that drops is replaced after a backoff
 * delay; calls that were never sent wait in the (paused) mailbox for the new one, within their own
 * deadlines. Repeated failures lead to `crashloop`, where one more start is tried now and then.
 */
export class Supervisor {
  readonly name: string;
  readonly mailbox: Mailbox;
  #config: ServerConfig;
  #factory: HostFactory;
  #events: SupervisorEvents;
  #state: ServerState = 'disabled';
  #host: UpstreamHost | undefined;
  #generation = 0;
  #restarts = 0;
  #failures = 0;
  #error: SwitchboardError | undefined;
  #description: ServerDescription | undefined;
  #readySince = 0;
  #nextAttemptAt: number | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #healthTimer: ReturnType<typeof setTimeout> | undefined;
  #healthMisses = 0;
  #attempt: Promise<void> | undefined;
  /** True while a start is in progress (set before the host is made, cleared before any outcome). */
  #connecting = false;
  /** Aborts a start in progress when the supervisor stops or is reconfigured. */
  #lifetime = new AbortController();
  #stopped: SwitchboardError | undefined;
  /** Removed from the config: finishing its calls, and not to be restarted. */
  #retiring = false;
  /** Replaced connections still draining or closing; stop() ends them too. */
  #old = new Set<Promise<void>>();
  #endDrains!: () => void;
  /** Settles at stop(), cutting any drain short. */
  #stopping = new Promise<void>((resolve) => {
    this.#endDrains = resolve;
  });

  constructor(config: ServerConfig, factory: HostFactory, events: SupervisorEvents) {
    this.name = config.name;
    this.#config = config;
    this.#factory = factory;
    this.#events = events;
    this.mailbox = new Mailbox(config.name, { maxInFlight: config.maxInFlight, maxQueue: config.maxQueue });
  }

  get config(): ServerConfig {
    return this.#config;
  }
  get state(): ServerState {
    return this.#state;
  }
  /** The live connection's host, when `ready`. */
  get host(): UpstreamHost | undefined {
    return this.#state === 'ready' ? this.#host : undefined;
  }
  get description(): ServerDescription | undefined {
    return this.#description;
  }
  get error(): SwitchboardError | undefined {
    return this.#error;
  }
  /** One more for each connection attempt, and for each reload that replaces the connection. */
  get generation(): number {
    return this.#generation;
  }
  /** Connections replaced after a failure (not counting the first start or reload restarts). */
  get restarts(): number {
    return this.#restarts;
  }
  /** Failures in a row (failed starts, short runs, missed health checks). */
  get failures(): number {
    return this.#failures;
  }
  /** When the next start is due (`performance.now()` ms), in `restarting`, `backoff` and `crashloop`. */
  get nextAttemptAt(): number | undefined {
    return this.#nextAttemptAt;
  }
  /** Whether a call should wait for the server (in the mailbox) rather than fail now. */
  get waitable(): boolean {
    return this.#state === 'ready' || this.#state === 'starting' || this.#state === 'restarting';
  }

  /**
   * The first start. Resolves when ready; rejects with the start error, in which case a retry is already
   * scheduled (unless `restart: false`).
   */
  start(signal?: AbortSignal): Promise<void> {
    if (!this.#config.enabled) return Promise.resolve();
    this.#setState('starting', undefined);
    this.mailbox.pause();
    return this.#connect(signal);
  }

  /**
   * A new config whose differences need no new connection (limits, deadlines, retry, health, restart
   * policy): applied in place; the server and its calls carry on.
   */
  update(config: ServerConfig): void {
    if (this.#stopped) return;
    this.#config = config;
    this.mailbox.setLimits({ maxInFlight: config.maxInFlight, maxQueue: config.maxQueue });
    if (this.#state === 'ready') {
      clearTimeout(this.#healthTimer);
      this.#scheduleHealth(this.#generation);
    }
  }

  /**
   * A new config that needs a new connection. New calls wait, running calls get up to `drainMs` to
   * finish on the old connection, then the old connection is closed and a new one started (or none, if
   * the entry is now disabled).
   */
  async reconfigure(config: ServerConfig, drainMs: number): Promise<void> {
    if (this.#stopped) return;
    this.#config = config;
    this.mailbox.setLimits({ maxInFlight: config.maxInFlight, maxQueue: config.maxQueue });
    this.#lifetime.abort();
    this.#lifetime = new AbortController();
    this.#clearTimers();
    this.#connecting = false;
    const old = this.#host;
    this.#host = undefined;
    this.#generation++; // the old connection's events are not ours any more
    this.#failures = 0;
    const reason = new SwitchboardError(
      'E_UPSTREAM_CLOSED',
      `server '${this.name}' was restarted because its config changed`,
      { data: { server: this.name, reload: true } },
    );
    if (config.enabled) {
      this.mailbox.pause();
      this.#setState('starting', undefined);
    } else {
      this.#setState('disabled', undefined);
      this.mailbox.rejectWaiting(this.unavailable());
    }
    await this.#retireHost(old, reason, () => this.mailbox.onNoneRunning(), drainMs);
    if (this.#stopped || !config.enabled) return;
    await this.#attempt?.catch(() => {});
    if (this.#stopped) return;
    await this.#connect(undefined).catch(() => {});
  }

  /** For a server removed from the config: lets its calls finish (up to `drainMs`), then stops. */
  async retire(reason: SwitchboardError, drainMs: number): Promise<void> {
    this.#retiring = true;
    this.#clearTimers();
    if (!this.#stopped) await within(this.mailbox.onIdle(), drainMs, this.#stopping);
    await this.stop(reason);
  }

  /**
   * Ends supervision and every connection, replaced ones still draining included: their calls and the
   * waiting ones fail with `reason`. Idempotent.
   */
  async stop(reason: SwitchboardError): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = reason;
      this.#lifetime.abort();
      this.#clearTimers();
      this.#endDrains();
      this.mailbox.close(reason);
      if (this.#state !== 'disabled') this.#setState('closed', undefined);
    }
    const host = this.#host;
    this.#host = undefined;
    await this.#attempt?.catch(() => {});
    await Promise.all([host?.close(reason).catch(() => {}), ...this.#old]);
  }

  /**
   * Closes a connection that has been replaced, once `drained()` settles (at most `drainMs`, and not
   * past stop()). Until then stop() can still reach it.
   */
  #retireHost(
    host: UpstreamHost | undefined,
    reason: SwitchboardError,
    drained?: () => Promise<void>,
    drainMs = 0,
  ): Promise<void> {
    if (!host) return Promise.resolve();
    const done = (async () => {
      if (drained) await within(drained(), drainMs, this.#stopping);
      await host.close(this.#stopped ?? reason).catch(() => {});
    })();
    const tracked = done.finally(() => this.#old.delete(tracked));
    this.#old.add(tracked);
    return tracked;
  }

  /** The error a call gets when this server cannot take it now. */
  unavailable(): SwitchboardError {
    const why = {
      disabled: 'it is disabled in the config (or not started)',
      starting: 'it is still starting',
      ready: 'it is ready', // not reached: ready servers take calls
      restarting: 'it is restarting',
      backoff: `its last start failed (${this.#error?.message ?? 'unknown error'}); next attempt in ${this.#dueIn()}`,
      crashloop: `it is in a crash loop after ${this.#failures} failures in a row (last: ${this.#error?.message ?? 'unknown error'}); next attempt in ${this.#dueIn()}`,
      failed: `it failed and restarts are off for it: ${this.#error?.message ?? 'unknown error'}`,
      closed: 'it was closed',
    }[this.#state];
    return new SwitchboardError('E_UPSTREAM_UNAVAILABLE', `server '${this.name}' cannot take calls: ${why}`, {
      cause: this.#error,
      data: { server: this.name, state: this.#state, failures: this.#failures },
    });
  }

  #dueIn(): string {
    if (this.#connecting) return 'progress now';
    if (this.#nextAttemptAt === undefined) return 'never';
    return `${Math.max(0, Math.round(this.#nextAttemptAt - performance.now()))} ms`;
  }

  /** One connection attempt; only one runs at a time. */
  #connect(signal: AbortSignal | undefined): Promise<void> {
    const run = async () => {
      const generation = ++this.#generation;
      this.#connecting = true;
      const host = this.#factory(this.#config, this.#hostEvents(generation));
      this.#host = host;
      const lifetime = this.#lifetime.signal;
      let description: ServerDescription;
      try {
        description = await host.start({ signal: signal ? AbortSignal.any([signal, lifetime]) : lifetime });
      } catch (err) {
        if (generation === this.#generation) this.#connecting = false;
        if (this.#host === host) this.#host = undefined;
        await host.close().catch(() => {});
        if (generation !== this.#generation || this.#stopped) throw err;
        const error = asStartError(this.name, err);
        this.#failed(error);
        throw error;
      }
      if (generation === this.#generation) this.#connecting = false;
      if (generation !== this.#generation || this.#stopped) {
        await host.close().catch(() => {});
        throw this.#stopped ?? this.unavailable();
      }
      this.#description = description;
      this.#error = undefined;
      this.#nextAttemptAt = undefined;
      this.#readySince = performance.now();
      this.#healthMisses = 0;
      // Everything that keeps the server working is in place before anyone is told.
      this.mailbox.resume();
      this.#scheduleHealth(generation);
      this.#setState('ready', undefined);
      this.#tell(() => this.#events.ready(description, generation));
    };
    const attempt = run().finally(() => {
      if (this.#attempt === attempt) this.#attempt = undefined;
    });
    this.#attempt = attempt;
    return attempt;
  }

  /** A start failed: count it, fail what waits, and schedule the next start. */
  #failed(error: SwitchboardError): void {
    this.#error = error;
    this.#failures++;
    if (this.#config.restart === false) {
      this.#setState('failed', error);
      this.mailbox.rejectWaiting(this.unavailable());
      return;
    }
    const policy = this.#config.restart;
    const loop = this.#failures >= policy.crashLoopAfter;
    const delay = loop ? policy.crashLoopRetryMs : backoffDelay(policy, this.#failures);
    this.#schedule(delay);
    this.#setState(loop ? 'crashloop' : 'backoff', error);
    // The wait was for this start; it failed, so tell them now rather than at their deadlines.
    this.mailbox.rejectWaiting(this.unavailable());
  }

  /** The live connection of `generation` is gone (it closed, or it is being replaced). */
  #down(generation: number, reason: SwitchboardError): void {
    if (generation !== this.#generation || this.#state !== 'ready' || this.#stopped) return;
    const host = this.#host;
    this.#host = undefined;
    this.#clearTimers();
    this.#error = reason;
    // Paused first: the calls that fail below must not hand their slots to calls that wait.
    this.mailbox.pause();
    void this.#retireHost(host, reason);
    const uptime = performance.now() - this.#readySince;
    if (this.#retiring) {
      this.mailbox.rejectWaiting(this.unavailable());
      return;
    }
    if (this.#config.restart === false) {
      this.#setState('failed', reason);
      this.mailbox.rejectWaiting(this.unavailable());
      return;
    }
    const policy = this.#config.restart;
    if (uptime >= policy.stableAfterMs) this.#failures = 0;
    this.#failures++;
    this.#restarts++;
    if (this.#failures >= policy.crashLoopAfter) {
      this.#schedule(policy.crashLoopRetryMs);
      this.#setState('crashloop', reason);
      this.mailbox.rejectWaiting(this.unavailable());
      return;
    }
    this.#schedule(backoffDelay(policy, this.#failures));
    this.#setState('restarting', reason);
  }

  #schedule(delayMs: number): void {
    this.#nextAttemptAt = performance.now() + delayMs;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#nextAttemptAt = undefined;
      if (this.#stopped || this.#retiring) return;
      this.#connect(undefined).catch(() => {});
    }, delayMs);
    this.#retryTimer.unref();
  }

  #scheduleHealth(generation: number): void {
    const health = this.#config.health;
    if (health === false) return;
    this.#healthTimer = setTimeout(() => {
      this.#healthTimer = undefined;
      const host = this.host;
      if (!host || generation !== this.#generation) return;
      host.request('ping', undefined, { timeoutMs: health.timeoutMs }).then(
        () => this.#healthy(generation),
        (err: unknown) => {
          // Any answer, even an error, means the server is alive. Silence counts against it, and so does
          // a ping that cannot be sent: an HTTP server that went away, or a process that closed its stdin
          // but lives on, never "closes" the connection.
          if (err instanceof RpcError) this.#healthy(generation);
          else this.#missed(generation, health.timeoutMs, asSwitchboardError(this.name, err));
        },
      );
    }, health.intervalMs);
    this.#healthTimer.unref();
  }

  #healthy(generation: number): void {
    if (generation !== this.#generation) return;
    this.#healthMisses = 0;
    this.#scheduleHealth(generation);
  }

  #missed(generation: number, timeoutMs: number, err: SwitchboardError): void {
    if (generation !== this.#generation || this.#state !== 'ready' || this.#config.health === false) return;
    this.#healthMisses++;
    if (this.#healthMisses < this.#config.health.failures) {
      this.#scheduleHealth(generation);
      return;
    }
    this.#down(
      generation,
      new SwitchboardError(
        'E_UPSTREAM_CLOSED',
        err.code === 'E_TIMEOUT'
          ? `server '${this.name}' stopped answering: ${this.#healthMisses} pings in a row got no answer within ${timeoutMs} ms; it was restarted`
          : `server '${this.name}' cannot be reached: ${this.#healthMisses} pings in a row failed (${err.message}); it was restarted`,
        { cause: err, data: { server: this.name, health: true, missedPings: this.#healthMisses } },
      ),
    );
  }

  #hostEvents(generation: number) {
    const current = () => generation === this.#generation && !this.#stopped;
    return {
      notification: (message: RpcNotification) => {
        if (current()) this.#tell(() => this.#events.notification(message));
      },
      warning: (error: Error) => {
        if (current()) this.#tell(() => this.#events.warning(error));
      },
      stderr: (line: string) => {
        if (current()) this.#tell(() => this.#events.stderr(line));
      },
      close: (reason: SwitchboardError) => this.#down(generation, reason),
    };
  }

  #clearTimers(): void {
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#healthTimer);
    this.#retryTimer = undefined;
    this.#healthTimer = undefined;
    this.#nextAttemptAt = undefined;
  }

  #setState(state: ServerState, error: SwitchboardError | undefined): void {
    this.#state = state;
    this.#tell(() => this.#events.state(state, error));
  }

  /**
   * Runs a listener. One that throws must not leave the supervisor half-way through a transition, so
   * its error is rethrown on its own tick: the process sees it as it would from any event listener.
   */
  #tell(listener: () => void): void {
    try {
      listener();
    } catch (err) {
      process.nextTick(() => {
        throw err;
      });
    }
  }
}

function asSwitchboardError(server: string, err: unknown): SwitchboardError {
  if (err instanceof SwitchboardError) return err;
  return new SwitchboardError('E_TRANSPORT', `'${server}': ${(err as Error)?.message ?? err}`, {
    cause: err,
    data: { server },
  });
}

function asStartError(server: string, err: unknown): SwitchboardError {
  if (err instanceof SwitchboardError) return err;
  return new SwitchboardError(
    'E_START_FAILED',
    `server '${server}' failed to start: ${(err as Error)?.message ?? err}`,
    { cause: err, data: { server } },
  );
}

/** Waits for `done`, but no longer than `ms`, and not past `cut` if given. */
export async function within(done: Promise<void>, ms: number, cut?: Promise<void>): Promise<void> {
  if (ms <= 0) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    done,
    ...(cut ? [cut] : []),
    new Promise<void>((r) => {
      timer = setTimeout(r, ms);
    }),
  ]);
  clearTimeout(timer);
}
