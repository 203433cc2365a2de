/**
 * The benchmark harness's smoke run (`node bench/run.mjs --smoke`), so that the harness cannot rot: every
 * contender runs with tiny counts, real processes, and the JSON it writes is checked. No timing is
 * asserted, only that each figure exists, is positive, and that each ratio is taken against the reference
 * rows of the same run. Contenders that need bench/node_modules run when it is installed; otherwise they
 * must be reported skipped with the command that installs it, and this test says so with a skip.
 * The machine (CPU, cores, load averages) is recorded, and on a busy machine no target is judged.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, waitFor } from '../helpers.js';

const BENCH = join(ROOT, 'bench');
const OUT = 'results/smoke-test'; // under bench/, ignored by git like every results/smoke*
const INSTALL = 'npm --prefix bench ci --no-audit --no-fund';

const ROOT_ONLY = [
  'floor',
  'sdk2-stdio',
  'sdk2-stdio-sdkserver',
  'switchboard-inline',
  'switchboard-thread',
  'switchboard-gateway',
  'floor-fanout',
  'sdk2-fanout',
  'switchboard-inline-fanout',
  'switchboard-thread-fanout',
  'c1-interleaved',
  'memory-inline',
  'memory-thread',
  'switchboard-upstreams',
  'floor-upstreams',
  'floor-message',
  'switchboard-inline-message',
  'switchboard-thread-message',
];
const NEED_BENCH_DEPS = [
  'sdk1-stdio',
  'sdk1-fanout',
  'mcp-proxy-http',
  'mcp-proxy-http+undici',
  'supergateway-http',
  'supergateway-http+undici',
  'mcp-hub-sse',
  'mcp-hub-sse+undici',
  'switchboard-gateway+undici',
  'switchboard-gateway-fanout+undici',
  'gateway-sessions',
  'gateway-catalog',
];
/** The growth rows: per size, the figures they must have (`figure@size`), and those taken against size 1. */
const GROWTH: Record<string, { sizes: 'sessions' | 'upstreams' | 'catalog' | 'message'; figures: string[] }> =
  {
    'gateway-sessions': {
      sizes: 'sessions',
      figures: ['p50Us', 'callsPerSec', 'loadedP50Us', 'heapPerSessionKB', 'gatewayRssMB', 'openMs'],
    },
    'switchboard-upstreams': {
      sizes: 'upstreams',
      figures: ['p50Us', 'callsPerSec', 'spreadP50Us', 'spreadCallsPerSec', 'startMs', 'upstreamRssMB'],
    },
    'floor-upstreams': {
      sizes: 'upstreams',
      figures: ['p50Us', 'callsPerSec', 'spreadP50Us', 'spreadCallsPerSec', 'startMs', 'upstreamRssMB'],
    },
    'gateway-catalog': {
      sizes: 'catalog',
      figures: ['p50Us', 'callsPerSec', 'listMs', 'listUsPerTool', 'listPages', 'gatewayRssMB'],
    },
    'floor-message': { sizes: 'message', figures: ['p50Us', 'callsPerSec', 'mbPerSec', 'loadedP50Us'] },
    'switchboard-inline-message': { sizes: 'message', figures: ['p50Us', 'callsPerSec', 'mbPerSec'] },
    'switchboard-thread-message': { sizes: 'message', figures: ['p50Us', 'callsPerSec', 'mbPerSec'] },
  };
/** Reference rows of each scenario's ratios. */
const REFS: Record<string, { floor: string; sdk: string }> = {
  single: { floor: 'floor', sdk: 'sdk2-stdio' },
  fanout: { floor: 'floor-fanout', sdk: 'sdk2-fanout' },
};

interface Row {
  name: string;
  scenario: string;
  needs: 'root' | 'bench';
  status: 'ok' | 'error' | 'skipped';
  reason?: string;
  p50Us?: number;
  p99Us?: number;
  callsPerSec?: number;
  loadedP50Us?: number;
  servers?: number;
  upstreams?: number;
  rssPerUpstreamMB?: number;
  heapPerUpstreamKB?: number;
  ratios: Record<string, number | null>;
  ratioRefs?: Record<string, string>;
  [figure: `${string}@${number}`]: number | null | undefined;
}
interface Target {
  value: number | null;
  target: number;
  met: boolean | null;
  verdict: string;
}
interface Report {
  machine: {
    cpuModel: string;
    cores: number;
    loadAvgAtStart: number[];
    loadAvgAtEnd: number[];
    loadSamples: { at: string; loadAvg: number[]; otherCores: number | null }[];
  };
  config: {
    smoke: boolean;
    fanoutServers: number;
    memoryUpstreams: number;
    busyCpu: number;
    sizes: Record<'sessions' | 'upstreams' | 'catalog' | 'message', number[]>;
  };
  summary: {
    load: { limit: number; peakLoadAvg1: number; peakOtherCores: number | null; busy: boolean };
    targets: Record<string, Target>;
  };
  results: Row[];
}

/** Pids of processes whose command line runs something from this checkout's bench/ (Linux /proc). */
function benchProcesses(): Set<number> {
  const found = new Set<number>();
  if (!existsSync('/proc/self/cmdline')) return found;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(`${BENCH}/`)) found.add(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function runSmoke(
  out = OUT,
  extra: string[] = [],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(BENCH, 'run.mjs'), '--smoke', '--out', out, ...extra],
      { cwd: ROOT, timeout: 120_000, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const positive = (v: number | undefined): boolean => typeof v === 'number' && Number.isFinite(v) && v > 0;
const close = (a: number | null | undefined, b: number): boolean =>
  typeof a === 'number' && Math.abs(a - b) <= 1e-9 * Math.abs(b);
const readReport = (out: string): Report =>
  JSON.parse(readFileSync(join(BENCH, `${out}.json`), 'utf8')) as Report;
const loadAvg = (v: unknown): boolean =>
  Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0);

/** The machine and the load averages are in the report; `busy` follows the samples; a busy run judges nothing. */
function checkMachineAndVerdicts(report: Report, stdout: string, rounds: number): void {
  const { machine, summary } = report;
  assert.equal(typeof machine.cpuModel, 'string');
  assert.ok(machine.cpuModel.length > 0, 'cpu model is empty');
  assert.ok(Number.isInteger(machine.cores) && machine.cores > 0, `cores ${machine.cores}`);
  assert.ok(loadAvg(machine.loadAvgAtStart), `loadAvgAtStart ${machine.loadAvgAtStart}`);
  assert.ok(loadAvg(machine.loadAvgAtEnd), `loadAvgAtEnd ${machine.loadAvgAtEnd}`);
  const expected = ['start'];
  for (let round = 1; round <= rounds; round++)
    expected.push(`round ${round} before`, `round ${round} after`);
  expected.push('end');
  assert.deepEqual(
    machine.loadSamples.map((s) => s.at),
    expected,
  );
  for (const s of machine.loadSamples) assert.ok(loadAvg(s.loadAvg), `${s.at}: ${s.loadAvg}`);
  const peak = Math.max(...machine.loadSamples.map((s) => s.loadAvg[0]!));
  assert.equal(summary.load.peakLoadAvg1, peak);
  // Other work: cores used outside the bench's process tree between samples (null without /proc, or for
  // an interval too short for the clock); busy when any reached the limit.
  const others = machine.loadSamples.map((s) => s.otherCores).filter((v): v is number => v !== null);
  for (const v of others) assert.ok(Number.isFinite(v) && v >= 0, `otherCores ${v}`);
  assert.ok(others.length > 0, 'a run of at least one round measures other work on Linux');
  assert.equal(summary.load.peakOtherCores, Math.max(...others));
  assert.equal(summary.load.limit, report.config.busyCpu);
  assert.equal(summary.load.busy, Math.max(...others) >= report.config.busyCpu);
  assert.ok(stdout.includes(`machine: ${machine.cpuModel}, ${machine.cores} cores`), stdout.slice(0, 500));
  for (const [key, t] of Object.entries(summary.targets)) {
    if (t.value === null) {
      assert.deepEqual([t.met, t.verdict], [null, 'not measured'], key);
    } else if (summary.load.busy) {
      assert.deepEqual([t.met, t.verdict], [null, 'not judged: busy machine'], key);
    } else {
      assert.equal(typeof t.met, 'boolean', key);
      assert.equal(t.verdict, t.met ? 'met' : 'not met', key);
    }
  }
  const warning = `busy machine: other work used ${summary.load.peakOtherCores?.toFixed(2)} cores`;
  assert.equal(
    stdout.includes(warning),
    summary.load.busy,
    `"${warning}" in the output: ${stdout.slice(0, 500)}`,
  );
}

test('bench smoke: every contender runs, figures are positive, ratios come from the same run', {
  timeout: 150_000,
}, async (t) => {
  const before = benchProcesses();
  const run = await runSmoke();
  assert.equal(run.code, 0, `bench --smoke failed:\n${run.stderr.slice(-3000)}`);
  const report = readReport(OUT);
  assert.ok(existsSync(join(BENCH, `${OUT}.svg`)));
  assert.equal(report.config.smoke, true);
  const rows = new Map(report.results.map((r) => [r.name, r]));
  const benchDeps = existsSync(join(BENCH, 'node_modules'));

  const checkFigures = (r: Row) => {
    assert.equal(r.status, 'ok', `${r.name}: ${r.status} ${r.reason ?? ''}`);
    if (r.scenario === 'interleaved') {
      const figures = r as unknown as Record<string, number>;
      for (const path of ['floor', 'sdk2-stdio', 'switchboard-inline', 'switchboard-thread']) {
        assert.ok(positive(figures[`p50Us:${path}`]), `${r.name} p50Us:${path}`);
        assert.ok(positive(figures[`toFloor:${path}`]), `${r.name} toFloor:${path}`);
      }
      assert.equal(figures['toFloor:floor'], 1);
      return;
    }
    const growth = GROWTH[r.name];
    if (growth) {
      const sizes = report.config.sizes[growth.sizes];
      assert.ok(sizes.length >= 2, `${r.name}: sizes ${sizes}`);
      const figures = r as unknown as Record<string, number>;
      for (const size of sizes) {
        for (const key of growth.figures) {
          // Memory growth over a session or two is the collector's noise: it may come out below 0.
          const ok = /PerSession/.test(key) ? Number.isFinite : positive;
          assert.ok(ok(figures[`${key}@${size}`]), `${r.name} ${key}@${size} = ${figures[`${key}@${size}`]}`);
        }
      }
      return;
    }
    if (r.scenario === 'memory') {
      assert.equal(r.upstreams, report.config.memoryUpstreams, r.name);
      assert.ok(positive(r.rssPerUpstreamMB), `${r.name} rssPerUpstreamMB ${r.rssPerUpstreamMB}`);
      assert.ok(Number.isFinite(r.heapPerUpstreamKB), `${r.name} heapPerUpstreamKB`);
      return;
    }
    for (const key of ['p50Us', 'p99Us', 'callsPerSec', 'loadedP50Us'] as const) {
      assert.ok(positive(r[key]), `${r.name} ${key} = ${r[key]}`);
    }
    assert.ok(r.p99Us! >= r.p50Us!, `${r.name}: p99 below p50`);
    const refs = REFS[r.scenario];
    if (!refs) return;
    // Each ratio is this row's figure over its reference row's, from this very report.
    assert.deepEqual(r.ratioRefs, refs, r.name);
    const floor = rows.get(refs.floor)!;
    const sdk = rows.get(refs.sdk)!;
    assert.ok(close(r.ratios.p50ToFloor, r.p50Us! / floor.p50Us!), `${r.name} p50ToFloor`);
    assert.ok(close(r.ratios.throughputToFloor, r.callsPerSec! / floor.callsPerSec!), `${r.name} calls/s`);
    assert.ok(close(r.ratios.p50ToSdk, r.p50Us! / sdk.p50Us!), `${r.name} p50ToSdk`);
    assert.ok(close(r.ratios.throughputToSdk, r.callsPerSec! / sdk.callsPerSec!), `${r.name} calls/s sdk`);
  };

  await t.test('contenders on the root dependencies alone', () => {
    for (const name of ROOT_ONLY) {
      const r = rows.get(name);
      assert.ok(r, `${name} missing from the report`);
      assert.equal(r.needs, 'root', name);
      checkFigures(r);
    }
    for (const name of ['floor-fanout', 'sdk2-fanout', 'switchboard-inline-fanout']) {
      assert.equal(rows.get(name)!.servers, report.config.fanoutServers, name);
    }
    // Growth: each size's ratio to the smallest is its own row's (one round: exactly the quotient).
    const sizes = report.config.sizes;
    for (const [name, key, list] of [
      ['switchboard-upstreams', 'p50Us', sizes.upstreams],
      ['switchboard-upstreams', 'spreadCallsPerSec', sizes.upstreams],
      ['floor-upstreams', 'callsPerSec', sizes.upstreams],
    ] as const) {
      const r = rows.get(name)!;
      const first = r[`${key}@${list[0]!}`] as number;
      for (const size of list) {
        const toFirst = r[`${key}ToFirst@${size}`];
        assert.ok(close(toFirst, (r[`${key}@${size}`] as number) / first), `${name} ${key}ToFirst@${size}`);
      }
      assert.equal(r[`servers@${list.at(-1)!}`], list.at(-1), name);
    }
    // Upstreams net of the floor, and message size against the floor: the two rows' ratios of the round.
    const sw = rows.get('switchboard-upstreams')!;
    const fl = rows.get('floor-upstreams')!;
    for (const size of sizes.upstreams) {
      const net = sw[`netCallsPerSecToFirst@${size}`];
      const want =
        (sw[`callsPerSecToFirst@${size}`] as number) / (fl[`callsPerSecToFirst@${size}`] as number);
      assert.ok(close(net, want), `netCallsPerSecToFirst@${size}`);
    }
    const floorMessage = rows.get('floor-message')!;
    for (const name of ['switchboard-inline-message', 'switchboard-thread-message']) {
      const r = rows.get(name)!;
      for (const size of sizes.message) {
        const want = (r[`mbPerSec@${size}`] as number) / (floorMessage[`mbPerSec@${size}`] as number);
        assert.ok(close(r[`mbPerSecToFloor@${size}`], want), `${name} mbPerSecToFloor@${size}`);
      }
    }
    // Every growth scenario that ran has its chart next to the JSON.
    for (const scenario of ['upstreams', 'message-size']) {
      assert.ok(existsSync(join(BENCH, `${OUT}-${scenario}.svg`)), `${OUT}-${scenario}.svg`);
    }
  });

  await t.test('contenders that need bench/node_modules', (st) => {
    for (const name of NEED_BENCH_DEPS) {
      const r = rows.get(name);
      assert.ok(r, `${name} missing from the report`);
      assert.equal(r.needs, 'bench', name);
      if (benchDeps) {
        checkFigures(r);
        if (r.scenario === 'sessions' || r.scenario === 'catalog') {
          assert.ok(existsSync(join(BENCH, `${OUT}-${r.scenario}.svg`)), `${OUT}-${r.scenario}.svg`);
        }
        if (r.scenario === 'fanout') assert.equal(r.servers, report.config.fanoutServers, name);
      } else {
        assert.equal(r.status, 'skipped', name);
        assert.ok(r.reason?.includes(INSTALL), `${name}: ${r.reason}`);
      }
    }
    if (!benchDeps)
      st.skip(`bench/node_modules is not installed, so SDK 1.x and the peers were skipped: ${INSTALL}`);
  });

  await t.test('the machine and its load averages are recorded; a busy run judges no target', () => {
    assert.equal(report.config.busyCpu, 0.2);
    checkMachineAndVerdicts(report, run.stdout, 1);
  });

  await t.test('no process is left behind', async () => {
    const left = () => [...benchProcesses()].filter((pid) => !before.has(pid));
    assert.ok(await waitFor(() => left().length === 0, 5_000, 50), `still running: ${left().join(', ')}`);
  });
});

test('bench: a run on a busy machine judges no target; on a quiet one it does', {
  timeout: 90_000,
}, async (t) => {
  // The threshold is moved instead of the machine's load: 0 makes every run busy, 1e6 none.
  const only = ['--only', 'floor,switchboard-inline'];
  for (const [name, busyCpu, busy] of [
    ['busy', '0', true],
    ['quiet', '1000000', false],
  ] as const) {
    await t.test(`${name}: --busy-cpu ${busyCpu}`, async () => {
      const out = `${OUT}-${name}`;
      const run = await runSmoke(out, [...only, '--busy-cpu', busyCpu]);
      assert.equal(run.code, 0, `bench failed:\n${run.stderr.slice(-3000)}`);
      const report = readReport(out);
      assert.equal(report.summary.load.busy, busy);
      checkMachineAndVerdicts(report, run.stdout, 1);
      // The floor and the inline row ran, so these two have figures and would be judged.
      for (const key of ['inlineP50ToFloor', 'inlineThroughputToFloor']) {
        const target = report.summary.targets[key]!;
        assert.equal(typeof target.value, 'number', key);
        assert.equal(target.met === null, busy, `${key}: ${target.verdict}`);
      }
    });
  }

  await t.test('a bad --busy-cpu is refused with what to pass', async () => {
    const run = await runSmoke(`${OUT}-bad`, [...only, '--busy-cpu', 'lots']);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /--busy-cpu wants the cores other work may use \(a number >= 0\), got lots/);
  });
});
