/**
 * Routing under load: 64 concurrent callers, 8 upstream servers, 10,000 calls with random server-side
 * delays. Every answer carries the caller's nonce and the answering server's name; we count misrouted,
 * lost, duplicated and hung calls, and require zero of each, in both isolation modes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Switchboard } from '../../src/index.js';
import { fixtures, type Isolation, prng, structured } from '../helpers.js';

const SERVERS = Array.from({ length: 8 }, (_, i) => `s${i}`);
const CALLERS = 64;
const CALLS = 10_000;

for (const isolation of ['inline', 'thread'] as Isolation[]) {
  describe(`routing stress (${isolation})`, () => {
    test(`${CALLS} calls, ${CALLERS} callers, ${SERVERS.length} servers: zero misrouted, lost, duplicated or hung`, async () => {
      await using sb = await Switchboard.start(
        fixtures(SERVERS, { isolation, maxInFlight: 32, maxQueue: 1024, timeoutMs: 20_000 }),
      );
      const rand = prng(isolation === 'inline' ? 1 : 2);
      const plan = Array.from({ length: CALLS }, (_, i) => ({
        nonce: `${isolation}-${i}-${Math.floor(rand() * 1e9).toString(36)}`,
        server: SERVERS[Math.floor(rand() * SERVERS.length)]!,
        delayMs: Math.floor(rand() * 4),
      }));
      const answers = new Map<string, number>(); // nonce -> times answered
      let misrouted = 0;
      let failed = 0;
      let next = 0;
      const caller = async () => {
        for (let i = next++; i < CALLS; i = next++) {
          const call = plan[i]!;
          try {
            const r = structured<{ nonce: string; server: string }>(
              await sb.callTool(call.server, 'echo', { nonce: call.nonce, delayMs: call.delayMs }),
            );
            if (r.nonce !== call.nonce || r.server !== call.server) misrouted++;
            answers.set(r.nonce, (answers.get(r.nonce) ?? 0) + 1);
          } catch {
            failed++;
          }
        }
      };
      const started = performance.now();
      // Hung calls would keep this from settling: the race turns them into a count.
      const done = Promise.all(Array.from({ length: CALLERS }, caller)).then(() => 'done' as const);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const outcome = await Promise.race([
        done,
        new Promise<'hung'>((r) => {
          timer = setTimeout(() => r('hung'), 60_000);
        }),
      ]);
      clearTimeout(timer);
      const seconds = (performance.now() - started) / 1000;
      const duplicated = [...answers.values()].filter((n) => n > 1).length;
      const lost = plan.filter((c) => !answers.has(c.nonce)).length;
      const late = (await sb.status()).reduce(
        (n, s) => n + (s.stats?.late ?? 0) + (s.stats?.unknown ?? 0),
        0,
      );
      const figures = {
        isolation,
        calls: CALLS,
        callers: CALLERS,
        servers: SERVERS.length,
        misrouted,
        lost,
        duplicated,
        failed,
        strayAnswers: late,
        seconds: Number(seconds.toFixed(2)),
        callsPerSecond: Math.round(CALLS / seconds),
      };
      console.log(`stress ${JSON.stringify(figures)}`);
      assert.equal(outcome, 'done', 'some calls hung');
      assert.deepEqual(
        { misrouted, lost, duplicated, failed, strayAnswers: late },
        { misrouted: 0, lost: 0, duplicated: 0, failed: 0, strayAnswers: 0 },
      );
      assert.equal(answers.size, CALLS);
    });
  });
}
