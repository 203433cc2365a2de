/**
 * A server's `tools.allow` / `tools.deny` against real fixture servers: hidden tools are not listed,
 * counted or named, and a call to one is refused before it reaches the server (the fixture counts the
 * calls it receives); a reload changes the filter without a restart. Also the resource template listing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Switchboard, SwitchboardError } from '../../src/index.js';
import { fixture } from '../helpers.js';

const BOUND = { timeout: 30_000 };
const quiet = { health: false, restart: false };
const EXTRA = 'read_file,read_dir,list1,list22,delete_file,undelete';
const FILTER = { allow: ['read_*', 'list?', 'echo', 'undelete', 'raed_*'], deny: ['*delete*'] };

function code(err: unknown): string {
  return err instanceof SwitchboardError ? err.code : `not a SwitchboardError: ${String(err)}`;
}

/** How many tools/call requests the fixture server has received (it answers any resources/read with it). */
async function callsReceived(sb: Switchboard, server: string): Promise<number> {
  const read = (await sb.readResource(server, `fixture://${server}/calls`)) as {
    contents: { text: string }[];
  };
  const [name, count] = read.contents[0]!.text.split(':');
  assert.equal(name, server);
  return Number(count);
}

function config(tools: unknown = FILTER) {
  return {
    mcpServers: {
      files: fixture('files', { ...quiet, env: { ECHO_TOOLS: EXTRA }, ...(tools ? { tools } : {}) }),
      other: fixture('other', { ...quiet, env: { ECHO_TOOLS: EXTRA } }),
    },
  };
}

describe('tool filters', () => {
  test('a hidden tool is not listed, counted or named; the other server is untouched', BOUND, async () => {
    await using sb = await Switchboard.start(config());
    const tools = await sb.listTools();
    const of = (server: string) =>
      tools
        .filter((t) => t.server === server)
        .map((t) => t.name)
        .sort();
    assert.deepEqual(of('files'), ['echo', 'list1', 'read_dir', 'read_file']);
    assert.equal(of('other').length, 19, 'the unfiltered server lists its 13 tools and the 6 extra ones');
    assert.ok(of('other').includes('delete_file'));
    const counts = Object.fromEntries(sb.servers().map((s) => [s.name, s.tools]));
    assert.deepEqual(counts, { files: 4, other: 19 });
    assert.equal(sb.resolveTool('files__delete_file'), undefined);
    assert.deepEqual(sb.resolveTool('files__read_file'), { server: 'files', name: 'read_file' });
    assert.deepEqual(sb.resolveTool('other__delete_file'), { server: 'other', name: 'delete_file' });

    // A raw tools/list (what a gateway forwards) is filtered too, page by page, its other fields kept.
    const first = (await sb.request('files', 'tools/list')) as {
      tools: { name: string }[];
      nextCursor?: string;
    };
    const second = (await sb.request('files', 'tools/list', { cursor: first.nextCursor })) as {
      tools: { name: string }[];
    };
    assert.equal(first.nextCursor, 'page2');
    assert.deepEqual([...first.tools, ...second.tools].map((t) => t.name).sort(), of('files'));
    const raw = (await sb.request('other', 'tools/list')) as { tools: unknown[] };
    assert.equal(raw.tools.length, 10, 'the unfiltered server: its first page as sent');
  });

  test('a call to a hidden tool fails with E_TOOL_FILTERED and never reaches the server', BOUND, async () => {
    await using sb = await Switchboard.start(config());
    const before = await callsReceived(sb, 'files');

    const denied = await sb.callTool('files', 'delete_file', {}).catch((e: unknown) => e);
    assert.equal(code(denied), 'E_TOOL_FILTERED', String(denied));
    assert.match(
      (denied as Error).message,
      /^tool 'delete_file' of 'files' is filtered out: it matches the pattern "\*delete\*" in tools\.deny of server 'files'; remove or narrow that pattern/,
    );
    assert.deepEqual((denied as SwitchboardError).data, {
      server: 'files',
      tool: 'delete_file',
      deny: '*delete*',
    });
    // Allowed by name, but denied: deny wins.
    assert.equal(code(await sb.callTool('files', 'undelete').catch((e: unknown) => e)), 'E_TOOL_FILTERED');

    const unlisted = await sb.callTool('files', 'pings').catch((e: unknown) => e);
    assert.equal(code(unlisted), 'E_TOOL_FILTERED');
    assert.match(
      (unlisted as Error).message,
      /it matches no pattern in tools\.allow of server 'files' \("read_\*", "list\?", "echo", "undelete", "raed_\*"\); add "pings" \(or a pattern that matches it\) to that list/,
    );
    // The stack points at the caller, as for every error made where the call starts.
    assert.match((unlisted as Error).stack ?? '', /tool-filter\.test\.js/);

    const raw = await sb
      .request('files', 'tools/call', { name: 'delete_file', arguments: {} })
      .catch((e: unknown) => e);
    assert.equal(code(raw), 'E_TOOL_FILTERED');
    const nameless = await sb.request('files', 'tools/call', { arguments: {} }).catch((e: unknown) => e);
    assert.equal(code(nameless), 'E_INVALID_ARGUMENT');
    const qualified = await sb.callQualified('files__delete_file').catch((e: unknown) => e);
    assert.equal(code(qualified), 'E_TOOL_FILTERED');
    // A name that no server could have is still E_UNKNOWN_TOOL.
    assert.equal(code(await sb.callQualified('nobody__x').catch((e: unknown) => e)), 'E_UNKNOWN_TOOL');

    assert.equal(await callsReceived(sb, 'files'), before, 'no refused call reached the server');

    // What the filter keeps is called as usual, and does reach it.
    const ok = await sb.callTool('files', 'echo', { nonce: 'kept-1' });
    assert.deepEqual((ok.structuredContent as { nonce: string }).nonce, 'kept-1');
    assert.equal(await callsReceived(sb, 'files'), before + 1);
    // The same tool on the unfiltered server is not refused.
    await sb.callTool('other', 'delete_file', { nonce: 'other-1' });
    assert.equal(await callsReceived(sb, 'other'), 1);
  });

  test('a pattern that matches no tool is reported once, as a warning naming it', BOUND, async () => {
    const warnings: { server: string; error: Error }[] = [];
    await using sb = await Switchboard.start(config(), { on: { warning: (w) => warnings.push(w) } });
    await sb.listTools({ refresh: true });
    await sb.listTools({ refresh: true });
    const config_ = warnings.filter((w) => code(w.error) === 'E_CONFIG');
    assert.equal(config_.length, 1, config_.map((w) => w.error.message).join('\n'));
    assert.equal(config_[0]?.server, 'files');
    assert.match(
      config_[0]!.error.message,
      /^the pattern "raed_\*" in tools\.allow of server 'files' matches none of its 19 tools \(echo, progress, .*, … \(19 in all\)\); check it for a typo$/,
    );
    assert.deepEqual((config_[0]!.error as SwitchboardError).data.pattern, 'raed_*');
  });

  test('a hidden tool takes no qualified name, so it cannot collide', BOUND, async () => {
    // `a` + `_b` and `a_` + `b` both make `a___b`; `a` comes first in the config and would have it.
    const entries = (tools?: unknown) => ({
      mcpServers: {
        a: fixture('a', { ...quiet, env: { ECHO_TOOLS: '_b' }, ...(tools ? { tools } : {}) }),
        a_: fixture('a_', { ...quiet, env: { ECHO_TOOLS: 'b' } }),
      },
    });
    await using sb = await Switchboard.start(entries({ deny: ['_b'] }));
    await sb.listTools();
    assert.equal(sb.collisions.length, 0);
    assert.deepEqual(sb.resolveTool('a___b'), { server: 'a_', name: 'b' });
    // Without the filter (a reload, in place), `a`'s tool is back and has the name: the collision shows.
    const report = await sb.reload(entries());
    assert.deepEqual(report.updated, ['a']);
    assert.deepEqual(sb.resolveTool('a___b'), { server: 'a', name: '_b' });
    const after = sb.collisions;
    assert.equal(after.length, 1);
    assert.deepEqual(after[0]?.renamed.server, 'a_');
  });

  test(
    'a reload that changes the filter applies it in place: same process, new listing, new refusals',
    BOUND,
    async () => {
      const catalogs: { server: string; tools: number; changed: boolean }[] = [];
      await using sb = await Switchboard.start(config(), { on: { catalog: (e) => catalogs.push(e) } });
      const generation = sb.servers().find((s) => s.name === 'files')!.generation;
      assert.equal(code(await sb.callTool('files', 'pings').catch((e: unknown) => e)), 'E_TOOL_FILTERED');
      const before = await callsReceived(sb, 'files');
      catalogs.length = 0;

      const report = await sb.reload(config({ allow: ['pings', 'delete_*'] }));
      assert.deepEqual(report.updated, ['files']);
      assert.deepEqual(report.changed, []);
      assert.deepEqual(report.unchanged, ['other']);
      const files = sb.servers().find((s) => s.name === 'files')!;
      assert.equal(files.generation, generation, 'no new connection');
      assert.equal(files.restarts, 0);
      assert.equal(files.state, 'ready');
      assert.equal(files.tools, 2);
      assert.deepEqual(catalogs, [{ server: 'files', tools: 2, changed: true }]);
      assert.deepEqual(
        (await sb.listTools())
          .filter((t) => t.server === 'files')
          .map((t) => t.qualifiedName)
          .sort(),
        ['files__delete_file', 'files__pings'],
      );
      // Now allowed: called, and it reached the server.
      const pings = await sb.callTool('files', 'pings');
      assert.equal((pings.structuredContent as { server: string }).server, 'files');
      await sb.callQualified('files__delete_file', { nonce: 'd' });
      assert.equal(await callsReceived(sb, 'files'), before + 2);
      // Now hidden.
      assert.equal(code(await sb.callTool('files', 'echo').catch((e: unknown) => e)), 'E_TOOL_FILTERED');
      assert.equal(sb.resolveTool('files__read_file'), undefined);

      // No filter at all: every tool, still the same connection.
      const open = await sb.reload(config(null));
      assert.deepEqual(open.updated, ['files']);
      assert.equal(sb.servers().find((s) => s.name === 'files')!.tools, 19);
      assert.equal(sb.servers().find((s) => s.name === 'files')!.generation, generation);
      assert.equal(await callsReceived(sb, 'files'), before + 2);
    },
  );
});

describe('resource templates and listings', () => {
  test(
    'listResourceTemplates reads every page of every server, each entry with its server and the template untouched',
    BOUND,
    async () => {
      await using sb = await Switchboard.start({
        mcpServers: {
          alpha: fixture('alpha', quiet),
          // Answers "method not found", as servers with resources but no templates do: it has none.
          beta: fixture('beta', { ...quiet, env: { ECHO_NO_TEMPLATES: '1' } }),
          gamma: fixture('gamma', quiet),
        },
      });
      const templates = (server: string) => [
        {
          server,
          resourceTemplate: {
            uriTemplate: `fixture://${server}/notes/{id}`,
            name: 'note',
            mimeType: 'text/plain',
            _meta: { 'example.com/server': server },
          },
        },
        {
          server,
          resourceTemplate: {
            uriTemplate: `fixture://${server}/calls/{n}`,
            name: 'calls-at',
            futureField: { x: 1 },
          },
        },
      ];
      assert.deepEqual(await sb.listResourceTemplates(), [...templates('alpha'), ...templates('gamma')]);
      // The same deadline and abort rules as every listing.
      const aborted = await sb
        .listResourceTemplates({ signal: AbortSignal.abort('stop') })
        .catch((e: unknown) => e);
      assert.equal(code(aborted), 'E_ABORTED');
      const bad = await sb.listResourceTemplates({ timeoutMs: -1 }).catch((e: unknown) => e);
      assert.equal(code(bad), 'E_INVALID_ARGUMENT');
    },
  );

  test(
    'listResources and listPrompts entries carry their server and the item as the server sent it',
    BOUND,
    async () => {
      await using sb = await Switchboard.start({
        mcpServers: { alpha: fixture('alpha', quiet), beta: fixture('beta', quiet) },
      });
      assert.deepEqual(
        await sb.listResources(),
        ['alpha', 'beta'].map((server) => ({
          server,
          resource: {
            uri: `fixture://${server}/calls`,
            name: 'calls',
            mimeType: 'text/plain',
            annotations: { audience: ['user'], priority: 0.5 },
            _meta: { 'example.com/server': server },
          },
        })),
      );
      assert.deepEqual(
        await sb.listPrompts(),
        ['alpha', 'beta'].map((server) => ({
          server,
          name: 'greet',
          qualifiedName: `${server}__greet`,
          prompt: { name: 'greet', arguments: [{ name: 'who', required: true }] },
        })),
      );
    },
  );
});
