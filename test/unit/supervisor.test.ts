import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_RESTART, parseConfig, type ServerConfig } from '../../src/config/config.js';
import { SwitchboardError } from '../../src/core/errors.js';
import { backoffDelay, type ServerState, Supervisor } from '../../src/switchboard/supervisor.js';
import type { ServerDescription } from '../../src/upstream/connection.js';
import type { HostEvents, UpstreamHost } from '../../src/upstream/host.js';

test('a backoff delay never exceeds what a timer can hold, jitter included', () => {
  const huge = { ...DEFAULT_RESTART, initialDelayMs: 2 ** 31 - 1, maxDelayMs: 2 ** 31 - 1, jitter: 1 };
  assert.equal(
    backoffDelay(huge, 3, () => 0.999999),
    2 ** 31 - 1,
  );
});

test('backoff doubles from initialDelayMs up to maxDelayMs, moved by at most the jitter fraction', () => {
  const policy = { ...DEFAULT_RESTART, initialDelayMs: 100, maxDelayMs: 1000, jitter: 0.2 };
  const mid = () => 0.5;
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((n) => backoffDelay(policy, n, mid)),
    [100, 200, 400, 800, 1000, 1000],
  );
  assert.equal(
    backoffDelay(policy, 3, () => 0),
    320,
  );
  assert.equal(
    backoffDelay(policy, 3, () => 0.999999),
    480,
  );
  assert.equal(backoffDelay({ ...policy, jitter: 0 }, 3, Math.random), 400);
});

/** A host that the test drives by hand: it starts when told, and emits what the test makes it emit. */
class FakeHost implements UpstreamHost {
  readonly isolation = 'inline' as const;
  readonly server: string;
  readonly events: HostEvents;
  closedWith: SwitchboardError | undefined | null = null;
  #up!: (d: ServerDescription) => void;
  #fail!: (e: Error) => void;
  #start = new Promise<ServerDescription>((resolve, reject) => {
    this.#up = resolve;
    this.#fail = reject;
  });
  constructor(server: string, events: HostEvents) {
    this.server = server;
    this.events = events;
  }
  up(): void {
    this.#up({ protocolVersion: '2025-11-25', era: 'legacy', capabilities: {} });
  }
  fail(message: string): void {
    this.#fail(new SwitchboardError('E_START_FAILED', message));
  }
  start(): Promise<ServerDescription> {
    return this.#start;
  }
  request(_method?: string): Promise<unknown> {
    return Promise.resolve({});
  }
  notify(): Promise<void> {
    return Promise.resolve();
  }
  stats() {
    return Promise.resolve({ pending: 0, late: 0, unknown: 0, lateProgress: 0, badMessages: 0 });
  }
  stderrTail(): Promise<string[]> {
    return Promise.resolve([]);
  }
  close(reason?: SwitchboardError): Promise<void> {
    this.closedWith ??= reason;
    return Promise.resolve();
  }
}

function setup<H extends FakeHost = FakeHost>(
  restart: object = { initialDelayMs: 10, jitter: 0 },
  opts: {
    Host?: new (server: string, events: HostEvents) => H;
    health?: object | false;
    onState?: (state: ServerState, sup: Supervisor) => void;
  } = {},
) {
  const config: ServerConfig = parseConfig({
    mcpServers: { s: { command: 'x', health: opts.health ?? false, restart } },
  }).servers[0]!;
  const Host = opts.Host ?? (FakeHost as unknown as new (server: string, events: HostEvents) => H);
  const hosts: H[] = [];
  const states: ServerState[] = [];
  const notes: string[] = [];
  const sup: Supervisor = new Supervisor(
    config,
    (cfg, events) => {
      const h = new Host(cfg.name, events);
      hosts.push(h);
      return h;
    },
    {
      state: (s) => {
        states.push(s);
        opts.onState?.(s, sup);
      },
      ready: () => {},
      notification: (m) => notes.push(m.method),
      warning: () => {},
      stderr: () => {},
    },
  );
  return { sup, hosts, states, notes, config };
}

const closed = (msg: string) => new SwitchboardError('E_UPSTREAM_CLOSED', msg);

test('events from an older connection are ignored once a newer one exists', async () => {
  const { sup, hosts, states, notes } = setup();
  const started = sup.start();
  hosts[0]!.up();
  await started;
  hosts[0]!.events.close?.(closed('first died'));
  assert.equal(sup.state, 'restarting');
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(hosts.length, 2, 'one new attempt');
  hosts[1]!.up();
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(sup.state, 'ready');
  assert.equal(sup.generation, 2);
  // The dead connection speaks again: a late close and a late notification. Neither counts.
  hosts[0]!.events.close?.(closed('first died, again'));
  hosts[0]!.events.notification?.({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' });
  hosts[1]!.events.notification?.({ jsonrpc: '2.0', method: 'notifications/message' });
  assert.equal(sup.state, 'ready');
  assert.deepEqual(notes, ['notifications/message']);
  assert.deepEqual(states, ['starting', 'ready', 'restarting', 'ready']);
  assert.equal(hosts[0]!.closedWith?.message, 'first died');
  await sup.stop(closed('done'));
});

test('one attempt at a time: a restart that is due while a reload starts the server is dropped', async () => {
  const { sup, hosts } = setup({ initialDelayMs: 5, jitter: 0 });
  const started = sup.start();
  hosts[0]!.up();
  await started;
  hosts[0]!.events.close?.(closed('died'));
  // Before the restart timer fires, a reload replaces the config: the timer is cleared.
  const reconf = sup.reconfigure({ ...sup.config, timeoutMs: 1234 }, 0);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(hosts.length, 2);
  hosts[1]!.up();
  await reconf;
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(hosts.length, 2, 'no second attempt from the old timer');
  assert.equal(sup.state, 'ready');
  assert.equal(sup.config.timeoutMs, 1234);
  await sup.stop(closed('done'));
});

test('a run shorter than stableAfterMs counts as a failure; a long one clears the count', async () => {
  const { sup, hosts, states } = setup({
    initialDelayMs: 1,
    jitter: 0,
    crashLoopAfter: 3,
    stableAfterMs: 60_000,
  });
  const started = sup.start();
  hosts[0]!.up();
  await started;
  for (let i = 0; i < 3; i++) {
    hosts[i]!.events.close?.(closed(`crash ${i}`));
    if (i < 2) {
      await new Promise((r) => setTimeout(r, 10));
      hosts[i + 1]!.up();
      await new Promise((r) => setTimeout(r, 0));
    }
  }
  assert.equal(sup.state, 'crashloop');
  assert.equal(sup.failures, 3);
  assert.equal(sup.restarts, 3);
  assert.equal(states.at(-1), 'crashloop');
  assert.equal(sup.unavailable().code, 'E_UPSTREAM_UNAVAILABLE');
  assert.match(sup.unavailable().message, /crash loop after 3 failures in a row \(last: crash 2\)/);
  await sup.stop(closed('done'));
});

test('a failed start schedules the next one and tells waiting calls now, with the reason', async () => {
  const { sup, hosts, states } = setup({ initialDelayMs: 5, jitter: 0 });
  const started = sup.start();
  hosts[0]!.fail('no such command');
  await assert.rejects(started, /no such command/);
  assert.equal(sup.state, 'backoff');
  assert.match(
    sup.unavailable().message,
    /its last start failed \(no such command\); next attempt in \d+ ms/,
  );
  await new Promise((r) => setTimeout(r, 20));
  hosts[1]!.up();
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(states, ['starting', 'backoff', 'ready']);
  assert.equal(sup.failures, 1, 'a start alone does not clear the count; a stable run does');
  await sup.stop(closed('done'));
});

/** A host whose close() fires its own close event synchronously, as the SDK's HTTP and SSE transports do. */
class ReentrantHost extends FakeHost {
  override close(reason?: SwitchboardError): Promise<void> {
    this.events.close?.(reason ?? closed('closed by the switchboard'));
    return super.close(reason);
  }
}

test('a lost connection whose close() re-enters the supervisor is handled once', async () => {
  const { sup, hosts, states } = setup(undefined, { Host: ReentrantHost });
  const started = sup.start();
  hosts[0]!.up();
  await started;
  hosts[0]!.events.close?.(closed('went away'));
  assert.equal(sup.restarts, 1);
  assert.equal(sup.failures, 1);
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(hosts.length, 2, 'one restart, not two');
  hosts[1]!.up();
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(states, ['starting', 'ready', 'restarting', 'ready']);
  await sup.stop(closed('done'));
  assert.notEqual(hosts[1]!.closedWith, null, 'the live connection was closed by stop()');
});

test('a state listener that stops the supervisor mid-transition leaves no timer and no new connection', async () => {
  let stopping: Promise<void> | undefined;
  const { sup, hosts, states } = setup(undefined, {
    onState: (s, sup) => {
      if (s === 'restarting') stopping = sup.stop(closed('stopped from a listener'));
    },
  });
  const started = sup.start();
  hosts[0]!.up();
  await started;
  hosts[0]!.events.close?.(closed('gone'));
  await stopping;
  assert.equal(sup.state, 'closed');
  assert.equal(sup.nextAttemptAt, undefined, 'no restart is due');
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(hosts.length, 1, 'no new connection after the stop');
  assert.deepEqual(states, ['starting', 'ready', 'restarting', 'closed']);
});

/** A host whose pings the test answers by hand, to see how many are in flight at once. */
class PingHost extends FakeHost {
  inFlight = 0;
  maxInFlight = 0;
  pings = 0;
  override request(method: string): Promise<unknown> {
    if (method !== 'ping') return Promise.resolve({});
    this.pings++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise((resolve) =>
      setTimeout(() => {
        this.inFlight--;
        resolve({});
      }, 30),
    );
  }
}

test('an in-place update during a ping keeps one ping loop', async () => {
  const { sup, hosts, config } = setup(undefined, {
    Host: PingHost,
    health: { intervalMs: 10, timeoutMs: 1000, failures: 2 },
  });
  const started = sup.start();
  hosts[0]!.up();
  await started;
  for (let i = 0; i < 8; i++) {
    await new Promise((r) => setTimeout(r, 25));
    sup.update({ ...config, timeoutMs: 1000 + i });
  }
  await new Promise((r) => setTimeout(r, 100));
  await sup.stop(closed('done'));
  assert.equal(hosts[0]!.maxInFlight, 1, 'never two pings at once');
  // One loop: a ping every 10 + 30 ms at most, over about 300 ms.
  assert.ok(hosts[0]!.pings <= 10, `${hosts[0]!.pings} pings`);
});

test('a connection lost before its start was taken as done is a failed start, not a ready server', async () => {
  const { sup, hosts, states } = setup({ initialDelayMs: 10_000, jitter: 0 });
  const started = sup.start().catch((e: unknown) => e);
  hosts[0]!.events.close?.(closed('exited right after its handshake'));
  hosts[0]!.up(); // the start's own outcome, after the loss
  assert.match(String(await started), /exited right after its handshake/);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(sup.state, 'backoff');
  assert.deepEqual(states, ['starting', 'backoff']);
  await sup.stop(closed('done'));
});

test('a state event carries an error only where the error explains the state', async () => {
  const config: ServerConfig = parseConfig({
    mcpServers: { s: { command: 'x', health: false, restart: { initialDelayMs: 10_000, jitter: 0 } } },
  }).servers[0]!;
  const hosts: FakeHost[] = [];
  const events: [ServerState, string | undefined][] = [];
  const sup = new Supervisor(
    config,
    (cfg, ev) => {
      const h = new FakeHost(cfg.name, ev);
      hosts.push(h);
      return h;
    },
    {
      state: (s, e) => events.push([s, e?.message]),
      ready: () => {},
      notification: () => {},
      warning: () => {},
      stderr: () => {},
    },
  );
  const started = sup.start().catch(() => {});
  hosts[0]!.fail('no licence');
  await started;
  await sup.stop(closed('done'));
  assert.deepEqual(events, [
    ['starting', undefined],
    ['backoff', 'no licence'],
    ['closed', undefined],
  ]);
});
