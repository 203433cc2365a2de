/**
 * The client side of MCP: what servers ask for (elicitation, sampling, roots) is answered by the handlers
 * of the call that caused it, under load, over a 2026-07-28 server (input_required rounds), a 2025-era
 * Streamable HTTP server (requests on the call's own response stream) and a stdio server (no link: one
 * call in flight at a time), and never guessed between two callers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Switchboard, SwitchboardError } from '../../src/index.js';
import { type AskingHttp, askingServer, roundsState, startAskingHttp } from '../fixtures/asking-server.js';
import { type StatefulFixture, startStatefulFixture } from '../fixtures/http-stateful-server.js';
import { type Isolation, prng, ROOT, structured } from '../helpers.js';

const ASKING_STDIO = `${ROOT}test/fixtures/asking-stdio.mjs`;
const all = ['elicitation', 'sampling', 'roots'];

function stdio(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { command: process.execPath, args: [ASKING_STDIO, name], advertise: all, health: false, ...extra };
}

function code(err: unknown): string {
  return err instanceof SwitchboardError ? err.code : `not a SwitchboardError: ${String(err)}`;
}

interface Answer {
  nonce: string;
  server: string;
  reply?: string | null;
  action?: string;
  completion?: string | null;
  roots?: string[];
  answers?: string[];
}

describe('client side: servers over every transport', () => {
  let modern: AskingHttp;
  let stateful: StatefulFixture;
  before(async () => {
    modern = await startAskingHttp('modern');
    stateful = await startStatefulFixture('stateful', { server: askingServer });
  });
  after(async () => {
    await modern.close();
    await stateful.close();
  });

  test('routing under load: every request reaches the handler of the call that caused it, and no other', async (t) => {
    const defaultsCalled: string[] = [];
    await using sb = await Switchboard.start(
      {
        mcpServers: {
          modern: { url: modern.url, advertise: all, health: false },
          stateful: { url: stateful.url, protocol: 'legacy', advertise: all, health: false },
          single: stdio('single', { maxInFlight: 1, isolation: 'thread' }),
        },
      },
      {
        onElicitation: async (params) => {
          defaultsCalled.push(String(params.message));
          return { action: 'decline' };
        },
        onSampling: async (params) => {
          defaultsCalled.push('sampling');
          return { role: 'assistant', content: { type: 'text', text: String(params) }, model: 'default' };
        },
      },
    );
    assert.deepEqual(
      sb.servers().map((s) => [s.name, s.state, s.protocolVersion]),
      [
        ['modern', 'ready', '2026-07-28'],
        ['stateful', 'ready', '2025-11-25'],
        ['single', 'ready', '2025-11-25'],
      ],
    );
    const CALLERS = 36;
    const PER_CALLER = 6;
    const servers = ['modern', 'stateful', 'single'];
    const crossed: string[] = [];
    let calls = 0;
    const caller = async (id: number) => {
      const rand = prng(7000 + id);
      const seen: string[] = [];
      const handlers = {
        onElicitation: async (params: Record<string, unknown>) => {
          const message = String(params.message);
          seen.push(message);
          await new Promise((r) => setTimeout(r, Math.floor(rand() * 5)));
          return { action: 'accept', content: { reply: `caller${id}<-${message}` } };
        },
        onSampling: async (params: Record<string, unknown>) => {
          const text = String((params.messages as { content: { text: string } }[])[0]?.content.text);
          seen.push(text);
          return {
            role: 'assistant',
            content: { type: 'text', text: `caller${id}<-${text}` },
            model: `m${id}`,
          };
        },
      };
      for (let i = 0; i < PER_CALLER; i++) {
        const server = servers[Math.floor(rand() * servers.length)]!;
        const nonce = `c${id}-${i}`;
        const sampling = rand() < 0.5;
        const r = structured<Answer>(
          await sb.callTool(
            server,
            sampling ? 'sample' : 'ask',
            { nonce },
            { ...handlers, timeoutMs: 30_000 },
          ),
        );
        calls++;
        const expected = sampling ? `caller${id}<-prompt:${nonce}` : `caller${id}<-question:${nonce}`;
        const got = sampling ? r.completion : r.reply;
        if (r.nonce !== nonce || r.server !== server || got !== expected) {
          crossed.push(`${server}/${nonce}: ${JSON.stringify(r)}`);
        }
      }
      for (const message of seen) {
        if (!message.includes(`:c${id}-`)) crossed.push(`caller ${id}'s handler saw ${message}`);
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: CALLERS }, (_, id) => caller(id)));
    const ms = performance.now() - started;
    t.diagnostic(
      `client-side routing: ${calls} calls from ${CALLERS} callers over 3 servers (2026-07-28 HTTP, 2025 HTTP, stdio maxInFlight 1 in a thread) in ${Math.round(ms)} ms; crossed ${crossed.length}; default handlers called ${defaultsCalled.length}`,
    );
    assert.deepEqual(crossed, []);
    assert.equal(calls, CALLERS * PER_CALLER);
    assert.deepEqual(defaultsCalled, [], 'the default never answers a call that has its own handler');
  });

  test('2026-07-28: rounds within a bound and a deadline; the requestState comes back as it was sent', async () => {
    await using sb = await Switchboard.start({
      mcpServers: { modern: { url: modern.url, health: false, advertise: all } },
    });
    const onElicitation = async (params: Record<string, unknown>) => ({
      action: 'accept',
      content: { reply: String(params.message) },
    });
    const three = structured<Answer & { states: string[] }>(
      await sb.callTool('modern', 'rounds', { nonce: 'r', rounds: 3 }, { onElicitation }),
    );
    assert.deepEqual(three.answers, ['round 1:r', 'round 2:r', 'round 3:r']);
    // The server puts characters in its state that a re-encoding would change; it got each one back.
    const s1 = roundsState({ answers: [], seen: [] });
    const s2 = roundsState({ answers: ['round 1:r'], seen: [s1] });
    const s3 = roundsState({ answers: ['round 1:r', 'round 2:r'], seen: [s1, s2] });
    assert.deepEqual(three.states, [s1, s2, s3]);
    const bound = await sb
      .callTool('modern', 'rounds', { nonce: 'b', rounds: 5 }, { onElicitation, inputRounds: 2 })
      .catch((e) => e);
    assert.equal(code(bound), 'E_PROTOCOL');
    assert.match((bound as Error).message, /still asked for input after 2 rounds/);
    const slow = async (params: Record<string, unknown>) => {
      await new Promise((r) => setTimeout(r, 150));
      return onElicitation(params);
    };
    const t0 = performance.now();
    const late = await sb
      .callTool('modern', 'rounds', { nonce: 'd', rounds: 10 }, { onElicitation: slow, timeoutMs: 500 })
      .catch((e) => e);
    assert.equal(code(late), 'E_TIMEOUT', String(late));
    assert.ok(performance.now() - t0 < 2000, 'the deadline covers every round, not each one');
    const raw = (await sb.callTool('modern', 'ask', { nonce: 'raw' }, { inputRequired: 'return' })) as {
      resultType?: string;
      inputRequests?: Record<string, { method: string; params: { message: string } }>;
    };
    assert.equal(raw.resultType, 'input_required');
    assert.equal(raw.inputRequests?.q?.params.message, 'question:raw');
  });

  test('2026-07-28: an abort in the middle of a round ends the call, and the handler is told', async () => {
    await using sb = await Switchboard.start({ mcpServers: { modern: { url: modern.url, health: false } } });
    const controller = new AbortController();
    let handlerSignal: AbortSignal | undefined;
    const call = sb
      .callTool(
        'modern',
        'ask',
        { nonce: 'x' },
        {
          signal: controller.signal,
          onElicitation: (_params, ctx) =>
            new Promise((_resolve, reject) => {
              handlerSignal = ctx.signal;
              ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error));
              controller.abort(new Error('the user went away'));
            }),
        },
      )
      .catch((e) => e);
    const err = await call;
    assert.ok(['E_ABORTED', 'E_CLIENT_REQUEST'].includes(code(err)), String(err));
    assert.equal(handlerSignal?.aborted, true);
  });

  for (const isolation of ['inline', 'thread'] as Isolation[]) {
    test(`stdio (${isolation}): two callers with different handlers in flight: refused, not guessed`, async () => {
      await using sb = await Switchboard.start({ mcpServers: { st: stdio('st', { isolation }) } });
      const warnings: string[] = [];
      sb.on('warning', ({ error }) => warnings.push(error.message));
      const asked: string[] = [];
      const handler = (who: string) => async (params: Record<string, unknown>) => {
        asked.push(`${who}:${params.message}`);
        return { action: 'accept', content: { reply: who } };
      };
      const [a, b] = await Promise.all([
        sb.callTool('st', 'ask', { nonce: 'a' }, { onElicitation: handler('A') }),
        sb.callTool('st', 'ask', { nonce: 'b' }, { onElicitation: handler('B') }),
      ]);
      // Nothing crosses: a handler is asked only its own caller's question. Inline, both calls are in
      // flight before either is written, so both questions are refused. In a thread, the first call
      // crosses to the worker at once and the second at the end of the turn: when the server asks before
      // the second reached the worker, only one call is in flight there, and its own handler answers.
      for (const entry of asked) assert.match(entry, /^(A:question:a|B:question:b)$/, asked.join(', '));
      const refused = [a, b].filter((r) => /refused rather than guessed/.test(JSON.stringify(r.content)));
      if (isolation === 'inline') assert.equal(refused.length, 2, JSON.stringify([a, b]));
      for (const [r, who] of [
        [a, 'A'],
        [b, 'B'],
      ] as const) {
        if (refused.includes(r)) assert.equal(r.isError, true);
        else assert.equal(structured<Answer>(r).reply, who, JSON.stringify(r));
      }
      assert.equal(asked.length, 2 - refused.length);
      if (refused.length > 0)
        assert.ok(
          warnings.some((w) => /maxInFlight: 1/.test(w)),
          warnings.join('\n'),
        );
    });
  }

  for (const isolation of ['inline', 'thread'] as Isolation[]) {
    test(`stdio (${isolation}): when the call ends (timed out, or answered), a handler still answering its server's request is told`, async () => {
      await using sb = await Switchboard.start({
        mcpServers: { st: stdio('st', { isolation, maxInFlight: 1 }) },
      });
      const told: unknown[] = [];
      const hangs = (params: Record<string, unknown>, ctx: { signal: AbortSignal }) =>
        new Promise<never>((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => {
            told.push({ message: params.message, reason: (ctx.signal.reason as Error)?.message });
            reject(ctx.signal.reason as Error);
          });
        });
      const err = await sb
        .callTool('st', 'ask', { nonce: 't' }, { timeoutMs: 300, onElicitation: hangs })
        .catch((e: unknown) => e);
      assert.equal(code(err), 'E_TIMEOUT', String(err));
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(told.length, 1, 'the handler of the timed-out call was told');
      assert.match(String((told[0] as { reason: string }).reason), /has ended|timed out/);
      // The next call runs, and its own handler answers.
      const ok = await sb.callTool(
        'st',
        'ask',
        { nonce: 'u' },
        { onElicitation: async () => ({ action: 'accept', content: { reply: 'fine' } }) },
      );
      assert.equal(structured<Answer>(ok).nonce, 'u');
      assert.equal(structured<Answer>(ok).reply, 'fine');
    });
  }

  test('no handler anywhere: the server is told which capability is missing; a handler that fails is an error it gets', async () => {
    await using sb = await Switchboard.start({
      mcpServers: {
        st: stdio('st'),
        modern: { url: modern.url, health: false, advertise: all },
        quiet: { url: modern.url, health: false },
      },
    });
    const none = await sb.callTool('st', 'ask', { nonce: 'n' });
    assert.equal(none.isError, true);
    assert.match(JSON.stringify(none.content), /no elicitation handler/);
    const failing = await sb.callTool(
      'st',
      'sample',
      { nonce: 'f' },
      {
        onSampling: () => {
          throw new Error('the model is down');
        },
      },
    );
    assert.equal(failing.isError, true);
    assert.match(JSON.stringify(failing.content), /the model is down/);
    // 2026-07-28: no error can go in an answer's place, so the call itself fails, saying why.
    const modernNone = await sb.callTool('modern', 'ask', { nonce: 'm' }).catch((e) => e);
    assert.equal(code(modernNone), 'E_CLIENT_REQUEST');
    assert.match((modernNone as Error).message, /no elicitation handler/);
    // Nothing declared (no handler, no default, not advertised): the server does not ask, and says so.
    const undeclared = await sb.callTool('quiet', 'ask', { nonce: 'q' }).catch((e) => e);
    assert.equal((undeclared as { code?: unknown }).code, -32021, String(undeclared));
    assert.match((undeclared as Error).message, /elicitation/);
  });

  test('the defaults answer a call that has no handlers of its own; roots from a list, a function, and setRoots()', async () => {
    await using sb = await Switchboard.start(
      { mcpServers: { st: stdio('st'), modern: { url: modern.url, health: false } } },
      {
        onElicitation: async () => ({ action: 'accept', content: { reply: 'from the default' } }),
        roots: [{ uri: 'file:///default', name: 'default' }],
      },
    );
    for (const server of ['st', 'modern']) {
      const r = structured<Answer>(await sb.callTool(server, 'ask', { nonce: 'd' }));
      assert.equal(r.reply, 'from the default');
      const roots = structured<Answer>(await sb.callTool(server, 'roots', { nonce: 'r' }));
      assert.deepEqual(roots.roots, ['file:///default']);
      const own = structured<Answer>(
        await sb.callTool(server, 'roots', { nonce: 'o' }, { roots: () => [{ uri: 'file:///mine' }] }),
      );
      assert.deepEqual(own.roots, ['file:///mine']);
    }
    await sb.setRoots([{ uri: 'file:///changed' }]);
    assert.deepEqual(structured<Answer>(await sb.callTool('st', 'roots', { nonce: 'c' })).roots, [
      'file:///changed',
    ]);
  });
});

describe('client side: log messages and URL elicitations', () => {
  test("a server's log messages are 'log' events with its name; setLogLevel sends logging/setLevel", async () => {
    await using sb = await Switchboard.start({ mcpServers: { st: stdio('st') } });
    const logs: unknown[] = [];
    sb.on('log', (e) => logs.push(e));
    assert.deepEqual(await sb.setLogLevel('st', 'debug'), {});
    await sb.callTool('st', 'log', { nonce: 'l1' });
    assert.deepEqual(logs, [{ server: 'st', level: 'warning', logger: 'st', data: { nonce: 'l1' } }]);
    const bad = await sb.setLogLevel('nope', 'debug').catch((e) => e);
    assert.equal(code(bad), 'E_UNKNOWN_SERVER');
  });

  test('the completion of a URL-mode elicitation reaches the call that answered it', async () => {
    await using sb = await Switchboard.start({ mcpServers: { st: stdio('st', { maxInFlight: 1 }) } });
    const completedA: unknown[] = [];
    const completedB: unknown[] = [];
    const accept = async () => ({ action: 'accept' });
    const [a, b] = await Promise.all([
      sb.callTool(
        'st',
        'ask_url',
        { nonce: 'a' },
        { onElicitation: accept, onElicitationComplete: (p) => completedA.push(p) },
      ),
      sb.callTool(
        'st',
        'ask_url',
        { nonce: 'b' },
        { onElicitation: accept, onElicitationComplete: (p) => completedB.push(p) },
      ),
    ]);
    assert.deepEqual([structured<Answer>(a).action, structured<Answer>(b).action], ['accept', 'accept']);
    assert.deepEqual(completedA, [{ elicitationId: 'el-a' }]);
    assert.deepEqual(completedB, [{ elicitationId: 'el-b' }]);
  });

  test('the default onElicitationComplete hears the completion of what the default onElicitation answered', async () => {
    const completed: unknown[] = [];
    await using sb = await Switchboard.start(
      { mcpServers: { st: stdio('st') } },
      {
        onElicitation: async () => ({ action: 'accept' }),
        onElicitationComplete: (p) => completed.push(p),
      },
    );
    const result = await sb.callTool('st', 'ask_url', { nonce: 'dflt' });
    assert.deepEqual(structured<Answer>(result).action, 'accept');
    // The notice comes before the result on the same pipe, and messages are read in order.
    assert.deepEqual(completed, [{ elicitationId: 'el-dflt' }]);
  });
});

describe('client side: tasks', () => {
  const everything = () => ({
    command: process.execPath,
    args: [`${ROOT}node_modules/@modelcontextprotocol/server-everything/dist/index.js`, 'stdio'],
    advertise: ['elicitation'],
    health: false,
  });

  for (const isolation of ['inline', 'thread'] as Isolation[]) {
    test(`a tool that requires a task is called plainly; its mid-task elicitation is answered by the call (${isolation})`, async () => {
      await using sb = await Switchboard.start({ mcpServers: { ev: { ...everything(), isolation } } });
      const statuses: string[] = [];
      const asked: string[] = [];
      const r = await sb.callTool(
        'ev',
        'simulate-research-query',
        { topic: 'python', ambiguous: true },
        {
          timeoutMs: 30_000,
          onElicitation: async (params) => {
            asked.push(String(params.message));
            return { action: 'accept', content: { interpretation: 'snake' } };
          },
          onTaskStatus: (s) => statuses.push(s.status),
        },
      );
      assert.match(JSON.stringify(r.content), /Research Report: python \(snake\)/);
      assert.equal(asked.length, 1);
      assert.match(asked[0]!, /python/);
      assert.equal(statuses[0], 'working');
      assert.ok(statuses.includes('input_required'), statuses.join());
      assert.equal(statuses.at(-1), 'completed');
    });
  }

  test('an aborted task is cancelled on the server; task: true on a tool that is not one is refused', async () => {
    await using sb = await Switchboard.start({ mcpServers: { ev: everything() } });
    const controller = new AbortController();
    let taskId: string | undefined;
    const call = sb
      .callTool(
        'ev',
        'simulate-research-query',
        { topic: 'x' },
        {
          signal: controller.signal,
          onTaskStatus: (s) => {
            taskId = s.taskId;
          },
        },
      )
      .catch((e) => e);
    await new Promise((r) => setTimeout(r, 500));
    controller.abort();
    assert.equal(code(await call), 'E_ABORTED');
    assert.ok(taskId);
    let status = '';
    for (let i = 0; i < 50 && status !== 'cancelled'; i++) {
      status = ((await sb.request('ev', 'tasks/get', { taskId })) as { status: string }).status;
      if (status !== 'cancelled') await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(status, 'cancelled');
    const notTask = await sb.callTool('ev', 'echo', { message: 'x' }, { task: true }).catch((e) => e);
    assert.equal(code(notTask), 'E_INVALID_ARGUMENT');
    assert.match((notTask as Error).message, /does not run as a task/);
  });
});

describe('client side: @modelcontextprotocol/server-everything', () => {
  const everything = (extra: Record<string, unknown> = {}) => ({
    command: process.execPath,
    args: [`${ROOT}node_modules/@modelcontextprotocol/server-everything/dist/index.js`, 'stdio'],
    health: false,
    ...extra,
  });

  test('its sampling, elicitation and roots tools are listed once the capabilities are declared, and work', async () => {
    await using bare = await Switchboard.start({ mcpServers: { ev: everything() } });
    const bareTools = (await bare.listTools()).map((t) => t.name);
    await using sb = await Switchboard.start({ mcpServers: { ev: everything({ advertise: all }) } });
    const tools = (await sb.listTools()).map((t) => t.name);
    for (const name of ['trigger-sampling-request', 'trigger-elicitation-request', 'get-roots-list']) {
      assert.ok(tools.includes(name), `${name} is listed: ${tools.join(', ')}`);
      assert.ok(!bareTools.includes(name), `${name} is not listed without the capability`);
    }
    const sampled = await sb.callTool(
      'ev',
      'trigger-sampling-request',
      { prompt: 'nonce-s1', maxTokens: 5 },
      {
        onSampling: async (params) => ({
          role: 'assistant',
          content: { type: 'text', text: `echo of ${JSON.stringify(params.messages)}` },
          model: 'test',
        }),
      },
    );
    assert.match(JSON.stringify(sampled.content), /nonce-s1/);
    const roots = await sb.callTool(
      'ev',
      'get-roots-list',
      {},
      { roots: [{ uri: 'file:///tmp/nonce-r1', name: 'r' }] },
    );
    assert.match(JSON.stringify(roots.content), /nonce-r1/);
    const elicited = await sb.callTool(
      'ev',
      'trigger-elicitation-request',
      {},
      {
        onElicitation: async (params) => {
          const props = Object.keys((params.requestedSchema as { properties?: object })?.properties ?? {});
          return { action: 'decline', content: undefined, _meta: { seen: props.length } } as never;
        },
      },
    );
    assert.match(JSON.stringify(elicited.content), /decline/i);
  });
});
