import type { HealthPolicy, RestartPolicy, ServerConfig } from '../config/config.js';
import { RpcError, SwitchboardError } from '../core/errors.js';
import type { RpcNotification } from '../core/jsonrpc.js';
import { Mailbox } from '../core/mailbox.js';
import { MAX_TIMER_MS } from '../core/validate.js';
import type { ServerDescription } from '../upstream/connection.js';
import type { HostEvents, HostFactory, UpstreamHost } from '../upstream/host.js';

/**
 * - `disabled`: configured but not started.
 * - `starting`: the first start, or a restart that a config change asked for; calls wait for it.
 * - `ready`: connected; calls go through.
 * - `restarting`: the connection was lost and a new one is on its way; calls wait for it.
 * - `backoff`: the last start failed; the next one is at `nextAttemptAt`. Calls fail at once.
 * - `crashloop`: `crashLoopAfter` failures in a row; retried every `crashLoopRetryMs`. Calls fail at once.
 * - `failed`: down, and not to be restarted (`restart: false`, or its config entry cannot be used).
 * - `draining`: removed from the config; finishing the calls it has, taking no new ones.
 * - `closed`: the switchboard closed it, or it was removed from the config and has finished.
 */
export type ServerState =
  | 'disabled'
  | 'starting'
  | 'ready'
  | 'restarting'
  | 'backoff'
  | 'crashloop'
  | 'failed'
  | 'draining'
  | 'closed';

export interface SupervisorEvents {
  state(state: ServerState, error: SwitchboardError | undefined): void;
  /** A new connection is up (the first, or a restart): its catalog should be read again. */
  ready(description: ServerDescription, generation: number): void;
  notification(message: RpcNotification): void;
  warning(error: Error): void;
  stderr(line: string): void;
  /** The server asks for something (see `ConnectionEvents.serverRequest`). */
  serverRequest?: HostEvents['serverRequest'];
  /** The client capabilities a new connection declares. */
  capabilities?(config: ServerConfig): Record<string, unknown>;
}

/** Exponential backoff with jitter: the delay before the restart that follows `failures` failures in a row. */
export function backoffDelay(
  policy: RestartPolicy,
  failures: number,
  random: () => number = Math.random,
): number {
  const exp = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, failures - 1));
  const spread = exp * policy.jitter;
  return Math.min(MAX_TIMER_MS, Math.max(0, Math.round(exp - spread + 2 * spread * random())));
}

// ---- the machine -------------------------------------------------------------------------------------

/** What can happen to a supervisor. Events about one connection carry its generation. */
export type SupervisorEvent =
  | { type: 'start' }
  | { type: 'connected'; gen: number; description: ServerDescription }
  | { type: 'start-failed'; gen: number; error: SwitchboardError }
  | { type: 'lost'; gen: number; reason: SwitchboardError }
  | { type: 'timer' }
  | { type: 'drained' }
  /** The config changed in a way the connection can keep (limits, health, the restart policy). */
  | { type: 'policy' }
  /** The config changed in a way that needs a new connection (or none: disabled). */
  | { type: 'replace' }
  | { type: 'retire'; reason: SwitchboardError }
  | { type: 'stop'; reason: SwitchboardError };

/** What a transition asks for. They run in order, after the new state is recorded. */
export type Effect =
  | { do: 'connect' }
  | { do: 'close-host'; reason: SwitchboardError }
  | { do: 'pause' }
  | { do: 'resume' }
  | { do: 'reject-waiting'; error?: SwitchboardError }
  | { do: 'close-mailbox'; reason: SwitchboardError }
  | { do: 'arm-retry'; delayMs: number }
  | { do: 'arm-drain'; until: 'idle' | 'none-running' }
  | { do: 'watch-health' };

export interface Step {
  /** The next state; absent: the same one (a new phase of it, with nothing carried over). */
  to?: ServerState;
  effects: Effect[];
  /** Counters: a lost connection counts a restart; a failure counts towards the crash loop. */
  restart?: boolean;
  failure?: boolean;
  /** Clears the failures in a row (a new config, or a run longer than `stableAfterMs`). */
  clearFailures?: boolean;
  /** The error `servers()` reports for the new state. Kept as it was when absent. */
  error?: SwitchboardError | null;
  /** No `state` event: the state did not change in a way anyone needs to hear about. */
  quiet?: boolean;
}

/** What the transition function may read. */
export interface MachineView {
  name: string;
  config: ServerConfig;
  /** Failures in a row so far. */
  failures: number;
  /** A start is in progress. */
  connecting: boolean;
  /** There is a connection (live, starting, or draining) to close. */
  hasHost: boolean;
  /** How long the live connection has been up (ms). */
  uptime: number;
  /** How long until the next start, while one is scheduled (ms). */
  dueIn: number | undefined;
  /** Why the server was removed from the config, once it is. */
  retired: SwitchboardError | undefined;
}

type Rule = (v: MachineView, e: SupervisorEvent) => Step | undefined;
type Rules = Partial<Record<SupervisorEvent['type'], Rule>>;

/**
 * The transitions, state x event -> next state + effects. An event a state has no rule for is ignored
 * (a late `lost` from a connection already given up, a `timer` after a reload replaced the phase...).
 *
 * | state                           | event        | next                                          |
 * |---------------------------------|--------------|-----------------------------------------------|
 * | disabled                        | start        | starting: hold calls, connect (failed: unset variable) |
 * | starting/restarting/backoff/    | connected    | ready: hand out calls, health pings           |
 * |   crashloop, while connecting   | start-failed | backoff / crashloop / failed                  |
 * |                                 | lost         | as start-failed (lost before it was ready)    |
 * | starting (old one draining)     | drained      | starting: close the old one, connect          |
 * | restarting/backoff/crashloop    | timer        | same state, connecting                        |
 * |                                 | policy       | sooner retry, or failed (restarts now off)    |
 * | ready                           | lost         | restarting / crashloop / failed               |
 * | ready                           | retire       | draining: finish calls (drainMs), then closed |
 * | ready                           | replace (off)| draining: finish calls, then disabled/failed  |
 * | draining                        | drained      | closed (removed) / disabled / failed          |
 * | draining                        | lost         | the same, and waiting calls hear why          |
 * | failed                          | policy       | starting, if restarts are now on              |
 * | any but closed (draining: unless removed) | replace | starting (drain the old one first) / disabled / failed |
 * | any but closed, draining        | retire       | closed (nothing to finish)                    |
 * | any but closed                  | stop         | closed                                        |
 */
export const TRANSITIONS: Record<ServerState, Rules> = {
  disabled: {
    start: (v) =>
      v.config.unresolved
        ? { to: 'failed', effects: [], error: v.config.unresolved }
        : { to: 'starting', effects: [{ do: 'pause' }, { do: 'connect' }] },
    ...common(),
  },
  starting: { ...attempt(), drained: replaceNow, ...common() },
  restarting: { ...attempt(), timer: retryNow, policy: newPolicy(false), ...common() },
  backoff: { ...attempt(), timer: retryNow, policy: newPolicy(false), ...common() },
  crashloop: { ...attempt(), timer: retryNow, policy: newPolicy(true), ...common() },
  ready: {
    lost: (v, e) => lost(v, (e as { reason: SwitchboardError }).reason),
    ...common(),
    // Removed from the config, or turned off: it finishes what it has (queued calls included) first.
    retire: () => ({ to: 'draining', effects: [{ do: 'arm-drain', until: 'idle' }] }),
    replace: (v) =>
      usable(v.config)
        ? common().replace!(v, { type: 'replace' })
        : { to: 'draining', effects: [{ do: 'arm-drain', until: 'idle' }] },
  },
  failed: {
    ...common(),
    policy: (v) =>
      v.config.restart !== false && usable(v.config)
        ? { to: 'starting', effects: [{ do: 'pause' }, { do: 'connect' }], error: null }
        : undefined,
  },
  draining: {
    drained: (v) => afterDrain(v, undefined),
    lost: (v, e) => afterDrain(v, (e as { reason: SwitchboardError }).reason),
    // Edited while it drains after being turned off: still off, it drains on; on again, it restarts.
    replace: (v) => (v.retired || !usable(v.config) ? undefined : common().replace!(v, { type: 'replace' })),
    stop: (_v, e) => ({ to: 'closed', effects: closeAll((e as { reason: SwitchboardError }).reason) }),
  },
  closed: {},
};

/** An entry the switchboard can run: enabled, and with every variable set. */
function usable(config: ServerConfig): boolean {
  return config.enabled && !config.unresolved;
}

/** A connection attempt ends: up, or failed (a connection lost before it was taken as ready failed too). */
function attempt(): Rules {
  const failed: Rule = (v, e) =>
    v.connecting
      ? startFailed(
          v,
          (e as { error?: SwitchboardError; reason?: SwitchboardError }).error ??
            (e as { reason: SwitchboardError }).reason,
        )
      : undefined;
  return {
    connected: (v) =>
      v.connecting
        ? { to: 'ready', effects: [{ do: 'resume' }, { do: 'watch-health' }], error: null }
        : undefined,
    'start-failed': failed,
    lost: failed,
  };
}

function startFailed(v: MachineView, error: SwitchboardError): Step {
  const host: Effect = { do: 'close-host', reason: error };
  if (v.config.restart === false)
    return { to: 'failed', effects: [host, { do: 'reject-waiting' }], failure: true, error };
  const policy = v.config.restart;
  const loop = v.failures + 1 >= policy.crashLoopAfter;
  const delayMs = loop ? policy.crashLoopRetryMs : backoffDelay(policy, v.failures + 1);
  // The wait was for this start; it failed, so the waiting calls hear it now, not at their deadlines.
  return {
    to: loop ? 'crashloop' : 'backoff',
    effects: [host, { do: 'arm-retry', delayMs }, { do: 'reject-waiting' }],
    failure: true,
    error,
  };
}

/** The live connection is gone: count it, and decide when (whether) to try again. */
function lost(v: MachineView, reason: SwitchboardError): Step {
  // Paused first: the calls that fail as the connection closes must not hand their slots to waiting calls.
  const down: Effect[] = [{ do: 'pause' }, { do: 'close-host', reason }];
  if (v.config.restart === false)
    return { to: 'failed', effects: [...down, { do: 'reject-waiting' }], error: reason };
  const policy = v.config.restart;
  const stable = v.uptime >= policy.stableAfterMs;
  const failures = (stable ? 0 : v.failures) + 1;
  const base = { restart: true, failure: true, clearFailures: stable, error: reason };
  if (failures >= policy.crashLoopAfter) {
    return {
      to: 'crashloop',
      effects: [...down, { do: 'arm-retry', delayMs: policy.crashLoopRetryMs }, { do: 'reject-waiting' }],
      ...base,
    };
  }
  return {
    to: 'restarting',
    effects: [...down, { do: 'arm-retry', delayMs: backoffDelay(policy, failures) }],
    ...base,
  };
}

function retryNow(v: MachineView): Step | undefined {
  if (v.connecting) return undefined;
  return { effects: [{ do: 'connect' }], quiet: true };
}

/**
 * A new restart policy while a start is scheduled: restarts off means no more starts; a shorter delay
 * brings the next start forward. (A longer one leaves it where it is.)
 */
function newPolicy(crashloop: boolean): Rule {
  return (v) => {
    if (v.connecting) return undefined;
    const policy = v.config.restart;
    if (policy === false) return { to: 'failed', effects: [{ do: 'reject-waiting' }] };
    const delayMs = crashloop ? policy.crashLoopRetryMs : backoffDelay(policy, Math.max(1, v.failures));
    if (v.dueIn !== undefined && delayMs >= v.dueIn) return undefined;
    return { effects: [{ do: 'arm-retry', delayMs }], quiet: true };
  };
}

/** The old connection of a reload has drained: close it, then start the new one. */
function replaceNow(v: MachineView): Step | undefined {
  if (v.connecting) return undefined;
  const reason = reloadReason(v.name);
  return { to: 'starting', effects: [{ do: 'close-host', reason }, { do: 'connect' }], quiet: true };
}

/**
 * A draining server has finished (or its connection was lost on the way): closed if it was removed,
 * else `disabled` or `failed` as its new entry says. Calls still waiting hear why.
 */
function afterDrain(v: MachineView, lostWith: SwitchboardError | undefined): Step {
  if (v.retired) {
    if (!lostWith) return { to: 'closed', effects: closeAll(v.retired) };
    const why = new SwitchboardError(
      'E_UPSTREAM_CLOSED',
      `server '${v.name}' was removed from the config and went down while finishing its calls: ${lostWith.message}`,
      { cause: lostWith, data: { server: v.name, reload: true } },
    );
    return { to: 'closed', effects: closeAll(why), error: lostWith };
  }
  const reason = new SwitchboardError(
    'E_UPSTREAM_CLOSED',
    `server '${v.name}' was turned off by a config change`,
    {
      cause: lostWith,
      data: { server: v.name, reload: true },
    },
  );
  return {
    to: v.config.unresolved ? 'failed' : 'disabled',
    effects: [{ do: 'close-host', reason }, { do: 'reject-waiting' }],
    clearFailures: true,
    error: v.config.unresolved ?? null,
  };
}

function common(): Rules {
  return {
    replace: (v) => {
      if (!usable(v.config)) {
        return {
          to: v.config.unresolved ? 'failed' : 'disabled',
          effects: [{ do: 'close-host', reason: reloadReason(v.name) }, { do: 'reject-waiting' }],
          clearFailures: true,
          error: v.config.unresolved ?? null,
        };
      }
      // Running calls may finish on the old connection (up to drainMs); new ones wait for the new one.
      const next: Effect[] = v.hasHost ? [{ do: 'arm-drain', until: 'none-running' }] : [{ do: 'connect' }];
      return { to: 'starting', effects: [{ do: 'pause' }, ...next], clearFailures: true, error: null };
    },
    retire: (_v, e) => ({ to: 'closed', effects: closeAll((e as { reason: SwitchboardError }).reason) }),
    stop: (_v, e) => ({ to: 'closed', effects: closeAll((e as { reason: SwitchboardError }).reason) }),
  };
}

/** The states a server's last error explains (and so is reported with). */
export function explainedByError(state: ServerState): boolean {
  return state === 'restarting' || state === 'backoff' || state === 'crashloop' || state === 'failed';
}

function closeAll(reason: SwitchboardError): Effect[] {
  return [
    { do: 'close-mailbox', reason },
    { do: 'close-host', reason },
  ];
}

function reloadReason(name: string): SwitchboardError {
  return new SwitchboardError(
    'E_UPSTREAM_CLOSED',
    `server '${name}' was restarted because its config changed`,
    {
      data: { server: name, reload: true },
    },
  );
}

// ---- the supervisor ---------------------------------------------------------------------------------

/** The state now, and what belongs to it: cleared the moment the state is left. */
interface Phase {
  readonly state: ServerState;
  /** The generation of the connection this phase is about. */
  gen: number;
  /** A start of generation `gen` is in progress. */
  connecting: boolean;
  /** Aborts that start when the phase is left for any reason but its outcome. */
  abort: AbortController | undefined;
  /** The phase's one timer: the next attempt, or the end of a drain. */
  timer: ReturnType<typeof setTimeout> | undefined;
  /** When the timer fires (`performance.now()` ms), for a retry. */
  due: number | undefined;
  health: HealthLoop | undefined;
}

/**
 * Keeps one upstream alive, as the state machine above: one transition function (`#handle`), the new
 * state recorded before any effect runs (an effect may call back into the supervisor synchronously, as a
 * transport that fires `onclose` inside `close()` does, and the callback must see the truth), and every
 * timer owned by the state that armed it. Each connection has a generation number; events from an older
 * one are ignored. Calls that were never sent wait in the (paused) mailbox for the next connection,
 * within their own deadlines.
 */
export class Supervisor {
  readonly name: string;
  readonly mailbox: Mailbox;
  #config: ServerConfig;
  #factory: HostFactory;
  #events: SupervisorEvents;
  #phase: Phase = newPhase('disabled', 0);
  #generation = 0;
  /** The connection of the current phase: live, starting, or the old one of a reload, draining. */
  #host: UpstreamHost | undefined;
  #description: ServerDescription | undefined;
  #readySince = 0;
  #restarts = 0;
  #failures = 0;
  #error: SwitchboardError | undefined;
  #drainMs = 0;
  /** Why it was removed from the config, once it is. */
  #retired: SwitchboardError | undefined;
  #stopped: SwitchboardError | undefined;
  /** The first start's own signal (the caller of `Switchboard.start`). */
  #startSignal: AbortSignal | undefined;
  /** Connections being closed: stop() waits for every one (and can hurry them). */
  #closing = new Map<UpstreamHost, Promise<void>>();
  #closed = new WeakSet<UpstreamHost>();
  /** Connections are ended without waiting for their servers to exit on their own. */
  #now = false;
  /** Called on every transition; each checks whether what it waits for has happened. */
  #watchers = new Set<() => void>();

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
    return this.#phase.state;
  }
  /** The live connection's host, while calls may be sent on it (`ready`, and `draining`). */
  get host(): UpstreamHost | undefined {
    const s = this.#phase.state;
    return s === 'ready' || s === 'draining' ? this.#host : undefined;
  }
  get description(): ServerDescription | undefined {
    return this.#description;
  }
  get error(): SwitchboardError | undefined {
    return this.#error;
  }
  /** One more for each connection attempt. */
  get generation(): number {
    return this.#generation;
  }
  /** Connections lost and replaced (not counting the first start or reload restarts). */
  get restarts(): number {
    return this.#restarts;
  }
  /** Failures in a row (failed starts, short runs, missed health checks). */
  get failures(): number {
    return this.#failures;
  }
  /** When the next start is due (`performance.now()` ms), while one is scheduled. */
  get nextAttemptAt(): number | undefined {
    return this.#phase.due;
  }
  /** Whether a call should wait for the server (in the mailbox) rather than fail now. */
  get waitable(): boolean {
    const s = this.#phase.state;
    return s === 'ready' || s === 'starting' || s === 'restarting';
  }

  /**
   * The first start. Resolves when ready; rejects with the start error, in which case a retry is already
   * scheduled (unless restarts are off). An entry whose config cannot be used goes to `failed` at once.
   */
  start(signal?: AbortSignal): Promise<void> {
    if (!this.#config.enabled) return Promise.resolve();
    this.#startSignal = signal;
    this.#handle({ type: 'start' });
    return this.#settled();
  }

  /**
   * A new config whose differences need no new connection (limits, deadlines, retry, health, restart
   * policy): applied in place; the server and its calls carry on. One health loop before, one after.
   */
  update(config: ServerConfig): void {
    if (this.#stopped) return;
    this.#config = config;
    this.mailbox.setLimits({ maxInFlight: config.maxInFlight, maxQueue: config.maxQueue });
    const phase = this.#phase;
    if (phase.state === 'ready') {
      if (config.health === false) {
        phase.health?.stop();
        phase.health = undefined;
      } else if (phase.health) phase.health.reschedule();
      else this.#watchHealth(phase);
    }
    // A new restart policy may change what the current state waits for.
    this.#handle({ type: 'policy' });
  }

  /**
   * A new config that needs a new connection. New calls wait, running calls get up to `drainMs` to
   * finish on the old connection, then the old connection is closed and a new one started (or none, if
   * the entry is now disabled). Resolves when the new connection is up or has failed.
   */
  async reconfigure(config: ServerConfig, drainMs: number): Promise<void> {
    if (this.#stopped) return;
    this.#config = config;
    this.#drainMs = drainMs;
    this.mailbox.setLimits({ maxInFlight: config.maxInFlight, maxQueue: config.maxQueue });
    this.#handle({ type: 'replace' });
    await this.#settled().catch(() => {});
  }

  /** For a server removed from the config: lets its calls finish (up to `drainMs`), then stops. */
  async retire(reason: SwitchboardError, drainMs: number): Promise<void> {
    this.#drainMs = drainMs;
    this.#retired ??= reason;
    this.#handle({ type: 'retire', reason });
    await this.#until(() => this.#phase.state === 'closed');
    await this.#allClosed();
  }

  /**
   * Ends supervision and every connection, replaced ones still closing included: their calls and the
   * waiting ones fail with `reason`. Idempotent.
   */
  async stop(reason: SwitchboardError, opts: { now?: boolean } = {}): Promise<void> {
    this.#stopped ??= reason;
    if (opts.now && !this.#now) {
      this.#now = true;
      for (const host of this.#closing.keys()) void host.close(this.#stopped, { now: true });
    }
    this.#handle({ type: 'stop', reason: this.#stopped });
    await this.#allClosed();
  }

  /** The error a call gets when this server cannot take it now. */
  unavailable(): SwitchboardError {
    const state = this.#phase.state;
    const last = this.#error?.message ?? 'unknown error';
    const why = {
      disabled: 'it is disabled in the config (or not started)',
      starting: 'it is still starting',
      ready: 'it is ready', // not reached: ready servers take calls
      restarting: 'it is restarting',
      backoff: `its last start failed (${last}); next attempt in ${this.#dueIn()}`,
      crashloop: `it is in a crash loop after ${this.#failures} failures in a row (last: ${last}); next attempt in ${this.#dueIn()}`,
      failed: this.#config.unresolved
        ? `its config entry cannot be used: ${last}`
        : `it failed and restarts are off for it: ${last}`,
      draining: this.#retired
        ? 'it was removed from the config and is finishing its calls'
        : 'it was turned off by a config change and is finishing its calls',
      closed: this.#retired ? `it was removed from the config` : 'it was closed',
    }[state];
    return new SwitchboardError('E_UPSTREAM_UNAVAILABLE', `server '${this.name}' cannot take calls: ${why}`, {
      cause: this.#error,
      data: { server: this.name, state, failures: this.#failures },
    });
  }

  #dueIn(): string {
    const phase = this.#phase;
    if (phase.connecting) return 'progress now';
    if (phase.due === undefined) return 'never';
    return `${Math.max(0, Math.round(phase.due - performance.now()))} ms`;
  }

  // ---- the transition function --------------------------------------------------------------------

  #handle(event: SupervisorEvent): void {
    const phase = this.#phase;
    if ('gen' in event && event.gen !== phase.gen) return; // an older connection's news: not ours any more
    const rule = TRANSITIONS[phase.state][event.type];
    const step = rule?.(this.#view(), event);
    if (!step) return;
    const to: ServerState = step.to ?? phase.state;
    // Leave the old phase: its timer and health loop go; a start it had in progress is abandoned unless
    // this event is that start's own outcome.
    clearTimeout(phase.timer);
    phase.health?.stop();
    const outcome = event.type === 'connected' || event.type === 'start-failed';
    if (phase.connecting && !outcome) phase.abort?.abort(this.#stopped ?? reloadReason(this.name));
    const next = newPhase(to, phase.gen);
    // Recorded before any effect runs.
    this.#phase = next;
    if (step.clearFailures) this.#failures = 0;
    if (step.failure) this.#failures++;
    if (step.restart) this.#restarts++;
    if (step.error !== undefined) this.#error = step.error ?? undefined;
    if (event.type === 'connected') {
      this.#description = event.description;
      this.#readySince = performance.now();
    }
    for (const effect of step.effects) {
      if (this.#phase !== next) return; // an effect re-entered and moved on: the rest is not ours to do
      this.#run(effect, next);
    }
    if (this.#phase !== next) return;
    if (!step.quiet) {
      const error = explainedByError(to) ? this.#error : undefined;
      this.#tell(() => this.#events.state(to, error));
    }
    for (const check of this.#watchers) check();
    if (event.type === 'connected' && this.#phase === next)
      this.#tell(() => this.#events.ready(event.description, next.gen));
  }

  #view(): MachineView {
    return {
      name: this.name,
      config: this.#config,
      failures: this.#failures,
      connecting: this.#phase.connecting,
      hasHost: this.#host !== undefined,
      uptime: performance.now() - this.#readySince,
      dueIn: this.#phase.due === undefined ? undefined : this.#phase.due - performance.now(),
      retired: this.#retired,
    };
  }

  #run(effect: Effect, phase: Phase): void {
    switch (effect.do) {
      case 'pause':
        this.mailbox.pause();
        return;
      case 'resume':
        this.mailbox.resume();
        return;
      case 'reject-waiting':
        this.mailbox.rejectWaiting(effect.error ?? this.unavailable());
        return;
      case 'close-mailbox':
        this.mailbox.close(effect.reason);
        return;
      case 'close-host': {
        const host = this.#host;
        this.#host = undefined;
        if (host) this.#closeHost(host, effect.reason);
        return;
      }
      case 'connect':
        this.#connect(phase);
        return;
      case 'arm-retry':
        phase.due = performance.now() + effect.delayMs;
        // Not unref'd: a server that is to be brought back is work in progress, and keeps the process up.
        phase.timer = setTimeout(
          () => this.#handle({ type: 'timer' }),
          Math.min(effect.delayMs, MAX_TIMER_MS),
        );
        return;
      case 'arm-drain': {
        const done = () => {
          if (this.#phase === phase) this.#handle({ type: 'drained' });
        };
        phase.timer = setTimeout(done, Math.min(Math.max(0, this.#drainMs), MAX_TIMER_MS));
        void (effect.until === 'idle' ? this.mailbox.onIdle() : this.mailbox.onNoneRunning()).then(done);
        return;
      }
      case 'watch-health':
        this.#watchHealth(phase);
        return;
    }
  }

  /** One connection attempt, of a new generation, owned by `phase`. */
  #connect(phase: Phase): void {
    const gen = ++this.#generation;
    phase.gen = gen;
    phase.connecting = true;
    phase.due = undefined;
    const abort = new AbortController();
    phase.abort = abort;
    const first = this.#startSignal;
    this.#startSignal = undefined;
    const host = this.#factory(this.#config, this.#hostEvents(gen), {
      capabilities: this.#events.capabilities?.(this.#config),
    });
    this.#host = host;
    const signal = first ? AbortSignal.any([first, abort.signal]) : abort.signal;
    // An outcome nobody waits for any more (the phase moved on) closes its own connection, unless the
    // phase that moved on still holds it (to close it in its own time).
    host.start({ signal }).then(
      (description) => {
        this.#handle({ type: 'connected', gen, description });
        if (this.#host !== host) this.#closeHost(host, this.#stopped ?? reloadReason(this.name));
      },
      (err: unknown) => {
        const error = asStartError(this.name, err);
        this.#handle({ type: 'start-failed', gen, error });
        if (this.#host !== host) this.#closeHost(host, error);
      },
    );
  }

  /** Closes a connection once, tracked so that stop() can wait for it. */
  #closeHost(host: UpstreamHost, reason: SwitchboardError): void {
    if (this.#closed.has(host)) return;
    this.#closed.add(host);
    const done = host
      .close(this.#stopped ?? reason, { now: this.#now })
      .catch(() => {})
      .finally(() => this.#closing.delete(host));
    this.#closing.set(host, done);
  }

  async #allClosed(): Promise<void> {
    while (this.#closing.size > 0) await Promise.all([...this.#closing.values()]);
  }

  #watchHealth(phase: Phase): void {
    const policy = this.#config.health;
    const host = this.#host;
    if (policy === false || !host) return;
    const gen = phase.gen;
    phase.health = new HealthLoop(
      () => this.#config.health,
      (timeoutMs) => host.request('ping', undefined, { timeoutMs }),
      (misses, timeoutMs, err) =>
        this.#handle({ type: 'lost', gen, reason: this.#missedReason(misses, timeoutMs, err) }),
    );
  }

  #missedReason(misses: number, timeoutMs: number, err: SwitchboardError): SwitchboardError {
    return new SwitchboardError(
      'E_UPSTREAM_CLOSED',
      err.code === 'E_TIMEOUT'
        ? `server '${this.name}' stopped answering: ${misses} pings in a row got no answer within ${timeoutMs} ms; it was restarted`
        : `server '${this.name}' cannot be reached: ${misses} pings in a row failed (${err.message}); it was restarted`,
      { cause: err, data: { server: this.name, health: true, missedPings: misses } },
    );
  }

  #hostEvents(gen: number): HostEvents {
    const current = () => gen === this.#generation && !this.#stopped;
    return {
      notification: (message) => {
        if (current()) this.#tell(() => this.#events.notification(message));
      },
      warning: (error) => {
        if (current()) this.#tell(() => this.#events.warning(error));
      },
      stderr: (line) => {
        if (current()) this.#tell(() => this.#events.stderr(line));
      },
      close: (reason) => this.#handle({ type: 'lost', gen, reason }),
      serverRequest: (request, link, signal) => {
        const ask = this.#events.serverRequest;
        if (!current() || !ask) return Promise.reject(new Error(`'${this.name}' is not taking requests now`));
        return ask(request, link, signal);
      },
    };
  }

  /** Resolves once no start is in progress: ready, or rejects with why not. */
  #settled(): Promise<void> {
    return this.#until(() => !this.#phase.connecting && this.#phase.state !== 'starting').then(() => {
      if (this.#phase.state === 'ready') return;
      throw this.#stopped ?? this.#error ?? this.unavailable();
    });
  }

  #until(done: () => boolean): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (!done()) return;
        this.#watchers.delete(check);
        resolve();
      };
      this.#watchers.add(check);
    });
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

function newPhase(state: ServerState, gen: number): Phase {
  return {
    state,
    gen,
    connecting: false,
    abort: undefined,
    timer: undefined,
    due: undefined,
    health: undefined,
  };
}

/**
 * Periodic `ping` on one connection: one loop, one ping at a time. A new policy (an in-place reload)
 * takes effect at the next ping; it never starts a second loop. Owned by the `ready` phase.
 */
class HealthLoop {
  #policy: () => HealthPolicy | false;
  #ping: (timeoutMs: number) => Promise<unknown>;
  #dead: (misses: number, timeoutMs: number, err: SwitchboardError) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #inFlight = false;
  #misses = 0;
  #stopped = false;

  constructor(
    policy: () => HealthPolicy | false,
    ping: (timeoutMs: number) => Promise<unknown>,
    dead: (misses: number, timeoutMs: number, err: SwitchboardError) => void,
  ) {
    this.#policy = policy;
    this.#ping = ping;
    this.#dead = dead;
    this.#arm();
  }

  /** The policy changed: the wait in progress starts again at the new interval; a ping in flight goes on. */
  reschedule(): void {
    if (this.#stopped || this.#inFlight) return;
    clearTimeout(this.#timer);
    this.#arm();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #arm(): void {
    const policy = this.#policy();
    if (policy === false || this.#stopped) return;
    this.#timer = setTimeout(() => this.#check(), policy.intervalMs);
    this.#timer.unref(); // nothing waits on a health check: it must not keep the process alive
  }

  #check(): void {
    const policy = this.#policy();
    if (policy === false || this.#stopped) return;
    this.#inFlight = true;
    this.#ping(policy.timeoutMs).then(
      () => this.#answered(true, policy, undefined),
      // Any answer, even an error, means the server is alive. Silence counts against it, and so does a
      // ping that cannot be sent: an HTTP server that went away, or a process that closed its stdin but
      // lives on, never "closes" the connection.
      (err: unknown) => this.#answered(err instanceof RpcError, policy, err),
    );
  }

  #answered(alive: boolean, policy: HealthPolicy, err: unknown): void {
    this.#inFlight = false;
    if (this.#stopped) return;
    this.#misses = alive ? 0 : this.#misses + 1;
    if (this.#misses >= policy.failures) {
      this.#stopped = true;
      this.#dead(this.#misses, policy.timeoutMs, asSwitchboardError('ping', err));
      return;
    }
    this.#arm();
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
      timer = setTimeout(r, Math.min(ms, MAX_TIMER_MS));
    }),
  ]);
  clearTimeout(timer);
}
